"""The hours ledger: attended hours per ISO week against the program's weekly minimum.

Decisions (a clinic may tune them later; tests pin them down):
- Weeks are ISO weeks (Monday to Sunday) of the session's local date at the site, so an evening
  session stays in its week whatever its UTC time, and a DST change moves nothing.
- Attended hours: present, late and left-early at sessions whose type counts toward hours;
  `minutes_attended`, or the session's real length (end minus start) when it was not recorded.
- Scheduled hours still ahead: sessions still "expected" (not yet marked) and scheduled, dated
  today or later. A day's sessions count as ahead until the day is over, because they are not
  marked yet; an unmarked session on an earlier day counts neither way.
- The minimum applies to full weeks only (all seven days inside the enrollment window): a first
  or last partial week is shown but never flagged. below_minimum: a finished full week under the
  minimum. at_risk: the current full week of an active enrollment where attended plus still
  scheduled is under the minimum, i.e. the minimum can no longer be reached.
- Attendance %: sessions attended / (attended + absent), over all session types. Excused
  absences and clinic cancellations are left out: policy allows them, and the program limits
  unexcused absences separately.
- Projected completion: the planned end, pushed back one week per finished week below minimum
  (the weeks must be made up); for an ended enrollment, its discharge date.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import DurationField, ExpressionWrapper, F, Q, Sum

from participants.models import Enrollment, EnrollmentStatus
from programs.selectors import site_today

from ..models import Attendance, AttendanceStatus, SessionStatus

_HOUR = Decimal(60)


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / _HOUR).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _minimum_minutes(hours: Decimal | None) -> int:
    return int((Decimal(hours or 0) * _HOUR).to_integral_value(rounding=ROUND_HALF_UP))


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


class _WeekHours:
    """Minutes a week's rows carry, shown as hours: the ledger and the at-risk list read alike."""

    attended_minutes: int
    scheduled_ahead_minutes: int

    @property
    def attended_hours(self) -> Decimal:
        return _hours(self.attended_minutes)

    @property
    def scheduled_hours_ahead(self) -> Decimal:
        return _hours(self.scheduled_ahead_minutes)


@dataclass
class LedgerWeek(_WeekHours):
    iso_year: int
    iso_week: int
    week_start: date
    week_end: date
    days_in_window: int
    minimum_hours: Decimal
    is_current: bool
    is_finished: bool
    attended_minutes: int = 0
    scheduled_ahead_minutes: int = 0
    below_minimum: bool = False
    at_risk: bool = False

    @property
    def is_full_week(self) -> bool:
        return self.days_in_window == 7


@dataclass
class HoursLedger:
    enrollment: Enrollment
    today: date
    minimum_hours: Decimal
    weeks: list[LedgerWeek] = field(default_factory=list)
    sessions_attended: int = 0
    sessions_absent: int = 0
    sessions_excused: int = 0
    projected_completion: date | None = None

    @property
    def attended_hours(self) -> Decimal:
        return _hours(sum(w.attended_minutes for w in self.weeks))

    @property
    def attendance_percent(self) -> Decimal | None:
        counted = self.sessions_attended + self.sessions_absent
        if not counted:
            return None
        return (Decimal(100 * self.sessions_attended) / counted).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def weeks_completed(self) -> int:
        return sum(1 for w in self.weeks if w.is_finished)

    @property
    def weeks_remaining(self) -> int:
        """Weeks not finished yet, the current one included."""
        return len(self.weeks) - self.weeks_completed

    @property
    def weeks_below_minimum(self) -> int:
        return sum(1 for w in self.weeks if w.below_minimum)

    @property
    def current_week(self) -> LedgerWeek | None:
        return next((w for w in self.weeks if w.is_current), None)


def _window(enrollment: Enrollment) -> tuple[date, date]:
    return enrollment.admission_date, enrollment.discharge_date or enrollment.planned_end_date


def hours_ledger(*, enrollment: Enrollment, today: date | None = None) -> HoursLedger:
    """One row per ISO week of the enrollment window, plus totals. Two queries at most.

    Counts the participant's attendance at sessions dated inside the window (track and personal
    sessions alike). `today` defaults to the date at the track's site.
    """
    if not _has_related(enrollment, "track") or not _has_related(enrollment.track, "program") \
            or not _has_related(enrollment.track, "site"):
        enrollment = Enrollment.objects.select_related("track__program", "track__site").get(
            pk=enrollment.pk)
    track = enrollment.track
    if today is None:
        today = site_today(site=track.site)
    minimum_hours = Decimal(track.program.min_weekly_hours or 0)
    minimum = _minimum_minutes(minimum_hours)
    start, end = _window(enrollment)

    ledger = HoursLedger(enrollment=enrollment, today=today, minimum_hours=minimum_hours)
    weeks: dict[date, LedgerWeek] = {}
    monday = _monday(start)
    while monday <= end:
        sunday = monday + timedelta(days=6)
        iso = monday.isocalendar()
        days = (min(sunday, end) - max(monday, start)).days + 1
        weeks[monday] = LedgerWeek(
            iso_year=iso.year, iso_week=iso.week, week_start=monday, week_end=sunday,
            days_in_window=days, minimum_hours=minimum_hours,
            is_current=monday <= today <= sunday, is_finished=sunday < today,
        )
        monday += timedelta(days=7)

    rows = Attendance.objects.filter(
        participant_id=enrollment.participant_id,
        session__local_date__gte=start, session__local_date__lte=end,
    ).values_list(
        "status", "minutes_attended", "session__starts_at", "session__ends_at",
        "session__local_date", "session__status", "session__session_type__counts_toward_hours",
    )
    for status, minutes, starts_at, ends_at, local_date, session_status, counts in rows:
        week = weeks[_monday(local_date)]
        length = int((ends_at - starts_at).total_seconds() // 60)
        if status in AttendanceStatus.attended():
            ledger.sessions_attended += 1
            if counts:
                week.attended_minutes += length if minutes is None else minutes
        elif status == AttendanceStatus.ABSENT:
            ledger.sessions_absent += 1
        elif status == AttendanceStatus.EXCUSED:
            ledger.sessions_excused += 1
        elif (status == AttendanceStatus.EXPECTED and counts
              and session_status == SessionStatus.SCHEDULED and local_date >= today):
            week.scheduled_ahead_minutes += length

    is_active = enrollment.status == EnrollmentStatus.ACTIVE
    for week in weeks.values():
        if not week.is_full_week or minimum == 0:
            continue
        week.below_minimum = week.is_finished and week.attended_minutes < minimum
        week.at_risk = (is_active and week.is_current
                        and week.attended_minutes + week.scheduled_ahead_minutes < minimum)
    ledger.weeks = list(weeks.values())

    if enrollment.status in EnrollmentStatus.ended() and enrollment.discharge_date:
        ledger.projected_completion = enrollment.discharge_date
    else:
        ledger.projected_completion = (
            enrollment.planned_end_date + timedelta(weeks=ledger.weeks_below_minimum))
    return ledger


def _has_related(instance, name: str) -> bool:
    return instance._meta.get_field(name).is_cached(instance)


@dataclass(frozen=True)
class AtRisk(_WeekHours):
    """An active participant who can no longer reach this week's minimum hours."""

    enrollment: Enrollment
    attended_minutes: int
    scheduled_ahead_minutes: int
    minimum_hours: Decimal

    @property
    def participant(self):
        return self.enrollment.participant

    @property
    def shortfall_hours(self) -> Decimal:
        reachable = self.attended_minutes + self.scheduled_ahead_minutes
        return _hours(max(_minimum_minutes(self.minimum_hours) - reachable, 0))


def participants_at_risk(*, site_ids: list[int], today: date) -> list[AtRisk]:
    """Active enrollments at these sites whose current ISO week is at risk (see the ledger).

    One query whatever the number of people: hours are summed in the database per enrollment.
    Only enrollments whose window covers the whole current week are judged, as in the ledger.
    """
    monday = _monday(today)
    sunday = monday + timedelta(days=6)
    prefix = "participant__attendances__"
    this_week = Q(**{
        f"{prefix}session__local_date__gte": monday,
        f"{prefix}session__local_date__lte": sunday,
        f"{prefix}session__session_type__counts_toward_hours": True,
    })
    attended = this_week & Q(**{f"{prefix}status__in": AttendanceStatus.attended()})
    length = ExpressionWrapper(
        F(f"{prefix}session__ends_at") - F(f"{prefix}session__starts_at"),
        output_field=DurationField(),
    )
    enrollments = (
        Enrollment.objects.filter(
            status=EnrollmentStatus.ACTIVE, track__site_id__in=list(site_ids),
            admission_date__lte=monday, planned_end_date__gte=sunday,
        )
        .select_related("participant", "track__program", "track__site")
        .annotate(
            recorded_minutes=Sum(f"{prefix}minutes_attended", filter=attended & Q(
                **{f"{prefix}minutes_attended__isnull": False})),
            unrecorded_length=Sum(length, filter=attended & Q(
                **{f"{prefix}minutes_attended__isnull": True})),
            ahead_length=Sum(length, filter=this_week & Q(**{
                f"{prefix}status": AttendanceStatus.EXPECTED,
                f"{prefix}session__status": SessionStatus.SCHEDULED,
                f"{prefix}session__local_date__gte": today,
            })),
        )
        .order_by("participant__last_name", "participant__first_name", "pk")
    )
    at_risk: list[AtRisk] = []
    for enrollment in enrollments:
        minimum_hours = Decimal(enrollment.track.program.min_weekly_hours or 0)
        minimum = _minimum_minutes(minimum_hours)
        attended_minutes = ((enrollment.recorded_minutes or 0)
                            + _minutes(enrollment.unrecorded_length))
        ahead = _minutes(enrollment.ahead_length)
        if minimum and attended_minutes + ahead < minimum:
            at_risk.append(AtRisk(enrollment=enrollment, attended_minutes=attended_minutes,
                                  scheduled_ahead_minutes=ahead, minimum_hours=minimum_hours))
    return at_risk


def _minutes(length: timedelta | None) -> int:
    return int(length.total_seconds() // 60) if length else 0
