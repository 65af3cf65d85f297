"""Follow-ups raised by attendance, and how staff close them.

- An unexcused absence raises one follow-up per participant per missed visit day (a group and a
  workshop missed the same evening are one task, one email), for the participant's primary
  clinician (else the track's lead clinician, else the session's facilitator, else a director).
- When the participant's last N visit days (N = the program's
  `consecutive_absences_to_escalate`) were all missed, one more follow-up escalates to a
  director of the site. Excused absences neither count toward the streak nor break it; any
  attended session breaks it.
- When an enrollment's unexcused absences reach the program's `max_unexcused_absences`, one
  follow-up (once per enrollment) goes to a director of the site.
- Correcting the day's last absence to anything else resolves its open follow-up
  automatically, with a system note saying so.
- Staff are told by a NEUTRAL email: no participant name, no treatment words, only a link.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from iop_clinic.links import public_url
from accounts.access import can_write_clinical_notes
from accounts.roles import Role

from participants.models import Enrollment, EnrollmentStatus
from programs.models import Site
from programs.selectors import site_today

from ..models import Attendance, AttendanceStatus, FollowUp, FollowUpKind, FollowUpStatus
from ..selectors.ledger import hours_ledger
from .audited import rows_bulk_update, rows_create, rows_update

logger = logging.getLogger(__name__)

AUTO_RESOLVED_NOTE = "Resolved automatically: the attendance was corrected to not absent."


def _site_directors(site_ids) -> dict[int, Any]:
    """The director of each of these sites, in one query: {site id: director or None}. A site's
    director is its active staff member in the director role with the lowest id."""
    directors: dict[int, Any] = dict.fromkeys(site_ids)
    for assignment in (Site.staff.through.objects
                       .filter(site_id__in=directors, user__is_active=True,
                               user__groups__name=Role.DIRECTOR.label)
                       .select_related("user").order_by("user_id")):
        if directors[assignment.site_id] is None:
            directors[assignment.site_id] = assignment.user
    return directors


def _site_director(site):
    return _site_directors([site.pk])[site.pk]


def _absence_assignee(attendance: Attendance, *, director=_site_director):
    participant = attendance.participant
    session = attendance.session
    if participant.primary_clinician_id:
        return participant.primary_clinician
    if session.track_id and session.track.lead_clinician_id:
        return session.track.lead_clinician
    if session.facilitator_id:
        return session.facilitator
    return director(session.site)


def _notify_on_commit(followup: FollowUp) -> None:
    """Tell the assignee a task waits, in words that reveal nothing about anyone's care."""
    if followup.assignee is None or not followup.assignee.email:
        return
    _email_on_commit(followup.assignee.email, what=f"follow-up {followup.pk}")


def _email_on_commit(address: str, *, what: str) -> None:
    link = public_url(reverse("followup_list"))

    def send() -> None:
        try:
            send_mail(
                subject=_("A task is waiting for you"),
                message=_("A new task was assigned to you in the clinic app.\n\n"
                          "Sign in to see it: %(link)s\n") % {"link": link},
                from_email=None, recipient_list=[address],
            )
        except Exception:  # a mail outage must not undo marked attendance
            logger.warning("%s: notification email failed", what, exc_info=True)

    transaction.on_commit(send)


def _raise(**fields) -> FollowUp | None:
    """Create an open follow-up unless one is already open for the same cause."""
    try:
        with transaction.atomic():
            followup = FollowUp.objects.create(status=FollowUpStatus.OPEN, **fields)
    except IntegrityError:
        return None  # the partial unique constraint: already open for this cause
    _notify_on_commit(followup)
    return followup


def _missed_day_streak(attendance: Attendance, limit: int) -> int:
    """How many of the participant's latest visit days in a row were missed without excuse.

    A visit day (all of one person's sessions on one local date) is missed when at least one of
    its marked sessions was an unexcused absence and none was attended; excused-only days are
    skipped (neither count nor break), an attended session breaks the streak.
    """
    rows = (Attendance.objects
            .filter(participant_id=attendance.participant_id,
                    status__in=[*AttendanceStatus.attended(), AttendanceStatus.ABSENT],
                    session__starts_at__lte=attendance.session.starts_at)
            .order_by("-session__starts_at", "-pk")
            .values_list("session__local_date", "status")[:limit * 8])
    return _streak_of(rows, limit)


def _streak_of(rows, limit: int) -> int:
    """The streak of missed visit days in (local date, status) rows, newest first."""
    days: dict = {}
    for local_date, status in rows:
        days.setdefault(local_date, set()).add(status)
    streak = 0
    for statuses in days.values():  # newest day first: dicts keep insertion order
        if statuses & set(AttendanceStatus.attended()):
            break
        streak += 1
        if streak >= limit:
            break
    return streak


def _day_followup_taken(attendance: Attendance, day) -> bool:
    """Whether this missed visit day already has its follow-up: open, or closed by a person.

    One auto-resolved because its absence was corrected does not count: a later absence the
    same day raises a new one.
    """
    return (FollowUp.objects
            .filter(participant_id=attendance.participant_id, missed_on=day,
                    kind=FollowUpKind.UNEXCUSED_ABSENCE)
            .exclude(status=FollowUpStatus.RESOLVED, outcome_note=AUTO_RESOLVED_NOTE)
            .exists())


@transaction.atomic
def followup_raise_for_absence(*, attendance: Attendance, by=None) -> list[FollowUp]:
    """Raise the follow-ups an unexcused absence calls for; returns the ones newly raised.

    One per participant per missed visit day: missing a group and a workshop the same evening
    raises one task and sends one email.
    """
    session = attendance.session
    # A mark on a session that has not started is no absence yet (marking opens at the start).
    if attendance.status != AttendanceStatus.ABSENT or session.starts_at > timezone.now():
        return []
    day = session.local_date
    raised = []
    if not _day_followup_taken(attendance, day):
        absence = _raise(
            participant=attendance.participant, enrollment=attendance.enrollment,
            kind=FollowUpKind.UNEXCUSED_ABSENCE, assignee=_absence_assignee(attendance),
            attendance=attendance, session=session, missed_on=day, created_by=by,
        )
        if absence:
            raised.append(absence)
    program = session.track.program if session.track_id else (
        attendance.enrollment.track.program if attendance.enrollment_id else None)
    threshold = program.consecutive_absences_to_escalate if program else 2
    limit_reached = _raise_absence_limit(attendance=attendance, program=program, by=by)
    if limit_reached:
        raised.append(limit_reached)
    if _missed_day_streak(attendance, threshold) >= threshold:
        escalation = _raise(
            participant=attendance.participant, enrollment=attendance.enrollment,
            kind=FollowUpKind.CONSECUTIVE_ABSENCES,
            assignee=_site_director(session.site) or _absence_assignee(attendance),
            attendance=attendance, session=session, missed_on=day, created_by=by,
        )
        if escalation:
            raised.append(escalation)
    return raised


def _raise_absence_limit(*, attendance: Attendance, program, by) -> FollowUp | None:
    """Tell a director once per enrollment when its unexcused absences reach the program's limit.

    Counts unexcused absences (sessions, as the program setting says) at started sessions of
    this enrollment; the follow-up is raised the first time the count reaches the limit.
    """
    if program is None or attendance.enrollment_id is None:
        return None
    count = Attendance.objects.filter(
        enrollment_id=attendance.enrollment_id, status=AttendanceStatus.ABSENT,
        session__starts_at__lte=timezone.now(),
    ).count()
    if count < max(program.max_unexcused_absences, 1):
        return None
    if FollowUp.objects.filter(enrollment_id=attendance.enrollment_id,
                               kind=FollowUpKind.ABSENCE_LIMIT).exists():
        return None
    session = attendance.session
    return _raise(
        participant=attendance.participant, enrollment=attendance.enrollment,
        kind=FollowUpKind.ABSENCE_LIMIT,
        assignee=_site_director(session.site) or _absence_assignee(attendance),
        attendance=attendance, session=session, missed_on=session.local_date, created_by=by,
    )


def followups_after_marking(*, attendance: Attendance, previous_status: str, by) -> None:
    """Keep follow-ups in step with a marking (called inside `attendance_mark`'s transaction).

    Correcting an absence: the day's open follow-up moves to another absence still standing
    that day, or, with none left, is resolved automatically.
    """
    if attendance.status == AttendanceStatus.ABSENT:
        followup_raise_for_absence(attendance=attendance, by=by)
        return
    if previous_status == AttendanceStatus.ABSENT:
        _absences_corrected([attendance], by=by)


def _absences_corrected(corrected: Sequence[Attendance], *, by) -> None:
    """The rule for corrected absences, for one mark (`followups_after_marking`) or many at
    once (`followups_after_marking_many`), the rows already saved: on each corrected visit
    day, the open follow-ups of the corrected attendances move to the day's first absence
    still standing, or, with none left, every open follow-up of the day is resolved
    automatically. One rule for both, in a fixed number of queries."""
    days = {(a.participant_id, a.session.local_date) for a in corrected}
    if not days:
        return
    people = {person for person, _day in days}
    dates = {day for _person, day in days}
    day_followups = [f for f in FollowUp.objects.filter(
        participant_id__in=people, missed_on__in=dates, kind=FollowUpKind.UNEXCUSED_ABSENCE,
        status=FollowUpStatus.OPEN).order_by("pk") if (f.participant_id, f.missed_on) in days]
    if not day_followups:
        return
    still_absent: dict[tuple, tuple[int, int]] = {}
    for pk, person, day, session_id in (Attendance.objects
                                        .filter(participant_id__in=people,
                                                session__local_date__in=dates,
                                                status=AttendanceStatus.ABSENT)
                                        .order_by("session__starts_at", "pk")
                                        .values_list("pk", "participant_id",
                                                     "session__local_date", "session_id")):
        still_absent.setdefault((person, day), (pk, session_id))
    corrected_pks = {a.pk for a in corrected}
    moved, resolved = [], []
    for followup in day_followups:
        standing = still_absent.get((followup.participant_id, followup.missed_on))
        if standing is None:
            resolved.append(followup.pk)
        elif followup.attendance_id in corrected_pks:
            followup.attendance_id, followup.session_id = standing
            moved.append(followup)
    rows_bulk_update(objects=moved, fields=["attendance", "session"])
    if resolved:
        rows_update(queryset=FollowUp.objects.filter(pk__in=resolved),
                    status=FollowUpStatus.RESOLVED, outcome_note=AUTO_RESOLVED_NOTE,
                    resolved_at=timezone.now(), resolved_by=by)


def followups_after_marking_many(
    *, marked: Sequence[tuple[Attendance, str]], by, notify: bool = True,
) -> list[FollowUp]:
    """`followups_after_marking` for many marks at once (inside `attendance_mark_many`).

    Each (attendance, status before) is judged by the same rules, taken in the order the
    sessions started: one follow-up per participant per missed visit day, the absence limit
    once per enrollment, the escalation when the latest visit days were all missed. They are
    read and written in bulk (a fixed number of queries). With `notify`, each assignee gets one
    neutral email for all their new tasks, not one per task. Corrected absences move or resolve
    their days' open follow-ups as `followups_after_marking` does, in bulk too (before the new
    absences are judged, as one mark after another would). Returns the follow-ups raised.
    """
    _absences_corrected([a for a, previous in marked if a.status != AttendanceStatus.ABSENT
                         and previous == AttendanceStatus.ABSENT], by=by)
    now = timezone.now()
    absences = sorted((a for a, _previous in marked if a.status == AttendanceStatus.ABSENT
                       and a.session.starts_at <= now),
                      key=lambda a: (a.session.starts_at, a.pk))
    if not absences:
        return []
    people = {a.participant_id for a in absences}
    enrollment_ids = {a.enrollment_id for a in absences if a.enrollment_id}
    prefetch_related_objects(absences, "participant__primary_clinician",
                             "session__track__lead_clinician", "session__facilitator",
                             "enrollment__track__program")
    day_taken = set(FollowUp.objects.filter(
        participant_id__in=people, kind=FollowUpKind.UNEXCUSED_ABSENCE,
        missed_on__in={a.session.local_date for a in absences},
    ).exclude(status=FollowUpStatus.RESOLVED, outcome_note=AUTO_RESOLVED_NOTE)
        .values_list("participant_id", "missed_on"))
    streak_open = set(FollowUp.objects.filter(
        participant_id__in=people, kind=FollowUpKind.CONSECUTIVE_ABSENCES,
        status=FollowUpStatus.OPEN).values_list("participant_id", flat=True))
    limit_raised = set(FollowUp.objects.filter(
        enrollment_id__in=enrollment_ids, kind=FollowUpKind.ABSENCE_LIMIT,
    ).values_list("enrollment_id", flat=True))
    absent = dict(Attendance.objects.filter(
        enrollment_id__in=enrollment_ids, status=AttendanceStatus.ABSENT,
        session__starts_at__lte=now,
    ).values("enrollment_id").annotate(n=Count("pk")).values_list("enrollment_id", "n")
        .order_by())
    to_come = Counter(a.enrollment_id for a in absences if a.enrollment_id)
    history: dict[int, list[tuple]] = defaultdict(list)  # newest first
    for participant_id, starts_at, local_date, status in (Attendance.objects.filter(
            participant_id__in=people,
            status__in=[*AttendanceStatus.attended(), AttendanceStatus.ABSENT])
            .order_by("-session__starts_at", "-pk")
            .values_list("participant_id", "session__starts_at", "session__local_date",
                         "status")):
        history[participant_id].append((starts_at, local_date, status))
    directors: dict[int, Any] = {}

    def director(site):
        if not directors:  # every site of the batch at the first need, in one query
            directors.update(_site_directors({a.session.site_id for a in absences}))
        return directors.get(site.pk)

    new: list[FollowUp] = []

    def add(attendance: Attendance, kind: str, assignee) -> None:
        new.append(FollowUp(
            status=FollowUpStatus.OPEN, participant=attendance.participant,
            enrollment=attendance.enrollment, kind=kind, assignee=assignee,
            attendance=attendance, session=attendance.session,
            missed_on=attendance.session.local_date, created_by=by))

    for attendance in absences:
        session = attendance.session
        if (attendance.participant_id, session.local_date) not in day_taken:
            day_taken.add((attendance.participant_id, session.local_date))
            add(attendance, FollowUpKind.UNEXCUSED_ABSENCE,
                _absence_assignee(attendance, director=director))
        program = session.track.program if session.track_id else (
            attendance.enrollment.track.program if attendance.enrollment_id else None)
        if program is not None and attendance.enrollment_id:
            to_come[attendance.enrollment_id] -= 1
            so_far = absent.get(attendance.enrollment_id, 0) - to_come[attendance.enrollment_id]
            if (so_far >= max(program.max_unexcused_absences, 1)
                    and attendance.enrollment_id not in limit_raised):
                limit_raised.add(attendance.enrollment_id)
                add(attendance, FollowUpKind.ABSENCE_LIMIT,
                    director(session.site) or _absence_assignee(attendance, director=director))
        threshold = program.consecutive_absences_to_escalate if program else 2
        rows = [(day, status) for starts_at, day, status in history[attendance.participant_id]
                if starts_at <= session.starts_at][:threshold * 8]
        if (_streak_of(rows, threshold) >= threshold
                and attendance.participant_id not in streak_open):
            streak_open.add(attendance.participant_id)
            add(attendance, FollowUpKind.CONSECUTIVE_ABSENCES,
                director(session.site) or _absence_assignee(attendance, director=director))
    rows_create(model=FollowUp, objects=new)
    if notify:
        for address in sorted({f.assignee.email for f in new if f.assignee and f.assignee.email}):
            _email_on_commit(address, what="follow-ups raised together")
    return new


@transaction.atomic
def followup_resolve(*, followup: FollowUp, outcome_note: str, by) -> FollowUp:
    """Close a follow-up with what came of it. The outcome is a clinical note."""
    if not can_write_clinical_notes(by):
        raise ValidationError(_("Only clinicians and directors record follow-up outcomes."),
                              code="clinical_note_forbidden")
    note = (outcome_note or "").strip()
    if not note:
        raise ValidationError({"outcome_note": ValidationError(
            _("Say what came of the follow-up."), code="outcome_required")})
    locked = FollowUp.objects.select_for_update().get(pk=followup.pk)
    if locked.status != FollowUpStatus.OPEN:
        raise ValidationError(_("This follow-up is already resolved."), code="already_resolved")
    locked.status = FollowUpStatus.RESOLVED
    locked.outcome_note = note
    locked.resolved_at = timezone.now()
    locked.resolved_by = by
    locked.save(update_fields=["status", "outcome_note", "resolved_at", "resolved_by"])
    return locked


def _hours_assignee(enrollment):
    participant = enrollment.participant
    if participant.primary_clinician_id:
        return participant.primary_clinician
    if enrollment.track.lead_clinician_id:
        return enrollment.track.lead_clinician
    return _site_director(enrollment.track.site)


def followup_raise_below_minimum(*, today=None) -> int:
    """Raise one follow-up per active enrollment whose last finished week counts against them.

    The ledger decides (`LedgerWeek.counts_against`): a week the clinic cut short (closure,
    cancellation, a timetable below the minimum), or short only by excused or unmarked sessions,
    raises nothing.

    "Last finished week" is the ISO week before the current one at the track's site; only full
    weeks count, as in the hours ledger. A week is raised once ever: a follow-up already resolved
    for it is not raised again, so running this daily (beat) or twice is harmless. Each follow-up
    is assigned like an absence: primary clinician, else the track's lead, else a site director.
    Returns how many were raised.
    """
    raised = 0
    enrollments = (Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE)
                   .select_related("participant__primary_clinician", "track__program",
                                   "track__site", "track__lead_clinician")
                   .order_by("pk"))
    due = []
    for enrollment in enrollments:
        local_today = today or site_today(site=enrollment.track.site)
        last_monday = local_today - timedelta(days=local_today.weekday() + 7)
        if (enrollment.admission_date <= last_monday
                and last_monday + timedelta(days=6) <= enrollment.planned_end_date):
            due.append((enrollment, local_today, last_monday))
    # One query for the weeks already raised, rather than one per enrollment.
    already = set(FollowUp.objects.filter(
        kind=FollowUpKind.BELOW_MINIMUM_HOURS, week_start__in={week for *_, week in due},
    ).values_list("enrollment_id", "week_start"))
    for enrollment, local_today, last_monday in due:
        if (enrollment.pk, last_monday) in already:
            continue
        ledger = hours_ledger(enrollment=enrollment, today=local_today)
        week = next((w for w in ledger.weeks if w.week_start == last_monday), None)
        # Only a week short by the participant's own missed time raises one (see the ledger).
        if week is None or not week.counts_against:
            continue
        with transaction.atomic():
            if _raise(participant=enrollment.participant, enrollment=enrollment,
                      kind=FollowUpKind.BELOW_MINIMUM_HOURS, week_start=last_monday,
                      assignee=_hours_assignee(enrollment)):
                raised += 1
    return raised
