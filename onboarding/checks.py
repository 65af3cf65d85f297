"""The dry run's first pass: every cell read and judged before any service runs.

Each row becomes typed values and a list of errors by column: unknown site or track, record
number taken (twice in the file, or already in the database), bad dates and times, a phone
number that does not parse in the clinic's region, a seat over a track's capacity, a session
that does not exist. What the database knows is fetched up front in a fixed number of queries,
so checking 2,000 rows costs what checking 20 does. The rules that need the services (cohorts,
minutes, the one-active-enrollment rule) are checked by rehearsing them (`services.py`).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from iop_clinic.formatting import clock, long_day

from participants.models import (
    DischargeReason, Enrollment, EnrollmentStatus, Participant, ReminderChannels,
)
from participants.selectors import track_seats
from programs.models import Site, Track
from programs.phones import MobilePhoneField
from sessions.models import AttendanceStatus, SessionStatus, TherapySession

from .columns import ATTENDANCE, PARTICIPANTS
from .reading import Row, Sheet

YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}
STATUS_WORDS = {"active": EnrollmentStatus.ACTIVE, "on_hold": EnrollmentStatus.ON_HOLD,
                "referred": EnrollmentStatus.REFERRED, "completed": EnrollmentStatus.COMPLETED,
                "discharged": EnrollmentStatus.DISCHARGED}
STATUS_LABELS = {EnrollmentStatus.ACTIVE: "active", EnrollmentStatus.ON_HOLD: "on hold",
                 EnrollmentStatus.REFERRED: "referred", EnrollmentStatus.COMPLETED: "completed",
                 EnrollmentStatus.DISCHARGED: "discharged"}
ATTENDANCE_WORDS = {s: s for s in AttendanceStatus.marked()}
FIELD_COLUMNS = {"phone": "mobile_phone", "email": "email", "minutes": "minutes",
                 "status": "attendance_status", "record_number": "record_number",
                 "first_name": "first_name", "last_name": "last_name",
                 "date_of_birth": "date_of_birth"}


@dataclass
class Checked:
    """One row of the file, its typed values, what it would create and what is wrong with it."""

    sheet: str
    line: int
    record_number: str
    values: dict = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, message)
    waits_for: int | None = None  # the participant row whose errors keep this one from a check

    def error(self, column: str, message: str) -> None:
        self.errors.append((column, str(message)))

    def error_from(self, exc: ValidationError, *, default_column: str = "") -> None:
        """Record a service's ValidationError on the column it is about."""
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                for error in errors:
                    self.error(FIELD_COLUMNS.get(name, default_column),
                               " ".join(error.messages))
            return
        for error in exc.error_list:
            self.error(CODE_COLUMNS.get(error.code, default_column), " ".join(error.messages))


# Service refusals by code, placed on the column a person would fix.
CODE_COLUMNS = {
    "record_number_taken": "record_number", "consent_needs_email": "email_consent",
    "consent_needs_phone": "sms_consent", "invalid_admission_date": "admission_date",
    "admission_before_track_start": "admission_date", "admission_after_track_end": "admission_date",
    "cohort_started": "admission_date", "track_inactive": "track", "already_active": "track",
    "already_in_track": "track", "track_full": "track", "session_not_started": "session_date",
    "session_cancelled": "session_date", "attendance_cancelled": "attendance_status",
    "not_expected": "session_date", "invalid_discharge_date": "discharge_date",
    "discharge_before_admission": "discharge_date", "discharge_in_future": "discharge_date",
    "invalid_reason": "discharge_reason", "completion_attendance_too_low": "enrollment_status",
}


def _text(value, limit: int | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a record number typed as 1001 in a spreadsheet
    text = str(value).strip()
    return text[:limit] if limit else text


def _word(value) -> str:
    return "_".join(_text(value).lower().replace("-", " ").split())


# A language as a spreadsheet may spell it: the code, or its name in English or Spanish.
LANGUAGE_NAMES = {"": "en", "en": "en", "english": "en", "ingles": "en", "inglés": "en",
                  "es": "es", "spanish": "es", "espanol": "es", "español": "es"}


def _language(row: Checked, column: str, value) -> str:
    """A language code from a cell; a row error (and "en") for anything we do not offer."""
    language = LANGUAGE_NAMES.get(_word(value))
    if language is None or language not in dict(settings.LANGUAGES):
        row.error(column, _("%(value)s is not a language the portal offers: write en (English) "
                            "or es (Spanish), or leave it blank for English.")
                  % {"value": _text(value)})
        return "en"
    return language


def _parse_date(value) -> dt.date | None:
    """A date cell as a date (an Excel date, or text in the clinic's input formats); None when
    blank; ValidationError when it is no date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    return forms.DateField().clean(text) if text else None


def _date(row: Checked, column: str, value, *, required: bool = False) -> dt.date | None:
    try:
        day = _parse_date(value)
    except ValidationError:
        row.error(column, _("%(value)s is not a date; write it as YYYY-MM-DD or MM/DD/YYYY.")
                  % {"value": _text(value)})
        return None
    if day is None and required:
        row.error(column, _("Enter a date."))
    return day


def _time(row: Checked, column: str, value) -> dt.time | None:
    if isinstance(value, dt.datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    text = _text(value)
    if not text:
        return None
    try:
        return forms.TimeField().clean(text).replace(second=0, microsecond=0)
    except ValidationError:
        row.error(column, _("%(value)s is not a time; write it as 18:00 or 6:00 PM.")
                  % {"value": text})
        return None


def _yes_no(row: Checked, column: str, value) -> bool:
    word = _word(value)
    if word in YES:
        return True
    if word not in NO:
        row.error(column, _("Write yes or no."))
    return False


@dataclass
class Context:
    """What the database knows that the checks need, fetched once for the whole file."""

    user: object
    sites: dict[str, Site]  # lower-cased name -> site, the user's sites only
    tracks: dict[str, list[Track]]  # lower-cased name -> tracks of that name at the user's sites
    free_seats: dict[int, int]
    free_at_start: dict[int, int]  # before any row of the file takes a seat
    taken_record_numbers: set[str]  # lower-cased, anywhere in the clinic
    known_participants: dict[str, Participant]  # lower-cased record number, user's sites
    sessions: dict[tuple[int, dt.date], list[TherapySession]]

    @classmethod
    def load(cls, *, user, sheets: list[Sheet]) -> Context:
        sites = {s.name.lower(): s for s in Site.objects.filter(staff=user)}
        site_ids = [s.pk for s in sites.values()]
        tracks: dict[str, list[Track]] = defaultdict(list)
        track_list = list(Track.objects.filter(site_id__in=site_ids)
                          .select_related("site", "program"))
        for track in track_list:
            tracks[track.name.lower()].append(track)
        seats = track_seats(tracks=track_list)
        waiting = dict(Enrollment.objects.filter(
            track_id__in=[t.pk for t in track_list], status=EnrollmentStatus.WAITLISTED,
            seat_offered_at__isnull=True,
        ).values("track_id").annotate(n=Count("pk")).values_list("track_id", "n").order_by())
        # Free seats go to people already waiting first (enrollment_enroll offers them), so a
        # newcomer gets only what is left after them.
        free = {t.pk: seats[t.pk].capacity - seats[t.pk].taken - waiting.get(t.pk, 0)
                for t in track_list}
        numbers = {_text(r.values.get("record_number")).lower()
                   for sheet in sheets for r in sheet.rows} - {""}
        taken = set(Participant.objects.annotate(number=Lower("record_number"))
                    .filter(number__in=numbers).values_list("number", flat=True))
        known = {p.record_number.lower(): p for p in Participant.objects
                 .annotate(number=Lower("record_number"))
                 .filter(number__in=numbers, home_site_id__in=site_ids)
                 .select_related("home_site")
                 .prefetch_related("enrollments__track")}
        sessions = cls._sessions(sheets, track_list)
        return cls(user=user, sites=sites, tracks=tracks, free_seats=free,
                   free_at_start=dict(free),
                   taken_record_numbers=taken, known_participants=known, sessions=sessions)

    @staticmethod
    def _sessions(sheets, track_list) -> dict[tuple[int, dt.date], list[TherapySession]]:
        dates = set()
        for sheet in sheets:
            if sheet.kind != ATTENDANCE:
                continue
            for row in sheet.rows:
                try:
                    day = _parse_date(row.values.get("session_date"))
                except ValidationError:
                    continue  # reported with the row
                if day:
                    dates.add(day)
        found: dict[tuple[int, dt.date], list[TherapySession]] = defaultdict(list)
        if not dates:
            return found
        for session in (TherapySession.objects
                        .filter(track_id__in=[t.pk for t in track_list],
                                local_date__in=sorted(dates))
                        .select_related("site").order_by("starts_at")):
            found[(session.track_id, session.local_date)].append(session)
        return found

    def track_named(self, row: Checked, name: str, site: Site | None) -> Track | None:
        candidates = [t for t in self.tracks.get(name.lower(), [])
                      if site is None or t.site_id == site.pk]
        if not candidates:
            row.error("track", _("No track called %(name)s at your sites.") % {"name": name})
            return None
        if len(candidates) > 1:
            row.error("site", _("Two sites have a track called %(name)s; say which site.")
                      % {"name": name})
            return None
        return candidates[0]


def check_participant(row: Row, ctx: Context, seen: dict[str, int]) -> Checked:
    values = row.values
    number = _text(values.get("record_number"))
    checked = Checked(PARTICIPANTS, row.line, number)
    v = checked.values
    if not number:
        checked.error("record_number", _("Enter a record number."))
    elif len(number) > 32:
        checked.error("record_number", _("A record number has at most 32 characters."))
    elif number.lower() in seen:
        checked.error("record_number", _("Record number %(number)s is also on row %(line)s.")
                      % {"number": number, "line": seen[number.lower()]})
    elif number.lower() in ctx.taken_record_numbers:
        checked.error("record_number",
                      _("Record number %(number)s already belongs to a participant.")
                      % {"number": number})
    if number and number.lower() not in seen:
        seen[number.lower()] = row.line
    v["record_number"] = number
    for name in ("first_name", "last_name"):
        v[name] = _text(values.get(name))
        if not v[name]:
            checked.error(name, _("Enter a name."))
        elif len(v[name]) > 80:
            checked.error(name, _("At most 80 characters."))
    v["date_of_birth"] = _date(checked, "date_of_birth", values.get("date_of_birth"))
    if v["date_of_birth"] and v["date_of_birth"] > timezone.localdate():
        checked.error("date_of_birth", _("The date of birth is in the future."))
    v["email"] = _text(values.get("email"))
    if v["email"]:
        try:
            v["email"] = forms.EmailField().clean(v["email"])
        except ValidationError:
            checked.error("email", _("%(value)s is not an email address.") % {"value": v["email"]})
    v["phone"] = ""
    raw_phone = _text(values.get("mobile_phone"))
    if raw_phone:
        try:
            v["phone"] = MobilePhoneField(required=False).clean(raw_phone)
        except ValidationError as exc:
            checked.error("mobile_phone", f"{raw_phone}: {' '.join(exc.messages)}")
    v["consents"] = []
    if _yes_no(checked, "sms_consent", values.get("sms_consent")):
        v["consents"].append("sms")
        if not raw_phone:
            checked.error("sms_consent", _("Consent to texts needs a mobile phone."))
    if _yes_no(checked, "email_consent", values.get("email_consent")):
        v["consents"].append("email")
        if not v["email"]:
            checked.error("email_consent", _("Consent to email needs an email address."))
    channels = _word(values.get("reminders_by"))
    if not channels:
        channels = {("email", "sms"): "both", ("sms",): "sms"}.get(
            tuple(sorted(v["consents"])), ReminderChannels.EMAIL)
    if channels not in ReminderChannels.values:
        checked.error("reminders_by", _("Write email, sms, both or none."))
    v["reminder_channels"] = channels
    v["language"] = _language(checked, "language", values.get("language"))
    checked.actions.append(_("Create participant %(name)s") % {
        "name": f"{v['first_name']} {v['last_name']}"})
    if v["language"] != "en":
        checked.actions.append(_("Portal and reminders in %(language)s") % {
            "language": dict(settings.LANGUAGES)[v["language"]]})
    if v["consents"]:
        checked.actions.append(_("Record consent to %(channels)s (intake form)") % {
            "channels": _(" and ").join("SMS" if c == "sms" else "email"
                                        for c in v["consents"])})
    _check_contact(checked, values)
    _check_enrollment(checked, values, ctx)
    return checked


CONTACT_RELATIONSHIPS = {"": "parent", "parent": "parent", "guardian": "parent",
                         "parent_or_guardian": "parent", "partner": "partner",
                         "spouse": "partner", "spouse_or_partner": "partner", "other": "other"}


def _check_contact(checked: Checked, values: dict) -> None:
    """One family contact per row, optional; checked as the chart's contact form checks it."""
    v = checked.values
    v["contact"] = None
    name = _text(values.get("contact_name"))
    others = [column for column in ("contact_relationship", "contact_phone", "contact_email")
              if _text(values.get(column))]
    if not name:
        if others:
            checked.error("contact_name", _("Enter the family contact's name."))
        return
    if len(name) > 120:
        checked.error("contact_name", _("At most 120 characters."))
    relationship = CONTACT_RELATIONSHIPS.get(_word(values.get("contact_relationship")))
    if relationship is None:
        checked.error("contact_relationship", _("Write parent, partner or other."))
    phone = _text(values.get("contact_phone"))
    if phone:
        try:
            phone = MobilePhoneField(required=False).clean(phone)
        except ValidationError as exc:
            checked.error("contact_phone", f"{phone}: {' '.join(exc.messages)}")
    email = _text(values.get("contact_email"))
    if email:
        try:
            email = forms.EmailField().clean(email)
        except ValidationError:
            checked.error("contact_email", _("%(value)s is not an email address.")
                          % {"value": email})
    language = _language(checked, "contact_language", values.get("contact_language"))
    v["contact"] = {
        "name": name, "relationship": relationship, "phone": phone, "email": email,
        "language": language,
        "is_guardian_of_minor": _yes_no(checked, "contact_guardian",
                                        values.get("contact_guardian")),
        "reminder_channels": ("both" if phone and email else "sms" if phone else
                              "email" if email else "none"),
    }
    checked.actions.append(_("Add family contact %(name)s (nothing is sent to them until the "
                             "participant's consent is recorded on the chart)") % {"name": name})


def _check_enrollment(checked: Checked, values: dict, ctx: Context) -> None:
    v = checked.values
    site_name = _text(values.get("site"))
    site = None
    if site_name:
        site = ctx.sites.get(site_name.lower())
        if site is None:
            checked.error("site", _("No site called %(name)s among your sites.")
                          % {"name": site_name})
    track_name = _text(values.get("track"))
    track = None
    if track_name and not (site_name and site is None):  # an unknown site is reported above
        track = ctx.track_named(checked, track_name, site)
    v["track"] = track
    v["home_site"] = site or (track.site if track else None)
    if v["home_site"] is None and not site_name and not track_name:
        if len(ctx.sites) == 1:
            v["home_site"] = next(iter(ctx.sites.values()))
        else:
            checked.error("site", _("Say which site (you work at several)."))
    status_word = _word(values.get("enrollment_status"))
    v["admission_date"] = _date(checked, "admission_date", values.get("admission_date"),
                                required=bool(track_name))
    if not track_name:
        if status_word or v["admission_date"]:
            checked.error("track", _("An enrollment needs a track."))
        v["status"] = None
        return
    status = STATUS_WORDS.get(status_word or "active")
    if status is None:
        checked.error("enrollment_status",
                      _("Write active, on hold, referred, completed or discharged."))
    v["status"] = status
    _check_discharge(checked, values, status)
    if track is None:
        return
    if not track.is_active:
        checked.error("track", _("The track %(name)s is closed to new enrollments.")
                      % {"name": track.name})
    day = v["admission_date"]
    if day and day < track.start_date:
        checked.error("admission_date", _("The track starts on %(start)s; admission cannot be "
                                          "earlier.") % {"start": track.start_date})
    if day and track.end_date and day > track.end_date:
        checked.error("admission_date", _("The track ends on %(end)s; admission cannot be "
                                          "later.") % {"end": track.end_date})
    ended = v.get("discharge_date")
    if day and ended and ended < day:
        checked.error("discharge_date", _("The discharge date is before admission."))
    if ended and ended > timezone.localdate(timezone=track.site.zone):
        checked.error("discharge_date", _("The discharge date is in the future."))
    # Only rows otherwise importable take a seat, so the row told "full" is one that would be.
    if status in EnrollmentStatus.seat_holding() and not checked.errors:
        ctx.free_seats[track.pk] -= 1
        if ctx.free_seats[track.pk] < 0:
            checked.error("track", _("%(name)s is full: its %(capacity)s seats are taken by "
                                     "then (people already in care or waiting count first).")
                          % {"name": track.name, "capacity": track.capacity})
    if status in EnrollmentStatus.ended() and not checked.errors \
            and ctx.free_at_start[track.pk] < 1:
        # An ended enrollment is enrolled, its attendance marked, then discharged: for that
        # moment it needs a seat (these rows are imported before the file's active ones).
        checked.error("track", _("%(name)s is full; a past enrollment is imported through a "
                                 "free seat, then discharged.") % {"name": track.name})
    checked.actions.append(_("Enroll in %(track)s from %(day)s (%(status)s)")
                           % {"track": track.name, "day": long_day(day),
                              "status": STATUS_LABELS.get(status, "")})
    if ended:
        checked.actions.append(_("Discharge on %(day)s (%(reason)s)") % {
            "day": long_day(ended),
            "reason": DischargeReason(v["discharge_reason"]).label.lower()})


def _check_discharge(checked: Checked, values: dict, status) -> None:
    v = checked.values
    ends = status in EnrollmentStatus.ended()
    v["discharge_date"] = _date(checked, "discharge_date", values.get("discharge_date"),
                                required=ends)
    word = _word(values.get("discharge_reason"))
    if not ends:
        if v["discharge_date"] or word:
            checked.error("discharge_date", _("Only a completed or discharged enrollment has a "
                                              "discharge."))
        v["discharge_date"] = None
        return
    default = "completed" if status == EnrollmentStatus.COMPLETED else "other"
    reason = word or default
    if reason not in DischargeReason.values:
        checked.error("discharge_reason", _("Write completed, step down, step up, against "
                                            "advice, non attendance, transferred, "
                                            "administrative or other."))
        reason = default
    elif (reason == DischargeReason.COMPLETED) != (status == EnrollmentStatus.COMPLETED):
        checked.error("discharge_reason", _("A completed enrollment has the reason completed, "
                                            "and only it."))
    v["discharge_reason"] = reason


def check_attendance(row: Row, ctx: Context, people: dict[str, Checked],
                     seen: dict[tuple, int]) -> Checked:
    values = row.values
    number = _text(values.get("record_number"))
    checked = Checked(ATTENDANCE, row.line, number)
    v = checked.values
    v["record_number"] = number
    in_file = people.get(number.lower())
    in_db = ctx.known_participants.get(number.lower())
    track = None
    if not number:
        checked.error("record_number", _("Enter a record number."))
    elif in_file is None and in_db is None:
        checked.error("record_number", _("No participant %(number)s in this file or at your "
                                         "sites.") % {"number": number})
    elif in_file is not None and in_file.values.get("status") == EnrollmentStatus.REFERRED:
        checked.error("record_number", _("A referred participant has no attendance yet."))
    track_name = _text(values.get("track"))
    if track_name:
        track = ctx.track_named(checked, track_name, None)
    elif in_file is not None:
        track = in_file.values.get("track")
        if track is None and not in_file.errors:
            checked.error("track", _("Row %(line)s enrolls this participant in no track; name "
                                     "the track.") % {"line": in_file.line})
    elif in_db is not None:
        current = [e.track for e in in_db.enrollments.all()
                   if e.status in EnrollmentStatus.seat_holding()]
        track = current[0] if len(current) == 1 else None
        if track is None:
            checked.error("track", _("Name the track."))
    day = _date(checked, "session_date", values.get("session_date"), required=True)
    at = _time(checked, "session_time", values.get("session_time"))
    session = None
    if track is not None and day is not None:
        session = _session_for(checked, ctx, track, day, at)
    v["session"] = session
    status = ATTENDANCE_WORDS.get(_word(values.get("attendance_status")))
    if status is None:
        checked.error("attendance_status",
                      _("Write present, late, left early, absent or excused."))
    v["status"] = status
    minutes = _text(values.get("minutes"))
    v["minutes"] = None
    if minutes:
        try:
            v["minutes"] = int(float(minutes))
            if v["minutes"] < 0:
                raise ValueError
        except ValueError:
            checked.error("minutes", _("Write the minutes as a whole number."))
    if session is not None and number:
        key = (number.lower(), session.pk)
        if key in seen:
            checked.error("session_date", _("Row %(line)s records the same visit.")
                          % {"line": seen[key]})
        seen.setdefault(key, row.line)
        local = timezone.localtime(session.starts_at, session.site.zone)
        checked.actions.append(_("Mark %(status)s at %(track)s, %(day)s at %(time)s")
                               % {"status": (status or "").replace("_", " "),
                                  "track": track.name, "day": long_day(session.local_date),
                                  "time": clock(local)})
    v["participant"] = in_db
    v["participant_row"] = in_file
    return checked


def _session_for(checked, ctx, track, day, at) -> TherapySession | None:
    candidates = [s for s in ctx.sessions.get((track.pk, day), [])
                  if s.status == SessionStatus.SCHEDULED]
    if at is not None:
        candidates = [s for s in candidates
                      if timezone.localtime(s.starts_at, s.site.zone).time().replace(
                          second=0, microsecond=0) == at]
    if not candidates:
        when = f"{day} {at:%H:%M}" if at else str(day)
        checked.error("session_date", _("%(track)s has no session on %(when)s.")
                      % {"track": track.name, "when": when})
        return None
    if len(candidates) > 1:
        checked.error("session_time", _("%(track)s meets more than once that day; give the "
                                        "start time.") % {"track": track.name})
        return None
    return candidates[0]


def check_sheets(*, sheets: list[Sheet], user) -> list[Checked]:
    """Every row of every sheet, checked: participants first, then attendance."""
    ctx = Context.load(user=user, sheets=sheets)
    by_kind = {sheet.kind: sheet for sheet in sheets}
    checked: list[Checked] = []
    people: dict[str, Checked] = {}
    seen_numbers: dict[str, int] = {}
    if PARTICIPANTS in by_kind:
        for row in by_kind[PARTICIPANTS].rows:
            result = check_participant(row, ctx, seen_numbers)
            checked.append(result)
            people.setdefault(result.record_number.lower(), result)
    if ATTENDANCE in by_kind:
        seen_visits: dict[tuple, int] = {}
        for row in by_kind[ATTENDANCE].rows:
            checked.append(check_attendance(row, ctx, people, seen_visits))
    return checked

