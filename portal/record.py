"""A participant's own record (their HIPAA right of access), as data and as a document.

`record_content` gathers it once, with dates and times as Python values in the participant's
zone; `participant_record` turns that into the JSON document, and the readable page
(templates/portal/record.html) shows the very same content, so the two never drift apart.

Languages: the page shows the labels (statuses, kinds, channels...) in the participant's
language; the JSON document is a data file whose keys and values stay English whatever the
language, so that a program reading format version 1 never meets a value it did not expect.

JSON rather than a zip of CSV files: one file opens on a phone without unpacking, and the
record's shape survives (a care plan belongs to an enrollment, excuse requests to a visit),
which flat CSV tables would lose. Times carry their UTC offset so nothing is ambiguous.
Four queries whatever the record's size.
"""
from datetime import date, datetime

from django.db.models import Prefetch
from django.utils import timezone, translation

from participants.models import ContactConsent, Enrollment, Participant
from sessions.models import Attendance, ExcusedAbsenceRequest

RECORD_FORMAT_VERSION = 1


def _when(value: datetime | None, zone) -> datetime | None:
    return value.astimezone(zone) if value else None


def _day(value: date | None) -> date | None:
    return value or None


def _json_ready(value):
    """Dates and times as ISO 8601 text (times with their UTC offset), all the way down."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value


def _visit(attendance: Attendance, zone, *, codes: bool) -> dict:
    session = attendance.session
    visit = {
        "date": _day(session.starts_at.astimezone(zone).date()),
        "starts": _when(session.starts_at, zone),
        "ends": _when(session.ends_at, zone),
        "kind": session.get_kind_display(),
        "session_type": session.session_type.name,
        "title": session.title,
        "place": session.site.public_alias,
        "address": session.site.address,
        "room": session.room.name if session.room else None,
        "session_status": session.get_status_display(),
        "attendance": attendance.get_status_display(),
        "minutes_attended": attendance.minutes_attended,
        "attendance_note": attendance.note,
        "marked_at": _when(attendance.marked_at, zone),
        "excuse_requests": [{
            "requested_at": _when(excuse.requested_at, zone),
            "reason": excuse.reason,
            "status": excuse.get_status_display(),
            "answered_at": _when(excuse.decided_at, zone),
            "answer_note": excuse.decision_note,
        } for excuse in attendance.excuses_oldest_first],
    }
    if codes:  # for the page's comparisons, which must not depend on the language of a label
        visit["session_status_code"] = session.status
    return visit


def _consent(consent: ContactConsent, zone) -> dict:
    return {
        "channel": consent.get_channel_display(),
        "given_at": _when(consent.given_at, zone),
        "given_by": consent.get_source_display(),
        "revoked_at": _when(consent.revoked_at, zone),
        "revoked_by": consent.get_revoked_source_display() if consent.revoked_source else None,
        "standing": consent.is_standing,
    }


def _care_plan(enrollment: Enrollment) -> dict | None:
    plan = getattr(enrollment, "care_plan", None)
    if plan is None:
        return None
    return {
        "step_down_level": plan.get_step_down_level_display() if plan.step_down_level else None,
        "step_down_provider": plan.step_down_provider,
        "support_groups": plan.support_groups,
        "notes": plan.notes,
    }


def _enrollment(enrollment: Enrollment) -> dict:
    track = enrollment.track
    return {
        "program": track.program.name,
        "track": track.name,
        "place": track.site.public_alias,
        "status": enrollment.get_status_display(),
        "admission_date": _day(enrollment.admission_date),
        "planned_end_date": _day(enrollment.planned_end_date),
        "discharge_date": _day(enrollment.discharge_date),
        "discharge_reason": (enrollment.get_discharge_reason_display()
                             if enrollment.discharge_reason else None),
        "discharge_note": enrollment.discharge_note,
        "continuing_care_plan": _care_plan(enrollment),
    }


def record_content(*, participant: Participant, now: datetime | None = None,
                   codes: bool = False) -> dict:
    """Everything the portal knows about `participant`, for them to keep; dates and times as
    values in their zone, labels in the active language. `codes` adds the stored codes the
    readable page compares on (`session_status_code`); the JSON document has none."""
    now = now or timezone.now()
    zone = participant.zone
    attendances = (Attendance.objects.filter(participant=participant)
                   .select_related("session__site", "session__room", "session__session_type")
                   .prefetch_related(Prefetch(
                       "excuse_requests",
                       queryset=ExcusedAbsenceRequest.objects.order_by("requested_at", "pk"),
                       to_attr="excuses_oldest_first"))
                   .order_by("session__starts_at", "session__pk"))
    consents = participant.consents.order_by("given_at", "pk")
    enrollments = (Enrollment.objects.filter(participant=participant)
                   .select_related("track__program", "track__site", "care_plan")
                   .order_by("admission_date", "pk"))
    return {
        "format_version": RECORD_FORMAT_VERSION,
        "generated_at": _when(now, zone),
        "time_zone": str(zone),
        "participant": {
            "record_number": participant.record_number,
            "first_name": participant.first_name,
            "last_name": participant.last_name,
            "date_of_birth": _day(participant.date_of_birth),
            "email": participant.email,
            "mobile_phone": participant.phone,
            "reminders_by": participant.get_reminder_channels_display(),
        },
        "schedule": [_visit(attendance, zone, codes=codes) for attendance in attendances],
        "consents": [_consent(consent, zone) for consent in consents],
        "enrollments": [_enrollment(enrollment) for enrollment in enrollments],
    }


def participant_record(*, participant: Participant, now: datetime | None = None) -> dict:
    """The record as the JSON document's content: English keys and values, whatever the
    participant's language (the readable page is the one in their language)."""
    with translation.override("en"):
        return _json_ready(record_content(participant=participant, now=now))


def record_filename(*, today: date) -> str:
    """Neutral: someone who sees the file in a downloads folder learns nothing from its name."""
    return f"my-record-{today.isoformat()}.json"
