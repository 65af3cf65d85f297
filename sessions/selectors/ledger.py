"""The hours ledger: the one definition of attended hours, attendance %, short weeks and projection.

The chart, Today's at-risk list, the portal and the below-minimum follow-ups all read it; nothing
else re-derives these figures. Decisions (tests pin them down):
- Weeks are ISO weeks (Monday to Sunday) of the session's local date at the site, so an evening
  session stays in its week whatever its UTC time, and a DST change moves nothing.
- Only sessions that have started count as held. A mark on a session that has not started yet
  (possible under an old rule) is read as still expected: it neither credits nor misses time.
- Cancelled sessions (and attendance the clinic cancelled) are left out of everything: they were
  not offered.
- Attended minutes: present, late and left-early at started sessions whose type counts toward
  hours; `minutes_attended`, or the session's real length when it was not recorded.
- Scheduled ahead: counting sessions still expected (or marked but not started) on today or
  later: a day's unmarked sessions count as ahead until the day is over.
- Offered minutes: the length of every counting, not-cancelled session this person had that week
  (attended, missed, excused, unmarked or ahead): what the clinic offered them.
- The minimum applies to full weeks only (all seven days inside the enrollment window).
  below_minimum: a finished full week under the minimum; it always says why (`short_reason`):
  "clinic" when the clinic offered less than the minimum (closure, cancellation, a timetable
  below the minimum), else "excused" when excused absences account for the gap, else
  "unmarked" when sessions left unmarked do, else "participant". Only "participant" weeks count
  against the person (`counts_against`): they push the projection back and raise a follow-up.
  at_risk: the current full week of an active enrollment where attended plus still scheduled is
  under the minimum although the clinic offers at least the minimum.
- Attendance %: minutes attended / minutes of sessions held for this person (present, late, left
  early or absent at a started, not-cancelled session), over all session types. Excused
  absences are shown apart, unmarked sessions are not counted either way.
- Projected completion: the planned end, pushed back one week per week counted against the
  person, never past the track's end date (a cohort's end): when the weeks owed don't fit before
  it, `cannot_complete_by_end` says so. For an ended enrollment, its discharge date.
"""
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from django.db import connection
from django.utils import timezone

from iop_clinic.prepared import fetchall
from iop_clinic.sql_params import execute, read_date, read_moment
from participants.models import Enrollment, EnrollmentStatus, Participant
from programs.models import Program, SessionType, Track
from programs.selectors import site_today

from ..models import Attendance, AttendanceStatus, SessionStatus, TherapySession, WeekHours
from .session_counts import ALIAS, SessionCounts
from .session_of_row import session_of_row

_HOUR = Decimal(60)


class ShortReason:
    """Why a week fell short of the minimum; only PARTICIPANT counts against the person."""

    PARTICIPANT = "participant"
    CLINIC = "clinic"
    EXCUSED = "excused"
    UNMARKED = "unmarked"
    LABELS = {
        PARTICIPANT: "Missed time",
        CLINIC: "Clinic offered less than the minimum",
        EXCUSED: "Excused absence",
        UNMARKED: "Attendance not marked",
    }


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
    offered_minutes: int = 0
    excused_minutes: int = 0
    unmarked_minutes: int = 0
    below_minimum: bool = False
    at_risk: bool = False
    short_reason: str = ""

    @property
    def is_full_week(self) -> bool:
        return self.days_in_window == 7

    @property
    def offered_hours(self) -> Decimal:
        return _hours(self.offered_minutes)

    @property
    def counts_against(self) -> bool:
        """A finished week short by the participant's own missed time."""
        return self.below_minimum and self.short_reason == ShortReason.PARTICIPANT

    @property
    def short_reason_label(self) -> str:
        return ShortReason.LABELS.get(self.short_reason, "")


def judge_week(week: LedgerWeek, *, minimum: int, is_active: bool) -> None:
    """Set below_minimum, at_risk and short_reason of one week: the single rule for all pages."""
    week.below_minimum = week.at_risk = False
    week.short_reason = ""
    if not week.is_full_week or minimum == 0:
        return
    if week.offered_minutes < minimum:
        reason = ShortReason.CLINIC
    elif week.attended_minutes + week.excused_minutes >= minimum:
        reason = ShortReason.EXCUSED
    elif week.attended_minutes + week.excused_minutes + week.unmarked_minutes >= minimum:
        reason = ShortReason.UNMARKED
    else:
        reason = ShortReason.PARTICIPANT
    if week.is_finished and week.attended_minutes < minimum:
        week.below_minimum = True
        week.short_reason = reason
    elif (week.is_current and week.attended_minutes + week.scheduled_ahead_minutes < minimum):
        if reason == ShortReason.CLINIC:
            week.short_reason = reason  # shown, but not the participant's risk
        else:
            week.at_risk = is_active


@dataclass
class HoursLedger:
    enrollment: Enrollment
    today: date
    minimum_hours: Decimal
    weeks: list[LedgerWeek] = field(default_factory=list)
    sessions_attended: int = 0
    sessions_absent: int = 0
    sessions_excused: int = 0
    minutes_attended: int = 0
    minutes_held: int = 0
    minutes_excused: int = 0
    projected_completion: date | None = None
    cannot_complete_by_end: bool = False
    track_end: date | None = None

    @property
    def attended_hours(self) -> Decimal:
        return _hours(sum(w.attended_minutes for w in self.weeks))

    @property
    def excused_hours(self) -> Decimal:
        return _hours(self.minutes_excused)

    @property
    def attendance_percent(self) -> Decimal | None:
        if not self.minutes_held:
            return None
        return (Decimal(100 * self.minutes_attended) / self.minutes_held).quantize(
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
    def weeks_counted_against(self) -> int:
        return sum(1 for w in self.weeks if w.counts_against)

    @property
    def weeks_short_by_clinic(self) -> int:
        return sum(1 for w in self.weeks
                   if w.below_minimum and w.short_reason == ShortReason.CLINIC)

    @property
    def current_week(self) -> LedgerWeek | None:
        return next((w for w in self.weeks if w.is_current), None)


def ledger_window(enrollment: Enrollment) -> tuple[date, date]:
    """The first and last day the enrollment's ledger counts."""
    return enrollment.admission_date, enrollment.discharge_date or enrollment.planned_end_date


def ledger_enrollment(enrollments: list[Enrollment]) -> Enrollment | None:
    """Whose hours a chart shows, of a participant's enrollments (newest first): the first
    holding a seat, else the first that ended, else none."""
    current = next((e for e in enrollments if e.status in EnrollmentStatus.seat_holding()), None)
    if current is None:
        current = next((e for e in enrollments if e.status in EnrollmentStatus.ended()), None)
    return current


_LEDGER_COLUMNS = ("status", "minutes_attended", "session__starts_at", "session__ends_at",
                   "session__local_date", "session__session_type__counts_toward_hours")


def _ledger_queryset(*, participant_id: int, start: date, end: date, alias: str | None = None):
    """The participant's not-cancelled attendance at not-cancelled sessions dated in the window,
    as (status, minutes attended, start, end, local date, counts toward hours) rows: the
    definition `_LEDGER_SQL` reads by (tests/sessions/test_ledger_rows.py)."""
    return Attendance.objects.using(alias).filter(
        participant_id=participant_id,
        session__local_date__gte=start, session__local_date__lte=end,
    ).exclude(status=AttendanceStatus.CANCELLED).exclude(
        session__status=SessionStatus.CANCELLED,
    ).values_list(*_LEDGER_COLUMNS).order_by()  # sums need no order; Attendance's default
    # ordering joined the participant to sort


# `_ledger_queryset` for one participant and window, written out: the ledger's rows on each
# portal page and the follow-ups. On PostgreSQL each of the participant's attendance rows finds
# its session by primary key (a LATERAL subquery that OFFSET 0 keeps from being pulled up), as
# the chart's lists do (sessions/selectors/chart.py): joined, the planner read the whole
# sessions table (~0.35 ms of ~0.6 at 2,000 participants) to hash a participant's two hundred
# rows, and the plan it kept for any participant and window, once prepared, started from the
# window's sessions and looked for the participant at each (~35 ms). Driven by the participant,
# it is prepared once a connection (iop_clinic.prepared), which saves planning it (~0.25 ms).
# The session type's flag is a scalar subquery, as in the chart.
def ledger_rows_where(*, status: str, session_status: str, local_date: str) -> str:
    """Which of a participant's attendance rows the ledger reads (`_ledger_queryset`), over
    these column expressions of a raw statement: dated in the window, neither the row nor its
    session cancelled. Its values: `ledger_rows_params`. The portal home reads the ledger's
    rows with its visits through this too."""
    return (f"{local_date} >= %s AND {local_date} <= %s AND {status} <> %s "
            f"AND {session_status} <> %s")


def ledger_rows_params(start: date, end: date) -> tuple:
    return start, end, AttendanceStatus.CANCELLED.value, SessionStatus.CANCELLED.value


def counts_toward_hours_sql(session_type_id: str) -> str:
    """The ledger's last column: whether the session's type counts toward the hours."""
    return (f"(SELECT st.counts_toward_hours FROM programs_sessiontype st "
            f"WHERE st.id = {session_type_id})")


_LEDGER_SQL = f"""
SELECT a.status, a.minutes_attended, s.starts_at, s.ends_at, s.local_date,
       {counts_toward_hours_sql("s.session_type_id")}
FROM iop_sessions_attendance a
{{session_of_row}}
WHERE a.participant_id = %s
  AND {ledger_rows_where(status="a.status", session_status="s.status", local_date="s.local_date")}
"""


@cache
def _ledger_sql(vendor: str) -> str:
    return _LEDGER_SQL.format(session_of_row=session_of_row(
        vendor, "s.starts_at, s.ends_at, s.local_date, s.status, s.session_type_id"))


def _ledger_rows(*, participant_id: int, start: date, end: date) -> list[tuple]:
    """The rows of `_ledger_queryset`, read through `_LEDGER_SQL`. One query."""
    rows = fetchall(_ledger_sql(connection.vendor),
                    (participant_id, *ledger_rows_params(start, end)), prepare=True)
    if connection.vendor == "postgresql":
        return rows
    # SQLite hands back text and integers where the ORM gives date-times, dates and booleans.
    return [(status, minutes, read_moment(starts_at), read_moment(ends_at), read_date(local_date),
             bool(counts)) for status, minutes, starts_at, ends_at, local_date, counts in rows]


def hours_ledger(*, enrollment: Enrollment, today: date | None = None,
                 now: datetime | None = None, rows: list[tuple] | None = None) -> HoursLedger:
    """One row per ISO week of the enrollment window, plus totals. Two queries at most.

    Counts the participant's attendance at sessions dated inside the window (track and personal
    sessions alike). `today` defaults to the date at the track's site, `now` to the clock.
    `rows`: the rows `_ledger_queryset` gives for the participant and `ledger_window`, when the
    caller read them already (the chart reads them with its lists); else one query reads them.
    """
    if not _has_related(enrollment, "track") or not _has_related(enrollment.track, "program") \
            or not _has_related(enrollment.track, "site"):
        enrollment = Enrollment.objects.select_related("track__program", "track__site").get(
            pk=enrollment.pk)
    track = enrollment.track
    now = now or timezone.now()
    if today is None:
        today = site_today(site=track.site)
    minimum_hours = Decimal(track.program.min_weekly_hours or 0)
    minimum = _minimum_minutes(minimum_hours)
    start, end = ledger_window(enrollment)

    ledger = HoursLedger(enrollment=enrollment, today=today, minimum_hours=minimum_hours,
                         track_end=track.end_date)
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

    if rows is None:
        rows = _ledger_rows(participant_id=enrollment.participant_id, start=start, end=end)
    # Looked up once, not once a row: a chart or portal page reads a few hundred rows, and
    # finding each row's week and the attended statuses again was a third of the loop.
    attended, expected = AttendanceStatus.attended(), AttendanceStatus.EXPECTED
    week_of: dict[date, LedgerWeek] = {}
    for status, minutes, starts_at, ends_at, local_date, counts in rows:
        week = week_of.get(local_date)
        if week is None:
            week = week_of[local_date] = weeks[_monday(local_date)]
        length = int((ends_at - starts_at).total_seconds() // 60)
        if counts:
            week.offered_minutes += length
        if starts_at > now:
            status = expected  # not held yet, whatever was marked
        if status in attended:
            credited = length if minutes is None else minutes
            ledger.sessions_attended += 1
            ledger.minutes_attended += credited
            ledger.minutes_held += length
            if counts:
                week.attended_minutes += credited
        elif status == AttendanceStatus.ABSENT:
            ledger.sessions_absent += 1
            ledger.minutes_held += length
        elif status == AttendanceStatus.EXCUSED:
            ledger.sessions_excused += 1
            ledger.minutes_excused += length
            if counts:
                week.excused_minutes += length
        elif counts and local_date >= today:
            week.scheduled_ahead_minutes += length
        elif counts:
            week.unmarked_minutes += length

    is_active = enrollment.status == EnrollmentStatus.ACTIVE
    for week in weeks.values():
        judge_week(week, minimum=minimum, is_active=is_active)
    ledger.weeks = list(weeks.values())

    if enrollment.status in EnrollmentStatus.ended() and enrollment.discharge_date:
        ledger.projected_completion = enrollment.discharge_date
    else:
        projected = enrollment.planned_end_date + timedelta(weeks=ledger.weeks_counted_against)
        if track.end_date and projected > track.end_date:
            projected = max(track.end_date, enrollment.planned_end_date)
            ledger.cannot_complete_by_end = ledger.weeks_counted_against > 0
        ledger.projected_completion = projected
    return ledger


@dataclass(frozen=True)
class TimetableHours:
    """What a track's weekly timetable offers against its program's weekly minimum."""

    offered_minutes: int
    minimum_hours: Decimal

    @property
    def offered_hours(self) -> Decimal:
        return _hours(self.offered_minutes)

    @property
    def below_minimum(self) -> bool:
        return self.offered_minutes < _minimum_minutes(self.minimum_hours)


def timetable_hours(*, track, slots) -> TimetableHours:
    """Hours a week the timetable offers (slots whose type counts toward hours) vs the minimum.

    `slots` is the track's timetable as the page already loaded it (with session types).
    """
    offered = sum(s.duration_minutes for s in slots if s.session_type.counts_toward_hours)
    return TimetableHours(offered_minutes=offered,
                          minimum_hours=Decimal(track.program.min_weekly_hours or 0))


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


def _judged_enrollments(*, site_ids: list[int], today: date) -> dict:
    """The enrollments whose current week is judged: active, at these sites, with a minimum,
    and a window covering the whole week, as in the ledger."""
    monday = _monday(today)
    return {
        "status": EnrollmentStatus.ACTIVE, "track__site_id__in": list(site_ids),
        "admission_date__lte": monday, "planned_end_date__gte": monday + timedelta(days=6),
        "track__program__min_weekly_hours__gt": 0,
    }


def _weeks_at_risk_sql(*, site_ids: list[int], today: date, now: datetime,
                      people: bool = False,
                      counts: SessionCounts | None = None) -> tuple[str, tuple]:
    """This week's minutes per judged participant, with the ledger's row rules, keeping only the
    weeks that may be at risk.

    The week's sums come from the trigger-kept `WeekHours` (a row per person and session type:
    attended, expected and offered minutes of the counting rows, whole minutes a row as the
    ledger counts them). The sums cannot know the clock, so the only attendance read is what the
    clock changes, found through the (session, status) index: marks on sessions that have not
    started (the ledger reads them as still expected: not attended, and ahead from today on),
    and rows still expected on the week's days before today (unmarked, not ahead). Both are
    index ranges of a session (`<>` would read every row of every session ahead). In a clinic
    that marks its sessions both are a handful of rows; summing the week's attendance itself
    read 30,000 rows at 2,000 people. Whether a type counts is read live from the session type.
    The WHERE keeps a superset of the weeks at risk (attended + ahead under the minimum, rounded
    up): `judge_week` decides. The judged enrollments are joined to their stored rows and summed
    in one step (as a CTE of their own, they were hashed twice, to narrow the sums and to join
    them: ~0.6 of 3.7 ms of execution at 2,000, where nobody is at risk).

    Given `counts` (the attendance tally, handed in by Today), the week's sessions carry their
    kept counts, and a session's rows are looked for only where they can be: marks on a
    session not started only if it has marked rows, rows still expected only if it has some
    (a session without a kept row has none). In a clinic that marks its sessions neither is
    so, and the ~480 index look-ups (two a session ahead, one a session of the days before)
    were a sixth to a third of the read (3.2 -> 2.6 ms fastest, 7.7 -> 4.8 median of 140 on a
    busy host, at 2,000).
    """
    monday = _monday(today)
    sunday = monday + timedelta(days=6)
    attended = tuple(AttendanceStatus.attended())
    marks = ", ".join(["%s"] * len(attended))
    # With people: the board's columns too (code, names), in the order the board lists them.
    # Scalar subqueries, read only for the rows returned: joining the participants cost
    # ~0.45 ms of execution at 2,000 even with nobody at risk; these cost ~0.05 of planning.
    person = f"(SELECT p.{{}} FROM {Participant._meta.db_table} p WHERE p.id = h.participant_id)"
    person_columns = "".join(f",\n               {person.format(column)} AS {column}"
                             for column in ("code", "first_name", "last_name")) if people else ""
    person_order = ("\n        ORDER BY last_name, first_name, h.enrollment_id" if people else "")
    length = "FLOOR(EXTRACT(EPOCH FROM (s.ends_at - s.starts_at)) / 60)::bigint"
    # The stored rows of the types that count, the types read first (an array of a few ids):
    # as a join of the session types, it was one more table in the plan's join search, ~0.15
    # of ~0.9 ms of planning at 2,000 (execution unchanged).
    counting = (f"SELECT st.id FROM {SessionType._meta.db_table} st "
                "WHERE st.counts_toward_hours")
    counting_types = f"= ANY(ARRAY({counting}))"
    # The stored minutes summed as float8 and read back as bigint: SUM(bigint) keeps a numeric
    # state for each person summed, a float8 sum a plain double (~0.15 of ~2.7 ms of execution
    # at 2,000). Exact: a double holds every integer below 2**53 (some 17 billion years of
    # minutes) and adds such integers without rounding. The clock's changes are cast back to
    # bigint too, so the WHERE below adds up ~1,000 rows in integers, not numerics (~0.13 ms).
    total = "SUM(h.{}::float8)::bigint"
    if connection.vendor != "postgresql":  # SQLite (`make run`): its datetimes are UTC text
        length = "(strftime('%%s', s.ends_at) - strftime('%%s', s.starts_at)) / 60"
        now = connection.ops.adapt_datetimefield_value(now)
        counting_types = f"IN ({counting})"  # no arrays
        total = "SUM(h.{})"  # integers already
    # The week's stored rows of the types that count, read on their own (OFFSET 0: not
    # flattened into the join) and then joined to the judged enrollments. Joined directly,
    # PostgreSQL chose its plan by its estimate of the judged enrollments, and that estimate
    # falls with history: the window's dates are judged against every enrollment ever made,
    # most of them long ended (505 of 2,000 active estimated, 130 after the site, with 26 weeks
    # of history at 2,000). Expecting so few, it looked each one's stored rows up by index
    # (1,000 look-ups, 4,121 buffers) instead of reading the week's 4,000 rows (70 buffers).
    # The week's rows are only those of people enrolled this week, however long the history.
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    week_rows = (f"(SELECT h.participant_id, h.attended_minutes, h.expected_minutes,"
                 f" h.offered_minutes FROM {WeekHours._meta.db_table} h"
                 f" WHERE h.week = %s AND h.session_type_id {counting_types}{fence})")
    # With the kept counts: the week's sessions say whether any row is marked or expected.
    kept_columns = kept_join = marked_here = expected_here = ""
    if counts is not None:
        kept_columns = (f",\n                   {counts.marked} > 0 AS any_marked, "
                        f"{counts.unmarked} > 0 AS any_expected")
        # Each week session's kept row looked up by its key (LATERAL, OFFSET 0 so it is not
        # flattened back into a join): joined, PostgreSQL hashed the whole tally, a row for
        # every session the clinic ever held (11,400 with six months of history at 2,000:
        # 12.7 -> 11.0 ms of execution; 7.4 -> 7.5 at the bench's 12 weeks, 157 -> 1,026
        # buffers, the look-ups' index pages). SQLite (`make run`) has no LATERAL: the join.
        kept_join = (
            f"\n            JOIN LATERAL (SELECT * FROM {counts.table} k"
            f" WHERE k.session_id = s.id OFFSET 0) {ALIAS} ON true"
            if connection.vendor == "postgresql"
            else f"\n            JOIN {counts.table} {ALIAS} ON {ALIAS}.session_id = s.id")
        marked_here, expected_here = "w.any_marked AND ", "w.any_expected AND "
    sql = f"""
        WITH stored AS (
            SELECT e.participant_id, e.id AS enrollment_id, pr.min_weekly_hours,
                   {total.format("attended_minutes")} AS attended,
                   {total.format("expected_minutes")} AS expected,
                   {total.format("offered_minutes")} AS offered
            FROM {week_rows} h
            JOIN {Enrollment._meta.db_table} e ON e.participant_id = h.participant_id
            JOIN {Track._meta.db_table} t ON t.id = e.track_id
            JOIN {Program._meta.db_table} pr ON pr.id = t.program_id
            WHERE e.status = %s AND t.site_id IN %s AND e.admission_date <= %s
              AND e.planned_end_date >= %s AND pr.min_weekly_hours > 0
            GROUP BY e.id, e.participant_id, pr.min_weekly_hours
        ),
        week AS (
            SELECT s.id, s.starts_at, s.local_date,
                   {length} AS length{kept_columns}
            FROM {TherapySession._meta.db_table} s
            JOIN {SessionType._meta.db_table} st ON st.id = s.session_type_id{kept_join}
            WHERE s.local_date >= %s AND s.local_date <= %s AND s.status = %s
              AND st.counts_toward_hours
        ),
        changes AS (
            SELECT c.participant_id,
                   CAST(SUM(CASE WHEN c.status IN ({marks})
                                 THEN COALESCE(c.minutes_attended, c.length) ELSE 0 END)
                        AS bigint) AS not_held,
                   CAST(SUM(c.ahead_change) AS bigint) AS ahead_change
            FROM (
                -- Marked (not expected, not cancelled) on sessions not started: two ranges of
                -- the (session, status) index a session, below and above "expected".
                SELECT a.participant_id, a.status, a.minutes_attended, w.length,
                       CASE WHEN w.local_date >= %s THEN w.length ELSE 0 END AS ahead_change
                FROM week w JOIN {Attendance._meta.db_table} a
                     ON a.session_id = w.id AND a.status < %s
                WHERE {marked_here}w.starts_at > %s AND a.status <> %s
                UNION ALL
                SELECT a.participant_id, a.status, a.minutes_attended, w.length,
                       CASE WHEN w.local_date >= %s THEN w.length ELSE 0 END
                FROM week w JOIN {Attendance._meta.db_table} a
                     ON a.session_id = w.id AND a.status > %s
                WHERE {marked_here}w.starts_at > %s AND a.status <> %s
                UNION ALL
                -- Still expected on the days before today: unmarked, not ahead.
                SELECT a.participant_id, a.status, a.minutes_attended, w.length, -w.length
                FROM week w JOIN {Attendance._meta.db_table} a
                     ON a.session_id = w.id AND a.status = %s
                WHERE {expected_here}w.local_date < %s
            ) c
            GROUP BY c.participant_id
        )
        SELECT h.participant_id, h.min_weekly_hours,
               h.attended - COALESCE(c.not_held, 0) AS attended,
               h.expected + COALESCE(c.ahead_change, 0) AS ahead, h.offered{person_columns}
        FROM stored h
        LEFT JOIN changes c ON c.participant_id = h.participant_id
        WHERE h.attended - COALESCE(c.not_held, 0) + h.expected + COALESCE(c.ahead_change, 0)
              < h.min_weekly_hours * 60 + 1{person_order}
    """
    expected, cancelled = AttendanceStatus.EXPECTED.value, AttendanceStatus.CANCELLED.value
    not_started = (today, expected, now, cancelled)
    params = (
        monday,  # the stored week
        EnrollmentStatus.ACTIVE.value, tuple(site_ids), monday, sunday,  # judged
        monday, sunday, SessionStatus.SCHEDULED.value,  # week
        *attended,  # changes
        *not_started, *not_started,  # marked below and above "expected", not started
        expected, today,  # unmarked before today
    )
    return sql, params


def _weeks_at_risk(*, site_ids: list[int], today: date, now: datetime) -> dict[int, LedgerWeek]:
    """Participant id -> this week, for everyone at risk this week; one query.

    It reads, per participant, this week's minutes with the ledger's row rules (the stored sums
    and the few rows the clock changes, see `_weeks_at_risk_sql`), together with the program's
    minimum; each week is then judged by `judge_week`, the ledger's own rule. Someone with
    nothing offered this week is short because of the clinic, never at risk, so starting from
    the stored sums misses nobody.
    """
    if not site_ids:
        return {}
    monday = _monday(today)
    sunday = monday + timedelta(days=6)
    sql, params = _weeks_at_risk_sql(site_ids=site_ids, today=today, now=now)
    with connection.cursor() as cursor:
        execute(cursor, sql, params)
        rows = cursor.fetchall()
    weeks: dict[int, LedgerWeek] = {}
    for participant_id, hours, attended_minutes, ahead_minutes, offered in rows:
        week = _week_if_at_risk(hours, attended_minutes, ahead_minutes, offered,
                                monday=monday, sunday=sunday)
        if week is not None:
            weeks[participant_id] = week
    return weeks


def _week_if_at_risk(hours, attended_minutes, ahead_minutes, offered, *, monday: date,
                     sunday: date) -> LedgerWeek | None:
    """This week as `judge_week` judges it from one row of `_weeks_at_risk_sql`, or None when
    it is not at risk."""
    if isinstance(hours, float):  # SQLite's decimals
        hours = Decimal(str(hours))
    minimum = _minimum_minutes(hours)
    attended, ahead = int(attended_minutes), int(ahead_minutes)
    if attended + ahead >= minimum:
        return None  # judge_week never calls this week at risk
    week = LedgerWeek(
        iso_year=0, iso_week=0, week_start=monday, week_end=sunday, days_in_window=7,
        minimum_hours=Decimal(hours or 0), is_current=True, is_finished=False,
        attended_minutes=attended, scheduled_ahead_minutes=ahead,
        offered_minutes=int(offered),
    )
    judge_week(week, minimum=minimum, is_active=True)
    return week if week.at_risk else None


def participant_ids_at_risk(*, site_ids: list[int], today: date,
                            now: datetime | None = None) -> set[int]:
    """The ids of the people `participants_at_risk` lists, in one query (for filters)."""
    return set(_weeks_at_risk(site_ids=site_ids, today=today, now=now or timezone.now()))


def participants_at_risk(*, site_ids: list[int], today: date,
                         now: datetime | None = None) -> list[AtRisk]:
    """Active enrollments at these sites whose current ISO week is at risk (see the ledger).

    Two queries whatever the number of people: the weeks at risk (`_weeks_at_risk`), then the
    enrollments found at risk.
    """
    weeks = _weeks_at_risk(site_ids=site_ids, today=today, now=now or timezone.now())
    if not weeks:
        return []
    judged = _judged_enrollments(site_ids=site_ids, today=today)
    enrollments = (
        Enrollment.objects.filter(**judged, participant_id__in=list(weeks))
        .select_related("participant", "track__program", "track__site")
        .order_by("participant__last_name", "participant__first_name", "pk")
    )
    at_risk: list[AtRisk] = []
    for enrollment in enrollments:
        week = weeks[enrollment.participant_id]
        at_risk.append(AtRisk(enrollment=enrollment, attended_minutes=week.attended_minutes,
                              scheduled_ahead_minutes=week.scheduled_ahead_minutes,
                              minimum_hours=week.minimum_hours))
    return at_risk


@dataclass(frozen=True)
class AtRiskPerson(_WeekHours):
    """What Today's at-risk box shows of someone in `participants_at_risk`: no Enrollment."""

    code: object  # the participant's public code (a UUID), for the chart link
    full_name: str
    attended_minutes: int
    scheduled_ahead_minutes: int
    minimum_hours: Decimal

    @property
    def shortfall_hours(self) -> Decimal:
        reachable = self.attended_minutes + self.scheduled_ahead_minutes
        return _hours(max(_minimum_minutes(self.minimum_hours) - reachable, 0))


def people_at_risk(*, site_ids: list[int], today: date, now: datetime | None = None,
                   counts: SessionCounts | None = None) -> list[AtRiskPerson]:
    """`participants_at_risk` as Today's box shows it (code, name, hours), in one query: the
    weeks' statement also returns the person's code and names, in the same order (last name,
    first name, enrollment). Someone has at most one active enrollment, so a row is a person.
    `counts` (the attendance tally) spares the look-ups for rows a session cannot have.
    """
    if not site_ids:
        return []
    monday = _monday(today)
    sunday = monday + timedelta(days=6)
    sql, params = _weeks_at_risk_sql(site_ids=site_ids, today=today, now=now or timezone.now(),
                                     people=True, counts=counts)
    rows = fetchall(sql, params, prepare=True)
    people: list[AtRiskPerson] = []
    for _pid, hours, attended, ahead, offered, code, first_name, last_name in rows:
        week = _week_if_at_risk(hours, attended, ahead, offered, monday=monday, sunday=sunday)
        if week is not None:
            people.append(AtRiskPerson(
                code=code if connection.vendor == "postgresql" else uuid.UUID(code),
                full_name=f"{first_name} {last_name}",  # as Participant.full_name
                attended_minutes=week.attended_minutes,
                scheduled_ahead_minutes=week.scheduled_ahead_minutes,
                minimum_hours=week.minimum_hours))
    return people
