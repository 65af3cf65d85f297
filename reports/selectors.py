"""The reports' reads: census, attendance, outcomes, access, billing units and staff load.

Every report answers with a fixed number of queries whatever the data size: the sums, counts,
medians and percentiles are computed by PostgreSQL, and Python only shapes the few aggregated
rows (one per track, week, reason...) for the pages, charts and exports.

Definitions (the README's "Reports" section repeats them for clinics):
- A session is *held* when it is scheduled (not cancelled, which includes sessions cancelled by a
  closure) and its local date is on or before today. Attendance rows marked "cancelled by clinic"
  never count.
- Attendance rate = minutes attended / minutes held, where minutes held are the sessions' real
  lengths for rows marked present, late, left early or absent, and minutes attended are
  `minutes_attended` (the session's length when not recorded) for present, late and left early.
  Excused absences are left out of both and shown apart; rows still unmarked at a held session
  are shown apart as "unmarked".
- No-show rate = absent rows / (attended + absent rows).
- A participant is *below the weekly minimum* in a full ISO week of their enrollment window
  when the hours they attended (plus, in the current week, the hours still scheduled for them)
  are under the program's minimum. Why is the hours ledger's rule (`judge_week`, issue 13):
  for a finished week "clinic" when the clinic offered fewer counting hours than the minimum
  (cancellations, closures, a thin timetable), "excused" when excused absences cover the gap,
  "unmarked" when unmarked sessions do, else "participant" (missed offered time); for the
  current week "clinic", or "at risk" (the minimum can no longer be reached).
- Census counts enrollments by status now; the weekly trend counts enrollments in care (active,
  on hold, completed or discharged) whose admission-to-discharge window touches the week. Hold
  periods are not historised, so the trend counts a held enrollment as in care.
- Referral-to-admission wait: admission date minus the date the enrollment row was created
  (the referral, or the waitlisting when there was no referral), in the site's time zone, never
  below zero.
- Waitlist length on a week's Sunday: enrollments waitlisted by then that had not yet been
  admitted (admission date after that Sunday) or withdrawn (last change after that Sunday).
- Length of stay in attended hours: the hours attended (sessions counting toward the weekly
  hours) on the enrollment's own attendance rows, admission to discharge.
- Billing units: see `sessions.selectors.billing` (shared with payer authorizations) and
  settings.REPORT_BILLING_RULES.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property, lru_cache, partial
import statistics
from typing import Any
import uuid

from django.db import connection, connections
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    Exists,
    F,
    FilteredRelation,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from accounts.models import staff_name

from participants.models import (
    ContinuingCarePlan,
    DischargeReason,
    ENDS,
    Enrollment,
    EnrollmentStatus,
    Participant,
    StepDownLevel,
)
from iop_clinic.prepared import fetchall
from iop_clinic.compiled import CompiledQuery, compile_once
from programs.models import SessionKind, SessionType, Site, Track, Weekday

from reports.models import (
    WEEKDAYS,
    BillingDay,
    BillingLineRows,
    BillingWeek,
    BillingWeekSums,
    SessionTally,
)
from sessions.models import (
    Attendance,
    AttendanceStatus,
    SessionStatus,
    StayHours,
    TherapySession,
    WeekHours,
)
from sessions.selectors.billing import (
    MICROSECONDS_PER_MINUTE,
    BillingRule,
    billing_rules,
    rules_cte,
    unit_case_sql,
    units_case_sql,
    units_sql,
)
from sessions.selectors.ledger import LedgerWeek, ShortReason, judge_week

ADMITTED = (EnrollmentStatus.ACTIVE, EnrollmentStatus.ON_HOLD, EnrollmentStatus.COMPLETED,
            EnrollmentStatus.DISCHARGED)
ATTENDED = AttendanceStatus.attended()


# --- The scope every report reads within ---------------------------------------------------

@dataclass(frozen=True)
class ReportScope:
    """What a report covers: the sites (always the asker's own), the filters, the dates.

    `clinician_id` limits participant figures to that clinician's caseload (participants whose
    primary clinician they are) and the staff load to the sessions they facilitated.
    """

    site_ids: tuple[int, ...]
    date_from: date
    date_to: date
    today: date
    program_id: int | None = None
    track_id: int | None = None
    clinician_id: int | None = None

    def as_filters(self) -> dict[str, Any]:
        """The filters as plain values, for the audit trail and Celery task arguments."""
        return {"site_ids": list(self.site_ids), "date_from": self.date_from.isoformat(),
                "date_to": self.date_to.isoformat(), "today": self.today.isoformat(),
                "program_id": self.program_id, "track_id": self.track_id,
                "clinician_id": self.clinician_id}

    @classmethod
    def from_filters(cls, filters: dict[str, Any]) -> ReportScope:
        return cls(site_ids=tuple(filters["site_ids"]),
                   date_from=date.fromisoformat(filters["date_from"]),
                   date_to=date.fromisoformat(filters["date_to"]),
                   today=date.fromisoformat(filters["today"]),
                   program_id=filters.get("program_id"), track_id=filters.get("track_id"),
                   clinician_id=filters.get("clinician_id"))

    @property
    def held_until(self) -> date:
        """The last day whose sessions count as held: the range's end, never after today."""
        return min(self.date_to, self.today)


def _enrollment_q(scope: ReportScope, prefix: str = "") -> Q:
    q = Q(**{f"{prefix}track__site_id__in": scope.site_ids})
    if scope.program_id:
        q &= Q(**{f"{prefix}track__program_id": scope.program_id})
    if scope.track_id:
        q &= Q(**{f"{prefix}track_id": scope.track_id})
    if scope.clinician_id:
        q &= Q(**{f"{prefix}participant__primary_clinician_id": scope.clinician_id})
    return q


def _session_track_q(scope: ReportScope, prefix: str = "session__") -> Q:
    """Program and track filters for sessions: a personal session counts for the track of the
    enrollment its attendance row belongs to."""
    q = Q()
    for chosen, track, enrollment in (
            (scope.program_id, "track__program_id", "enrollment__track__program_id"),
            (scope.track_id, "track_id", "enrollment__track_id")):
        if chosen:
            q &= (Q(**{f"{prefix}{track}": chosen})
                  | Q(**{f"{prefix}track__isnull": True, enrollment: chosen}))
    return q


class _AmongIds(Func):
    """`column = ANY(ARRAY(subquery))` (PostgreSQL): the subquery runs first, once, and its ids
    are looked up in the column's index."""

    template = "(%(expressions)s))"
    arg_joiner = " = ANY(ARRAY"
    output_field = BooleanField()


def _held_attendance_q(scope: ReportScope, tracks: Q | None = None) -> Q:
    """The held attendance rows in the scope; `tracks` in place of its program and track
    filters (`_session_track_q`)."""
    q = Q(session__site_id__in=scope.site_ids, session__status=SessionStatus.SCHEDULED,
          session__local_date__gte=scope.date_from, session__local_date__lte=scope.held_until)
    q &= ~Q(status=AttendanceStatus.CANCELLED) & (
        _session_track_q(scope) if tracks is None else tracks)
    return q & _caseload_q(scope)


def _caseload_q(scope: ReportScope) -> Q:
    """Attendance rows of the scope's caseload (every row without one)."""
    if scope.clinician_id and connection.vendor == "postgresql":
        # The caseload's ids first, then their rows by the attendance's participant index: as
        # a join (or IN, a semi-join) PostgreSQL read every attendance row of the clinic to
        # find the caseload's, a twentieth of them (at 2,000 participants, 360,000 rows for
        # 18,000: 55 against 10 ms).
        return Q(_AmongIds(F("participant_id"), Subquery(
            Participant.objects.filter(primary_clinician_id=scope.clinician_id)
            .order_by().values("pk"))))
    if scope.clinician_id:
        return Q(participant__primary_clinician_id=scope.clinician_id)
    return Q()


# --- SQL helpers ---------------------------------------------------------------------------

class Minutes(Func):
    """Whole minutes between two timestamps: Minutes("ends_at", "starts_at")."""

    template = "(EXTRACT(EPOCH FROM (%(expressions)s)) / 60)"
    arg_joiner = " - "
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        """SQLite (`make run`): Django's own exact difference of its datetime text."""
        return self.as_sql(compiler, connection, arg_joiner=", ", **extra,
                           template="(django_timestamp_diff(%(expressions)s) / 60000000.0)")


class Microseconds(Func):
    """Whole microseconds between two timestamps, as a bigint: Microseconds("ends_at",
    "starts_at"). date_part's double precision holds a session's length exactly to the
    microsecond, and summing bigints is much cheaper for PostgreSQL than `Minutes`' numeric
    EXTRACT and division (turn the sums into minutes with `_whole_minutes`)."""

    template = "(date_part('epoch', %(expressions)s) * 1000000)::bigint"
    arg_joiner = " - "
    output_field = BigIntegerField()

    def as_sqlite(self, compiler, connection, **extra):
        """SQLite (`make run`): Django's own difference of its datetime text, in microseconds."""
        return self.as_sql(compiler, connection, arg_joiner=", ", **extra,
                           template="django_timestamp_diff(%(expressions)s)")


class DaysBetween(Func):
    """later - earlier, for two dates: a whole number of days (PostgreSQL date arithmetic)."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra):
        """SQLite (`make run`) keeps dates as text: the days between their Julian day numbers."""
        return self.as_sql(compiler, connection, arg_joiner=") - julianday(", **extra,
                           template="CAST(julianday(%(expressions)s) AS INTEGER)")


class WaitDays(Func):
    """GREATEST(admission_date - (created_at in the site's zone)::date, 0)."""

    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra):  # noqa: ARG002 - Func's signature
        parts = [compiler.compile(expression) for expression in self.get_source_expressions()]
        (admitted, p1), (created, p2), (zone, p3) = parts
        return (f"GREATEST({admitted} - (({created}) AT TIME ZONE {zone})::date, 0)",
                (*p1, *p2, *p3))

    def as_sqlite(self, compiler, connection, **extra):  # noqa: ARG002 - Func's signature
        """SQLite (`make run`): the site's date of `created_at` by Django's own function, the
        days between by julianday; MAX of two values is SQLite's GREATEST."""
        parts = [compiler.compile(expression) for expression in self.get_source_expressions()]
        (admitted, p1), (created, p2), (zone, p3) = parts
        return (f"MAX(CAST(julianday({admitted}) - julianday(django_datetime_cast_date("
                f"{created}, {zone}, %s)) AS INTEGER), 0)",
                (*p1, *p2, *p3, connection.timezone_name))


# The Decimals the helpers below divide and round by, made once: parsing them again for every
# figure was a third of what a report table's row cost.
_PLACES = {"0.1": Decimal("0.1")}
_HUNDRED, _SIXTY = Decimal(100), Decimal(60)


def _ratio(part, whole, places: str = "0.1") -> Decimal | None:
    if not whole:
        return None
    exponent = _PLACES.get(places) or Decimal(places)
    return (_HUNDRED * Decimal(part or 0) / Decimal(whole)).quantize(
        exponent, rounding=ROUND_HALF_UP)


def _hours(minutes) -> Decimal:
    return (Decimal(minutes or 0) / _SIXTY).quantize(_PLACES["0.1"], rounding=ROUND_HALF_UP)


def _decimal(value, places: str = "0.1") -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _mondays(scope: ReportScope) -> tuple[date, date]:
    first = scope.date_from - timedelta(days=scope.date_from.weekday())
    last = scope.date_to - timedelta(days=scope.date_to.weekday())
    return first, last



def _subquery_sql(queryset) -> tuple[str, tuple]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


# A report's querysets cost more Python to build and compile than PostgreSQL takes to run them
# at a clinic's size. `_scope_sql` compiles each once a process and shape of scope (how many
# sites, which filters, how many days), with sentinels in place of the scope's values and days,
# and runs it with the real ones (iop_clinic.compiled). Only SQL text is kept. A builder takes
# the scope and the days it reads, and reads no other date of the scope: a value derived from a
# sentinel would be compiled as a constant, so compiling refuses a constant date or id in the
# sentinels' range.
_SITE_SENTINEL = -7_100_000  # the i-th site id: this - i
_FILTER_SENTINELS = {"program_id": -7_200_001, "track_id": -7_200_002,
                     "clinician_id": -7_200_003}
_DAY_SENTINEL = date(1901, 1, 1)  # the i-th day: this + i days


def _scope_sql(build, scope: ReportScope, *days: date) -> tuple[str, tuple]:
    """`_subquery_sql(build(scope, *days))`, from SQL compiled once per shape of scope."""
    if not scope.site_ids:  # the ORM answers an empty IN with no query at all
        return _subquery_sql(build(scope, *days))
    filters = tuple(name for name in _FILTER_SENTINELS if getattr(scope, name))
    # A builder may read the current time zone (TruncDate): its name is compiled as a constant.
    compiled = _compiled_scope_sql(build, connection.alias, timezone.get_current_timezone_name(),
                                   len(scope.site_ids), filters, len(days))
    values = {f"site{i}": site_id for i, site_id in enumerate(scope.site_ids)}
    values |= {name: getattr(scope, name) for name in filters}
    values |= {f"day{i}": connection.ops.adapt_datefield_value(day)
               for i, day in enumerate(days)}
    return compiled.sql, tuple(param if slot is None else values[slot]
                               for param, slot in zip(compiled.params, compiled.slots,
                                                      strict=True))


@lru_cache(maxsize=256)
def _compiled_scope_sql(build, alias: str, zone: str, n_sites: int,  # noqa: ARG001 - a key
                        filters: tuple[str, ...], n_days: int) -> CompiledQuery:
    site_ids = tuple(_SITE_SENTINEL - i for i in range(n_sites))
    days = tuple(_DAY_SENTINEL + timedelta(days=i) for i in range(n_days))
    scope = ReportScope(site_ids=site_ids, date_from=date.min, date_to=date.min,
                        today=date.min, **{name: _FILTER_SENTINELS[name] for name in filters})
    ops = connections[alias].ops
    sentinels = {site_id: f"site{i}" for i, site_id in enumerate(site_ids)}
    sentinels |= {_FILTER_SENTINELS[name]: name for name in filters}
    sentinels |= {ops.adapt_datefield_value(day): f"day{i}" for i, day in enumerate(days)}
    query = build(scope, *days).query
    compiled = compile_once(query.get_compiler(using=alias), sentinels,
                            what=f"report's {build.__name__}")
    for param, slot in zip(compiled.params, compiled.slots, strict=True):
        if slot is None and (isinstance(param, date) or (
                type(param) is int and param <= _SITE_SENTINEL + 1)):
            raise AssertionError(f"{build.__name__} compiled a scope's value as a constant")
    return compiled


# --- 1. Census -----------------------------------------------------------------------------

@dataclass
class CensusTrack:
    track_id: int
    site: str
    program: str
    track: str
    capacity: int
    active: int
    on_hold: int
    waitlisted: int
    offered: int
    seats_free: int


@dataclass
class WeekCount:
    week_start: date
    count: int


@dataclass
class CensusReport:
    tracks: list[CensusTrack]
    trend: list[WeekCount]

    @property
    def totals(self) -> dict[str, int]:
        keys = ("capacity", "active", "on_hold", "waitlisted", "offered", "seats_free")
        return {key: sum(getattr(row, key) for row in self.tracks) for key in keys}


def _week_counts(scope: ReportScope, condition: str, queryset) -> list[WeekCount]:
    """One row per ISO week of the range: how many of `queryset`'s enrollments meet `condition`
    (SQL over the enrollment's columns as e.* and the week's Monday w.monday). One query."""
    first, last = _mondays(scope)
    rows_sql, rows_params = _subquery_sql(queryset.order_by().values(
        "id", "status", "admission_date", "discharge_date", "waitlisted_at", "updated_at"))
    sql = (
        "SELECT w.monday, COUNT(e.id) FROM (SELECT d::date AS monday FROM generate_series("
        "%s::date, %s::date, interval '7 days') AS d) AS w "
        f"LEFT JOIN ({rows_sql}) AS e ON {condition} GROUP BY 1 ORDER BY 1"
    )
    rows = fetchall(sql, (first, last, *rows_params))
    return [WeekCount(week_start=monday, count=count) for monday, count in rows]


# The statuses the census counts per track (`_census_tracks`): every count is of one of them.
_CURRENT = (*EnrollmentStatus.seat_holding(), EnrollmentStatus.WAITLISTED)


def _census_tracks(scope: ReportScope):
    """Per track: its seats and enrollments by status (the caseload's, seats taken by anyone).

    Only the tracks' current enrollments are joined (`_CURRENT`, in the join's condition): with
    every enrollment joined and counted by filters, each stay a clinic ever had was read and
    grouped (26 weeks of history at 2,000 participants: 8,040 rows for 2,040, 2.6 -> 1.1 ms of
    execution, medians of 20)."""
    # The site, program and track filters apply to the tracks; the caseload to the counts.
    mine = (Q(current__participant__primary_clinician_id=scope.clinician_id)
            if scope.clinician_id else Q())
    tracks = Track.objects.filter(site_id__in=scope.site_ids, is_active=True)
    if scope.program_id:
        tracks = tracks.filter(program_id=scope.program_id)
    if scope.track_id:
        tracks = tracks.filter(pk=scope.track_id)
    waitlisted = Q(current__status=EnrollmentStatus.WAITLISTED)
    offered = waitlisted & Q(current__seat_offered_at__isnull=False)
    return (
        tracks.annotate(current=FilteredRelation(
            "enrollments", condition=Q(enrollments__status__in=_CURRENT))).annotate(
            n_active=Count("current", filter=mine & Q(current__status="active")),
            n_on_hold=Count("current", filter=mine & Q(current__status="on_hold")),
            n_waitlisted=Count("current", filter=mine & waitlisted),
            n_offered=Count("current", filter=mine & offered),
            # Seats belong to the track, whoever's caseload holds them.
            n_taken=Count("current", filter=Q(
                current__status__in=EnrollmentStatus.seat_holding()) | offered),
        )
        .order_by("site__name", "program__name", "name")
        .values_list("pk", "site__name", "program__name", "name", "capacity", "n_active",
                     "n_on_hold", "n_waitlisted", "n_offered", "n_taken")
    )


def _in_care(scope: ReportScope, first: date, last: date):
    """The admitted stays that can be in care some week from Monday `first` to Sunday `last`:
    admitted by `last`, not discharged before `first` (`census_report`'s weeks need no other;
    without these bounds it grouped every stay the clinic ever had: 26 weeks of history at
    2,000 participants, 8,000 rows for 3,767)."""
    return (Enrollment.objects.filter(
        Q(discharge_date__isnull=True) | Q(discharge_date__gte=first), _enrollment_q(scope),
        status__in=ADMITTED, admission_date__lte=last).order_by()
        .values("admission_date", "discharge_date"))


def census_report(*, scope: ReportScope) -> CensusReport:
    """Seats and enrollments per track now, and people in care week by week. Two queries."""
    rows = fetchall(*_scope_sql(_census_tracks, scope))
    census = [
        CensusTrack(track_id=pk, site=site, program=program, track=name, capacity=capacity,
                    active=active, on_hold=on_hold, waitlisted=waiting, offered=offers,
                    seats_free=max(capacity - taken, 0))
        for pk, site, program, name, capacity, active, on_hold, waiting, offers, taken in rows
    ]
    # An enrollment is in care in the week of `monday` when admitted by its Sunday and not
    # discharged before it: its admission's Monday <= monday <= its discharge's Monday. Counted
    # per (admission week, discharge week) first, the weeks are joined to a few hundred rows,
    # whatever the number of enrollments.
    first, last = _mondays(scope)
    rows_sql, rows_params = _scope_sql(_in_care, scope, first, last + timedelta(days=6))
    if connection.vendor != "postgresql":
        return CensusReport(tracks=census, trend=_sqlite_in_care_weeks(
            rows_sql, rows_params, first=first, last=last))
    rows = fetchall(
        "SELECT w.monday, COALESCE(SUM(e.n), 0)::int FROM (SELECT d::date AS monday "
        "FROM generate_series(%s::date, %s::date, interval '7 days') AS d) AS w "
        "LEFT JOIN (SELECT date_trunc('week', r.admission_date)::date AS admitted, "
        "date_trunc('week', r.discharge_date)::date AS discharged, COUNT(*) AS n "
        f"FROM ({rows_sql}) AS r GROUP BY 1, 2) AS e "
        "ON e.admitted <= w.monday AND (e.discharged IS NULL OR e.discharged >= w.monday) "
        "GROUP BY 1 ORDER BY 1", (first, last, *rows_params))
    trend = [WeekCount(week_start=monday, count=count) for monday, count in rows]
    return CensusReport(tracks=census, trend=trend)


def _sqlite_in_care_weeks(rows_sql: str, rows_params: tuple, *, first: date,
                          last: date) -> list[WeekCount]:
    """`census_report`'s weeks in care on SQLite (`make run`), which has no generate_series,
    date_trunc or casts: the Mondays from a recursive CTE, each date's Monday by date()."""
    def monday(column: str) -> str:
        return f"date({column}, 'weekday 0', '-6 days')"

    rows = fetchall(
        "WITH RECURSIVE w(monday) AS (SELECT date(%s) UNION ALL "
        "SELECT date(monday, '+7 days') FROM w WHERE monday < date(%s)) "
        "SELECT w.monday, COALESCE(SUM(e.n), 0) FROM w "
        f"LEFT JOIN (SELECT {monday('r.admission_date')} AS admitted, "
        f"{monday('r.discharge_date')} AS discharged, COUNT(*) AS n "
        f"FROM ({rows_sql}) AS r GROUP BY 1, 2) AS e "
        "ON e.admitted <= w.monday AND (e.discharged IS NULL OR e.discharged >= w.monday) "
        "GROUP BY 1 ORDER BY 1", (first, last, *rows_params))
    return [WeekCount(week_start=date.fromisoformat(monday), count=count)
            for monday, count in rows]


# --- 2. Attendance -------------------------------------------------------------------------

@dataclass
class AttendanceRow:
    label: str
    held_minutes: int
    attended_minutes: int
    excused_minutes: int
    attended: int
    absent: int
    excused: int
    unmarked: int

    # Each figure is worked out once (cached_property): the page reads the rates for the chart
    # and again for the tables.
    @cached_property
    def rate(self) -> Decimal | None:
        return _ratio(self.attended_minutes, self.held_minutes)

    @cached_property
    def no_show_rate(self) -> Decimal | None:
        return _ratio(self.absent, self.attended + self.absent)

    @cached_property
    def held_hours(self) -> Decimal:
        return _hours(self.held_minutes)

    @cached_property
    def attended_hours(self) -> Decimal:
        return _hours(self.attended_minutes)

    @cached_property
    def excused_hours(self) -> Decimal:
        return _hours(self.excused_minutes)


@dataclass
class BelowMinimum:
    week_start: date
    participant_code: str
    participant: str
    record_number: str
    track: str
    minimum_hours: Decimal
    attended_minutes: int
    offered_minutes: int
    ahead_minutes: int
    excused_minutes: int
    unmarked_minutes: int = 0
    today: date | None = None

    @property
    def attended_hours(self) -> Decimal:
        return _hours(self.attended_minutes)

    @property
    def offered_hours(self) -> Decimal:
        return _hours(self.offered_minutes)

    @property
    def ahead_hours(self) -> Decimal:
        return _hours(self.ahead_minutes)

    @cached_property
    def judged(self) -> LedgerWeek:
        """This week as the hours ledger judges it (issue 13's `judge_week`, the one rule);
        judged once, for the reason and its label."""
        sunday = self.week_start + timedelta(days=6)
        iso = self.week_start.isocalendar()
        week = LedgerWeek(
            iso_year=iso.year, iso_week=iso.week, week_start=self.week_start, week_end=sunday,
            days_in_window=7, minimum_hours=self.minimum_hours,
            is_current=self.week_start <= self.today <= sunday, is_finished=sunday < self.today,
            attended_minutes=self.attended_minutes, scheduled_ahead_minutes=self.ahead_minutes,
            offered_minutes=self.offered_minutes, excused_minutes=self.excused_minutes,
            unmarked_minutes=self.unmarked_minutes)
        judge_week(week, minimum=int(self.minimum_hours * 60), is_active=True)
        return week

    @property
    def reason(self) -> str:
        """The ledger's reason: "clinic", "excused", "unmarked" or "participant" for a finished
        week; for the current week "clinic", or "at_risk" (the minimum can no longer be
        reached; the ledger says why only once the week is over)."""
        week = self.judged
        return week.short_reason or ("at_risk" if week.at_risk else ShortReason.PARTICIPANT)

    @property
    def reason_label(self) -> str:
        return REASON_LABELS.get(self.reason) or ShortReason.LABELS[self.reason]


REASON_LABELS = {ShortReason.PARTICIPANT: "Participant missed offered time",
                 "at_risk": "Can no longer reach the minimum this week"}


@dataclass
class AttendanceReport:
    total: AttendanceRow
    by_track: list[AttendanceRow]
    by_kind: list[AttendanceRow]
    by_weekday: list[AttendanceRow]
    by_time_of_day: list[AttendanceRow]
    below_this_week: list[BelowMinimum]
    below_last_week: list[BelowMinimum]
    this_week: date
    last_week: date


_TIME_OF_DAY = (("morning", "Morning (before noon)"), ("afternoon", "Afternoon (noon–5 pm)"),
                ("evening", "Evening (5 pm on)"))


# The cells' keys and sums. Lengths are summed in whole microseconds (bigint, exact) and turned
# into minutes once per report row in Python: PostgreSQL's numeric EXTRACT and a numeric
# division per session were two thirds of the attendance report's SQL at 2,000 participants.
# date_part's double precision holds a session's length exactly to the microsecond.
_CELL_SUMS = ("held_us", "recorded_minutes", "unrecorded_us", "excused_us", "n_attended",
              "n_absent", "n_excused", "n_unmarked")
_CELL_NAMES = ("track_label", "session__kind", "weekday", "part", *_CELL_SUMS)
_SESSION_LENGTH = "(EXTRACT(EPOCH FROM (s.ends_at - s.starts_at)) / 60)"
_SQLITE_SESSION_LENGTH = "(django_timestamp_diff(s.ends_at, s.starts_at) / 60000000.0)"
_SESSION_MICROSECONDS = "(date_part('epoch', s.ends_at - s.starts_at) * 1000000)::bigint"


def _cells_sql(counts_sql: str, where: str = "", *more: tuple[str, str]) -> str:
    """Label and sum per-session counts (attended, absent, excused, unmarked, recorded,
    unrecorded, as `a`; sessions as `s`) into the report's cells; `more` parts (counts, where)
    are grouped so too and added (their parameters after the first part's, in order). A part
    whose counts are `_TALLY` reads the tallies alone, by the session's keys kept on them
    (`_TALLY_HELD`), with no session nor site joined.

    The sessions' counts are first added up per track id, kind, ISO weekday, part of the day
    (0 morning, 1 afternoon, 2 evening) and length: each session's hour in the site's time zone
    and its length are worked out once, as grouping keys, the weekday by integer arithmetic
    (2001-01-01 was a Monday), and the counts summed are integers. Only those groups (a few
    hundred) are then multiplied by their lengths, named and grouped by name: grouping the 2,500
    sessions by the track's name and the part's text, with the track joined to every session
    and the products summed a session, cost about 9 % more at 2,000 participants (2.86
    against 2.61 ms of execution)."""
    track = Track._meta.db_table
    grouped = " UNION ALL ".join(
        f"SELECT {_cells_keys_from(part_counts)} {part_where} GROUP BY 1, 2, 3, 4, 5"
        for part_counts, part_where in ((counts_sql, where), *more))
    return (
        "SELECT COALESCE(t.name, %s) AS track_label, y.kind AS session__kind, y.weekday, "
        "CASE y.part WHEN 2 THEN 'evening' WHEN 1 THEN 'afternoon' ELSE 'morning' END AS part, "
        # (PostgreSQL's SUM of a bigint is numeric; these fit a bigint.)
        "SUM(y.held * y.us)::bigint AS held_us, SUM(y.recorded)::bigint AS recorded_minutes, "
        "SUM(y.unrecorded * y.us)::bigint AS unrecorded_us, "
        "SUM(y.excused * y.us)::bigint AS excused_us, SUM(y.attended)::bigint AS n_attended, "
        "SUM(y.absent)::bigint AS n_absent, SUM(y.excused)::bigint AS n_excused, "
        "SUM(y.unmarked)::bigint AS n_unmarked "
        f"FROM ({grouped}) AS y "
        f"LEFT JOIN {track} t ON t.id = y.track_id GROUP BY 1, 2, 3, 4"
    )


_CELL_COUNTS = ("SUM(a.attended + a.absent) AS held, SUM(COALESCE(a.recorded, 0)) AS recorded, "
                "SUM(a.unrecorded) AS unrecorded, SUM(a.excused) AS excused, "
                "SUM(a.attended) AS attended, SUM(a.absent) AS absent, "
                "SUM(a.unmarked) AS unmarked")
# `_cells_sql`'s counts read from the tallies themselves, the session's keys kept on them.
_TALLY = "tally"


def _cells_keys_from(counts_sql: str) -> str:
    """One part of `_cells_sql`: its keys and summed counts, and what it reads them from."""
    if counts_sql == _TALLY:
        return ("a.track_id, a.kind, a.weekday, a.part, a.length AS us, "
                f"{_CELL_COUNTS.replace('a.recorded', 'a.recorded_minutes')} "
                f"FROM {SessionTally._meta.db_table} a")
    session, site = TherapySession._meta.db_table, Site._meta.db_table
    return (f"s.track_id, s.kind, {_ISO_WEEKDAY} AS weekday, {_PART_OF_DAY} AS part, "
            f"{_SESSION_MICROSECONDS} AS us, {_CELL_COUNTS} FROM ({counts_sql}) AS a "
            f"JOIN {session} s ON s.id = a.session_id JOIN {site} site ON site.id = s.site_id")


_ISO_WEEKDAY = "((s.local_date - DATE '2001-01-01') %% 7 + 7) %% 7 + 1"
_PART_OF_DAY = ("width_bucket(date_part('hour', s.starts_at AT TIME ZONE site.time_zone), "
                "ARRAY[12, 17]::float8[])")
# `_cells_sql` on SQLite (`make run`): Django's own functions for the session's length and its
# hour in the site's zone, the ISO weekday from strftime's (Sunday 0), no casts.
_SQLITE_CELLS = (
    (_ISO_WEEKDAY, "((CAST(strftime('%%w', s.local_date) AS INTEGER) + 6) %% 7 + 1)"),
    (_PART_OF_DAY,
     "CASE WHEN django_datetime_extract('hour', s.starts_at, site.time_zone, 'UTC') >= 17 "
     "THEN 2 WHEN django_datetime_extract('hour', s.starts_at, site.time_zone, 'UTC') >= 12 "
     "THEN 1 ELSE 0 END"),
    (_SESSION_MICROSECONDS, "django_timestamp_diff(s.ends_at, s.starts_at)"),
    ("::bigint AS ", " AS "),
    ("s.site_id = ANY(%s)", "s.site_id IN %s"),
    ("a.site_id = ANY(%s)", "a.site_id IN %s"),
)


def _sqlite_cells(sql: str) -> str:
    # Every cells statement casts its sums; the session's keys are worked out only by the parts
    # that read sessions (the tallies keep them), and the sites are an array only when none.
    assert "::bigint AS " in sql
    if f"{_SESSION_MICROSECONDS} AS us" in sql:
        assert _ISO_WEEKDAY in sql and _PART_OF_DAY in sql
    for postgresql, sqlite in _SQLITE_CELLS:
        sql = sql.replace(postgresql, sqlite)
    return sql


def _uses_tally(scope: ReportScope) -> bool:
    """Whether the per-session tally answers alone: only when every row of every session
    counts, i.e. no caseload filter (per participant) and no program or track filter."""
    return not (scope.clinician_id or scope.program_id or scope.track_id)


def _attendance_cells_sql(scope: ReportScope) -> tuple[str, tuple]:
    """The cells' query: over the held sessions' tallies (one row per session, whatever the
    number of participants) when the scope allows, else over the attendance rows summed per
    session first (a program or track filter: `_attendance_cells_by_track_sql`; a caseload
    alone: `_attendance_cells_caseload_sql`)."""
    if _uses_tally(scope):
        build = _attendance_cells_tally_sql
    elif scope.program_id or scope.track_id:
        build = _attendance_cells_by_track_sql
    else:
        build = _attendance_cells_caseload_sql
    if connection.vendor != "postgresql":
        sql, params = build(scope)
        return _sqlite_cells(sql), tuple(tuple(p) if isinstance(p, list) else p for p in params)
    return build(scope)


# The held sessions of the range, as _held_attendance_q has them, by the sessions (`s`) or by
# their keys kept on the tallies (`a`). A tally left at zero (its rows deleted or all cancelled)
# is a session with no row, as in the live count.
_HELD_KEYS = ("WHERE {k}.site_id = ANY(%s) AND {k}.status = %s AND {k}.local_date >= %s "
              "AND {k}.local_date <= %s AND a.attended + a.absent + a.excused + a.unmarked > 0")
_TALLY_HELD = _HELD_KEYS.format(k="s")


def _tally_held(scope: ReportScope, *, keys: str = "s") -> tuple[str, object]:
    """`_TALLY_HELD` (with `keys="a"`, by the tallies' own keys) and its sites' parameter. The
    sites as `IN ($1, $2)`, one bigint each, not `= ANY($1)`: PostgreSQL costs an array
    parameter of unknown length at ten members, so the generic plan of the prepared cells
    statement (`_attendance_groups`) cost more than the ones made for the values (506 against
    470 at 2,000 participants, the same plan) and it planned every run afresh (0.7-1.1 ms of
    planning per report). No sites: `= ANY` of an empty array (`IN ()` is no SQL)."""
    held = _HELD_KEYS.format(k=keys)
    if not scope.site_ids:
        return held, []
    return held.replace(f"{keys}.site_id = ANY(%s)", f"{keys}.site_id IN %s"), tuple(
        scope.site_ids)


def _attendance_cells_tally_sql(scope: ReportScope) -> tuple[str, tuple]:
    """`_attendance_cells_sql` over the tallies alone: the range's held sessions found by the
    (site, local_date) index of the keys kept on them (migration 0008), with no session nor
    site read. Joined to their sessions, every tally the clinic ever had was read (3,600 at
    2,000 participants, 11,400 with 26 weeks of history) and hash-joined to the range's
    sessions: at 2,000 participants, the default 12 weeks, 4.5-7.8 -> 1.9-2.2 ms of execution,
    with history 10.4-11.6 -> 2.7-3.7 ms (medians of 30, a busy bench machine)."""
    held, sites = _tally_held(scope, keys="a")
    params = ("Individual and family sessions", sites, SessionStatus.SCHEDULED.value,
              scope.date_from, scope.held_until)
    return _cells_sql(_TALLY, held), params


def _attendance_cells_by_track_sql(scope: ReportScope) -> tuple[str, tuple]:
    """`_attendance_cells_sql` under a program or track filter: the sessions with a track in
    the filter apart from the personal sessions (no track), whose rows are each placed by
    their enrollment's track as `_session_track_q` does. Without a caseload every row of a
    session with a track counts, so those come from their tallies alone, by the session's keys
    kept on them: summing every held row of a program from the rows themselves took 145-185 ms
    at 2,000 participants (5 ms from the tallies joined to their sessions). With one, their
    rows are the caseload's, read without the look-up of each row's enrollment the personal
    sessions need: with it, PostgreSQL looked the enrollment up row by
    row (a caseload and its track at 2,000 participants: 12-13 ms, 14 as one count of the rows,
    20-27 with the caseload's ids first and the look-up)."""
    days = (scope.date_from, scope.held_until)
    personal_sql, personal_params = _session_counts_sql(_personal_session_counts, scope, *days)
    # The tracked sessions' keys: the tallies' own without a caseload, else the sessions'.
    keys = "s" if scope.clinician_id else "a"
    if not scope.clinician_id:
        counts = _TALLY
        count_params: tuple = ()
    else:
        # The caseload's rows of the range by their kept session date, counted per session
        # (`_caseload_session_counts_sql`); the sessions in the filter are kept below. Through
        # the held rows of the filter's sessions (an ORM builder), PostgreSQL read
        # every row the caseload ever had by the participant index and dropped those of other
        # dates at the join (a program and a caseload, 26 weeks of history at 2,000
        # participants: 7,139 buffers, 21,333 rows for 1,149 sessions' counts).
        rows_sql, count_params = _caseload_session_counts_sql(scope)
        counts = _FOLD_STATUSES.format(rows_sql)
    # The sessions with a track, in the filter (the personal ones are filtered already).
    where: list[str] = []
    filters: list = []
    if scope.program_id:
        # With a caseload, the program's track ids first (an InitPlan run once), then each
        # session's track among them: as `IN (SELECT ...)` PostgreSQL, expecting a few
        # sessions' counts, looked the track up once per session counted (26 weeks of history
        # at 2,000 participants: 1,149 look-ups, 2,298 of 3,815 buffers). Not without one:
        # the tallies are then counts of every session, and the ids first made PostgreSQL
        # read the program's sessions of every date by the track index (219 -> 488 buffers).
        program_tracks = (f"SELECT pt.id FROM {Track._meta.db_table} pt "
                          "WHERE pt.program_id = %s")
        where.append(f"s.track_id = ANY(ARRAY({program_tracks}))"
                     if scope.clinician_id and connection.vendor == "postgresql"
                     else f"{keys}.track_id IN ({program_tracks})")
        filters.append(scope.program_id)
    if scope.track_id:
        where.append(f"{keys}.track_id = %s")
        filters.append(scope.track_id)
    tracked_sql, sites = _tally_held(scope, keys=keys)
    held_sql, _ = _tally_held(scope)
    held = (sites, SessionStatus.SCHEDULED.value, scope.date_from, scope.held_until)
    # The tracked sessions' counts and the personal ones' are grouped apart, then added up:
    # as one UNION ALL of both counts joined to their sessions (the personal ones kept by a
    # flag), PostgreSQL appended and filtered the 3,600 tallies before the join.
    return _cells_sql(counts, f"{tracked_sql} AND {' AND '.join(where)}",
                      (personal_sql, held_sql)), (
        "Individual and family sessions", *count_params, *held, *filters,
        *personal_params, *held)


def _in_days(scope: ReportScope, first: date, last: date) -> ReportScope:
    """`scope` held from `first` to `last` (a `_scope_sql` builder reads its days so)."""
    return replace(scope, date_from=first, date_to=last, today=last)


def _personal_session_counts(scope: ReportScope, first: date, last: date):
    """The held personal sessions' rows from `first` to `last`, counted per session, each row
    by its enrollment's track (`_held_attendance_q`)."""
    return _per_session_counts(Attendance.objects.filter(
        _held_attendance_q(_in_days(scope, first, last)), session__track__isnull=True))


def _attendance_cells(scope: ReportScope) -> list[dict]:
    """Sums per (track, kind, ISO weekday, part of the day): at most a few hundred rows, which
    the report adds up into its groupings (`_attendance_groups`). One query."""
    return [dict(zip(_CELL_NAMES, row, strict=True))
            for row in fetchall(*_attendance_cells_sql(scope))]


def _attendance_cells_live_sql(scope: ReportScope) -> tuple[str, tuple]:
    """`_attendance_cells_sql` from the attendance rows themselves: attendance is summed per
    session first (a cheap grouping on a key), then the sessions' sums are labelled and grouped.
    The definition the tests hold the tally's and the caseload's cells to."""
    inner_sql, params = _session_counts_sql(_held_session_counts, scope, scope.date_from,
                                            scope.held_until)
    return _cells_sql(inner_sql), ("Individual and family sessions", *params)


def _attendance_cells_caseload_sql(scope: ReportScope) -> tuple[str, tuple]:
    """`_attendance_cells_sql` for a caseload alone (no program or track filter): the
    caseload's rows counted per session whatever the session (`_caseload_session_counts`),
    then only the held sessions of the range kept, as the tallies are (`_TALLY_HELD`). Keeping
    the held sessions' rows first joined each of the caseload's rows to its session (18,000
    rows at 2,000 participants); now only the sessions' counts are (180): with the counts by
    status first (`_per_session_counts`), 8.5 -> 6.1 ms of execution (best of 20,
    interleaved, on a loaded host)."""
    assert scope.clinician_id and not (scope.program_id or scope.track_id), scope
    rows_sql, params = _caseload_session_counts_sql(scope)
    counts_sql = _FOLD_STATUSES.format(rows_sql)
    held, sites = _tally_held(scope)
    return _cells_sql(counts_sql, held), (
        "Individual and family sessions", *params, sites, SessionStatus.SCHEDULED.value,
        scope.date_from, scope.held_until)


def _held_session_counts(scope: ReportScope, first: date, last: date):
    """The scope's held rows from `first` to `last`, counted per session and status."""
    return _per_session_counts(Attendance.objects.filter(
        _held_attendance_q(_in_days(scope, first, last))))


def _caseload_session_counts_sql(scope: ReportScope) -> tuple[str, tuple]:
    """The caseload's rows not cancelled by the clinic, of the sessions dated in the range,
    counted per session and status as `_per_session_counts` counts them (the held sessions are
    chosen afterwards: `_attendance_cells_caseload_sql`). Written out: it reads no site, which a
    `_scope_sql` builder must.

    The rows are found by their session's date kept on the row (`session_date`, migration
    iop_sessions 0013, kept on SQLite too), on PostgreSQL in the (participant, date) index:
    through the participant index alone, each participant's rows of every earlier stay were
    read too and dropped only once joined to their sessions (with 26 weeks of history at 2,000
    participants, 69,237 rows for 18,000). The session's own date is still what decides
    (`_TALLY_HELD`)."""
    attendance, participant = Attendance._meta.db_table, Participant._meta.db_table
    caseload = f"SELECT p.id FROM {participant} p WHERE p.primary_clinician_id = %s"
    # The caseload's ids first, then their rows of the range by the (participant, date) index
    # (`_caseload_q`); SQLite has no arrays.
    among = (f"= ANY(ARRAY({caseload}))" if connection.vendor == "postgresql"
             else f"IN ({caseload})")
    return (
        "SELECT a.session_id, a.status, CAST(COUNT(*) AS integer) AS n, "
        "CAST(COUNT(a.minutes_attended) AS integer) AS n_minutes, "
        "CAST(SUM(a.minutes_attended) AS integer) AS minutes "
        f"FROM {attendance} a WHERE a.status <> %s AND a.participant_id {among} "
        "AND a.session_date >= %s AND a.session_date <= %s GROUP BY 1, 2",
        (AttendanceStatus.CANCELLED.value, scope.clinician_id, scope.date_from,
         scope.held_until))


def _per_session_counts(rows):
    """The attendance `rows` counted per session and status (no arithmetic per row; lengths
    are applied once per session): session_id, status, n (rows), n_minutes (rows with
    minutes_attended) and minutes (their sum), as integers. `_session_counts_sql` folds the
    statuses into each session's counts. Grouping by the status and counting is cheaper for
    PostgreSQL than six counts a row, each with its own test of the status (a caseload's
    18,000 rows at 2,000 participants: about 2 ms less)."""
    return (
        rows.values("session_id", "status").order_by()
        .annotate(n=Cast(Count("pk"), IntegerField()),
                  n_minutes=Cast(Count("minutes_attended"), IntegerField()),
                  minutes=Cast(Sum("minutes_attended"), IntegerField()))
    )


def _in_sql(values) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


# `_per_session_counts`' rows of one session folded into its counts: session_id, recorded
# (minutes_attended of the attended rows; NULL when none has any), unrecorded, attended,
# absent, excused, unmarked (integers). The statuses are the code's constants.
_FOLD_STATUSES = (
    "SELECT g.session_id, "
    f"SUM(g.minutes) FILTER (WHERE g.status IN {_in_sql(ATTENDED)}) AS recorded, "
    f"COALESCE(SUM(g.n - g.n_minutes) FILTER (WHERE g.status IN {_in_sql(ATTENDED)}), 0) "
    "AS unrecorded, "
    f"COALESCE(SUM(g.n) FILTER (WHERE g.status IN {_in_sql(ATTENDED)}), 0) AS attended, "
    f"COALESCE(SUM(g.n) FILTER (WHERE g.status = '{AttendanceStatus.ABSENT.value}'), 0) "
    "AS absent, "
    f"COALESCE(SUM(g.n) FILTER (WHERE g.status = '{AttendanceStatus.EXCUSED.value}'), 0) "
    "AS excused, "
    f"COALESCE(SUM(g.n) FILTER (WHERE g.status = '{AttendanceStatus.EXPECTED.value}'), 0) "
    "AS unmarked "
    "FROM ({}) AS g GROUP BY 1")


def _session_counts_sql(build, scope: ReportScope, *days: date) -> tuple[str, tuple]:
    """The per-session counts of `build`'s rows (`_per_session_counts`): session_id, recorded,
    unrecorded, attended, absent, excused, unmarked."""
    sql, params = _scope_sql(build, scope, *days)
    return _FOLD_STATUSES.format(sql), params


def _attendance_cells_live(scope: ReportScope) -> list[dict]:
    """`_attendance_cells` from the attendance rows themselves."""
    return [dict(zip(_CELL_NAMES, row, strict=True))
            for row in fetchall(*_attendance_cells_live_sql(scope))]


def _dates_written(params) -> tuple:
    """`params` with each date as its ISO text, which iop_clinic.prepared writes into the
    prepared statement (a str is a constant there) instead of leaving a `$n`: PostgreSQL's
    generic plan then knows the range it reads, as a plan made for the values would. As `$n`
    the cells' range was guessed at a few sessions (nested loops, 5.5 against 3.4 ms at 2,000
    participants) and the below-minimum list's windows at a few enrollments (about 0.5 ms
    slower). One statement per date range, kept at most MAX_PER_CONNECTION on a connection:
    the below-minimum dates follow from today's, the cells' from the filter's (a page's
    default range changes once a day). Dates only: a time written in would make a statement
    per request."""
    return tuple(param.isoformat() if type(param) is date else param for param in params)


_NO_SUMS = (0,) * len(_CELL_SUMS)
_GROUPINGS = ("all", "track_label", "session__kind", "weekday", "part")


def _attendance_groups(scope: ReportScope) -> dict[str, dict]:
    """The cells added up by each of `_GROUPINGS` ("all" for one group, or a cell's key): per
    grouping, each key's sums (a tuple in `_CELL_SUMS`' order). One query: PostgreSQL adds the
    cells up (GROUPING SETS over the few hundred cells), which cost less than half of what adding
    them up here did (about 0.1 against 0.7 ms at 2,000 participants, and 32 rows fetched
    instead of 200)."""
    if connection.vendor != "postgresql":  # SQLite (`make run`): no GROUPING SETS
        return _sqlite_attendance_groups(_attendance_cells(scope))
    cells_sql, params = _attendance_cells_sql(scope)
    keys = ", ".join(_GROUPINGS[1:])
    sums = ", ".join(f"SUM({name})::bigint" for name in _CELL_SUMS)
    # Prepared once a connection (iop_clinic.prepared), the dates written into the statement
    # (`_dates_written`): planning it was ~0.45 ms of the report at 2,000 participants.
    sets = ", ".join(f"({key})" for key in _GROUPINGS[1:])
    rows = fetchall(f"SELECT GROUPING({keys}), {keys}, {sums} FROM ({cells_sql}) AS c "
                    f"GROUP BY GROUPING SETS ((), {sets})", _dates_written(params), prepare=True)
    found: dict[str, dict] = {grouping: {} for grouping in _GROUPINGS}
    # GROUPING() sets a bit for each key left out, the first key's the highest: grouped by the
    # i-th key, only its bit is clear. Grouped by none, the sums are NULL when there is no cell.
    n_keys = len(_GROUPINGS) - 1
    by_mask = {(1 << n_keys) - 1: 0} | {
        ((1 << n_keys) - 1) ^ (1 << (n_keys - i)): i for i in range(1, n_keys + 1)}
    for mask, *values in rows:
        index = by_mask[mask]
        key = "all" if index == 0 else values[index - 1]
        found[_GROUPINGS[index]][key] = tuple([value or 0 for value in values[n_keys:]])
    return found


def _sqlite_attendance_groups(cells: list[dict]) -> dict[str, dict]:
    """`_attendance_groups` added up in Python from the cells (SQLite has no GROUPING SETS)."""
    found: dict[str, dict] = {grouping: {} for grouping in _GROUPINGS}
    for cell in cells:
        sums = tuple(int(cell[name] or 0) for name in _CELL_SUMS)
        for grouping in _GROUPINGS:
            key = "all" if grouping == "all" else cell[grouping]
            before = found[grouping].get(key, _NO_SUMS)
            found[grouping][key] = tuple(a + b for a, b in zip(before, sums, strict=True))
    found["all"].setdefault("all", _NO_SUMS)
    return found


# `_below_minimum`'s statement on SQLite (`make run`): no casts or arrays, in this order (the
# specific ones before the casts they contain).
_SQLITE_BELOW = (
    ("h.session_type_id = ANY(ARRAY(", "h.session_type_id IN ("),
    ("st.counts_toward_hours))", "st.counts_toward_hours)"),
    ("(e.track__program__min_weekly_hours * 60)::int",
     "CAST(ROUND(e.track__program__min_weekly_hours * 60) AS INTEGER)"),
    ("::bigint", ""),
    ("::date", ""),
    ("::int", ""),
)


def _sqlite_below_fetch(sql: str, params: tuple) -> list[tuple]:
    for postgresql, sqlite in _SQLITE_BELOW:
        assert postgresql in sql, postgresql
        sql = sql.replace(postgresql, sqlite)
    return fetchall(sql, tuple(tuple(p) if isinstance(p, list) else p for p in params))


def _whole_minutes(microseconds) -> int:
    """Microseconds (an int, or PostgreSQL's numeric sum of bigints) as whole minutes, rounded
    half to even as round() did on the minutes PostgreSQL used to sum."""
    quotient, remainder = divmod(int(microseconds), MICROSECONDS_PER_MINUTE)
    # round(Fraction(microseconds, MICROSECONDS_PER_MINUTE)) in integers, a fifth of its time.
    twice = 2 * remainder
    return quotient + (twice > MICROSECONDS_PER_MINUTE
                       or (twice == MICROSECONDS_PER_MINUTE and quotient % 2 == 1))


def _attendance_row(label: str, sums: tuple) -> AttendanceRow:
    held_us, recorded, unrecorded_us, excused_us, attended, absent, excused, unmarked = sums
    return AttendanceRow(
        label=label, held_minutes=_whole_minutes(held_us),
        attended_minutes=_whole_minutes(recorded * MICROSECONDS_PER_MINUTE + unrecorded_us),
        excused_minutes=_whole_minutes(excused_us), attended=attended, absent=absent,
        excused=excused, unmarked=unmarked)


def _below_enrollments(scope: ReportScope, admitted_by: date, ends_from: date):
    """The enrollments `_below_minimum` weighs: admitted by the last week's Monday, not ended
    (or planned to end) before the first week's Sunday, in a program with a weekly minimum."""
    return (
        Enrollment.objects.filter(_enrollment_q(scope), status__in=ADMITTED,
                                  admission_date__lte=admitted_by,
                                  track__program__min_weekly_hours__gt=0)
        # As one expression, the one `enrollment_ends_idx` indexes (participants 0008): the
        # stays not over by the first week's Sunday come from the index. As "discharged then or
        # later, or not discharged and planned to end then or later", PostgreSQL read every
        # stay ever (8,040 with 26 weeks of history at 2,000 participants, for 2,040) and
        # guessed 64 of them.
        .alias(ends=ENDS).filter(ends__gte=ends_from)
        .order_by()
        .values("id", "participant_id", "track_id", "track__program__min_weekly_hours",
                "admission_date", "discharge_date", "planned_end_date")
    )


def _below_minimum(scope: ReportScope, mondays: tuple[date, ...]) -> dict[date, list[BelowMinimum]]:
    """Per week from each of `mondays`: the enrollments whose full ISO week is under the
    program minimum. One query for all the weeks: the week's minutes per participant come from
    the trigger-kept sums (`WeekHours`, a row per person, week and session type); only the rows
    still unmarked on the week's days before today are read from attendance (the sums cannot
    know which day is today): they are "unmarked" rather than ahead.

    Each week keeps the scope's enrollments in its window (admitted by its Monday, not
    discharged or planned to end before its Sunday). Below the minimum is: attended + expected
    - unmarked < minimum (unmarked in microseconds, as the cells sum lengths). The query works
    an enrollment at a time, not an enrollment-week: each week's sums and the unmarked time
    (a column a week) are grouped per participant (one key, 2,000 rows at 2,000 participants)
    and joined to the enrollments by participant, so no enrollment-week (4,000) is made, hashed
    and matched on two keys, and the week sums' 8,000 rows no longer go through a UNION with
    the unmarked ones. Only the sessions whose tally has rows still unmarked are looked up in
    attendance (the tally is kept by triggers, as the week sums are; a session is cheaper to
    look up there than in the attendance index). The few enrollments found below are then
    split into their weeks. 4.4 -> 3.5 ms of execution at 2,000 participants (0.15 ms more
    planning); in a clinic that leaves a fifth of a fortnight's rows unmarked, no slower. Both
    weeks' sums are grouped in one pass over their rows (a FILTER a week) and joined once, and
    the names of those found come by a join, not five subqueries a row: 4.2 -> 3.9 ms of
    execution and 1.09 -> 0.91 ms of planning (minimums of 80, interleaved). The pass over
    every participant's rows sums only what the test reads (attended + expected, one sum a
    week instead of four); the four figures shown are summed afterwards for the few found,
    from their own rows (the week sums' unique index): 4.3 -> 3.5 ms of execution (plans
    made for the values, medians of 30, interleaved). What is done once an enrollment is
    integer arithmetic (the week sums add integers; the minimum, numeric(4, 1) hours, is a
    whole number of minutes). Names are read for the few enrollments found short only."""
    first, last = min(mondays), max(mondays)
    sundays = [monday + timedelta(days=6) for monday in mondays]
    e_sql, e_params = _scope_sql(_below_enrollments, scope, last, first + timedelta(days=6))
    hours, session_type = WeekHours._meta.db_table, SessionType._meta.db_table
    attendance, session = Attendance._meta.db_table, TherapySession._meta.db_table
    participant, track = Participant._meta.db_table, Track._meta.db_table
    tally = SessionTally._meta.db_table
    weeks = range(len(mondays))
    sums = ("attended", "offered", "expected", "excused")
    counted = (f"h.session_type_id = ANY(ARRAY("
               f"SELECT st.id FROM {session_type} st WHERE st.counts_toward_hours))")

    def in_window(table: str) -> str:  # params: the week's Monday and Sunday (as ENDS)
        return (f"{table}.admission_date <= %s "
                f"AND COALESCE({table}.discharge_date, {table}.planned_end_date) >= %s")

    def short(total: str, minimum: str, unmarked: str) -> str:
        # Below the minimum: attended + expected (the total) - unmarked < minimum, in
        # microseconds.
        return f"({total} - {minimum})::bigint * {MICROSECONDS_PER_MINUTE} < {unmarked}"

    # Below in some week i: in its window and short (params: each week's Monday and Sunday).
    below = " OR ".join(
        f"({in_window('e')} AND "
        + short(f"COALESCE(w.total{i}, 0)", "(e.track__program__min_weekly_hours * 60)::int",
                f"COALESCE(u.unmarked{i}, 0)")
        + ")" for i in weeks)
    # Prepared once a connection on PostgreSQL (iop_clinic.prepared): planning it took ~1.1 ms
    # of the report at 2,000 participants. A statement per shape of scope (number of sites,
    # filters), as `_scope_sql` compiles them, and per today: its dates are written into the
    # statement (`_dates_written`), so that the generic plan is the one made for them.
    fetch = (partial(fetchall, prepare=True) if connection.vendor == "postgresql"
             else _sqlite_below_fetch)
    # A caseload's participants' week sums only (the enrollments' own, a twentieth of a
    # clinic's): everyone else's would be grouped for nothing (generic plans at 2,000
    # participants: 5.7 -> 5.1 ms for a caseload, 5.4 -> 3.8 with its track). Not the unmarked
    # rows: limited too, they were read participant by participant (8 ms with a track filter).
    caseload = (" AND {}.participant_id IN (SELECT e.participant_id FROM e)"
                if scope.clinician_id else "")
    rows = fetch(
        f"WITH e AS ({e_sql}), "
        # Attended + expected minutes per participant in each week (a column a week), of the
        # session types that count toward the hours: the weeks' rows grouped in one pass.
        + "w AS (SELECT h.participant_id, "
        + ", ".join("SUM(h.attended_minutes::int + h.expected_minutes::int) "
                    f"FILTER (WHERE h.week = %s) AS total{i}" for i in weeks)
        + f" FROM {hours} h WHERE h.week IN ({', '.join(['%s'] * len(mondays))}) "
        f"AND {counted}{caseload.format('h')} GROUP BY 1), "
        # The held sessions before today with rows still unmarked, of the types that count:
        # found by the tallies' kept keys (the (site, day) index, every site: a participant's
        # sessions elsewhere count too), each tally's session read by key for its type, once
        # (MATERIALIZED: joined with the rows, PostgreSQL read the session again for each
        # unmarked row, 1,311 look-ups with 26 weeks of history). A look-up of each session's
        # tally, as before, read 420 tallies and their sessions at 2,000 participants: 1,515 ->
        # 260 buffers, with history 1,954 -> 1,023 and 9.3-9.6 -> 8.2-8.5 ms (medians of 30
        # and 40, interleaved, TIMING OFF).
        + f"ut AS MATERIALIZED (SELECT ta.session_id, ta.local_date, ta.length FROM {tally} ta "
        f"JOIN {session} s ON s.id = ta.session_id "
        f"JOIN {session_type} st ON st.id = s.session_type_id AND st.counts_toward_hours "
        f"WHERE ta.site_id IN (SELECT si.id FROM {Site._meta.db_table} si) "
        "AND ta.local_date >= %s AND ta.local_date <= %s AND ta.local_date < %s "
        "AND ta.status = %s AND ta.unmarked > 0), "
        # The microseconds still unmarked per participant at each week's held sessions before
        # today (params: each week's Monday and Sunday), the sessions' lengths kept on the
        # tallies.
        + "u AS (SELECT a.participant_id, "
        + ", ".join("(SUM(ut.length) FILTER (WHERE ut.local_date >= %s "
                    f"AND ut.local_date <= %s))::bigint AS unmarked{i}" for i in weeks)
        + f" FROM ut JOIN {attendance} a ON a.session_id = ut.session_id WHERE a.status = %s"
        " GROUP BY 1), "
        # The enrollments below in some week, with each week's total and unmarked time.
        "c AS MATERIALIZED (SELECT e.id, e.participant_id, e.track_id, e.admission_date, "
        "e.discharge_date, e.planned_end_date, e.track__program__min_weekly_hours AS minimum, "
        "(e.track__program__min_weekly_hours * 60)::int AS minimum_minutes, "
        + ", ".join(f"COALESCE(w.total{i}, 0) AS total{i}, "
                    f"COALESCE(u.unmarked{i}, 0) AS unmarked{i}" for i in weeks)
        + " FROM e LEFT JOIN w ON w.participant_id = e.participant_id "
        f"LEFT JOIN u ON u.participant_id = e.participant_id WHERE {below}), "
        # Those below, week by week.
        "b AS ("
        + " UNION ALL ".join(
            "SELECT %s::date AS monday, c.id, c.participant_id, c.track_id, c.minimum, "
            f"c.unmarked{i} AS unmarked FROM c WHERE {in_window('c')} AND "
            + short(f"c.total{i}", "c.minimum_minutes", f"c.unmarked{i}")
            for i in weeks)
        + ") "
        # Their week's four sums, from their own rows of the week sums.
        "SELECT b.monday, p.code, p.first_name, p.last_name, p.record_number, t.name, b.minimum, "
        + ", ".join(f"COALESCE(SUM(h.{name}_minutes::int), 0)" for name in sums)
        + ", b.unmarked "
        f"FROM b JOIN {participant} p ON p.id = b.participant_id "
        f"JOIN {track} t ON t.id = b.track_id "
        f"LEFT JOIN {hours} h ON h.week = b.monday AND h.participant_id = b.participant_id "
        f"AND {counted} "
        "GROUP BY b.monday, b.id, p.id, t.id, b.minimum, b.unmarked "
        "ORDER BY b.monday, p.last_name, p.first_name, b.id",
        _dates_written((
            *e_params, *mondays, *mondays,
            first, last + timedelta(days=6), scope.today, SessionStatus.SCHEDULED.value,
            *(day for monday, sunday in zip(mondays, sundays, strict=True)
              for day in (monday, sunday)),
            AttendanceStatus.EXPECTED.value,
            *(day for monday, sunday in zip(mondays, sundays, strict=True)
              for day in (monday, sunday)),
            *(day for monday, sunday in zip(mondays, sundays, strict=True)
              for day in (monday, monday, sunday)))))
    found: dict[date, list[BelowMinimum]] = {monday: [] for monday in mondays}
    if connection.vendor != "postgresql":  # SQLite: the week, code and minimum as text/real
        rows = [(date.fromisoformat(row[0]), uuid.UUID(row[1]), *row[2:6],
                 Decimal(str(row[6])), *row[7:]) for row in rows]
    for monday, code, first_name, last_name, record, track, minimum, att, off, expected, exc, \
            unmarked_us in rows:
        found[monday].append(BelowMinimum(
            week_start=monday, participant_code=str(code), participant=f"{last_name}, {first_name}",
            record_number=record, track=track, minimum_hours=Decimal(minimum),
            attended_minutes=att, offered_minutes=off,
            ahead_minutes=_whole_minutes(expected * MICROSECONDS_PER_MINUTE - unmarked_us),
            excused_minutes=exc, unmarked_minutes=_whole_minutes(unmarked_us), today=scope.today))
    return found


def attendance_report(*, scope: ReportScope) -> AttendanceReport:
    """Rates overall and by track, kind, weekday and time of day; who is below the weekly
    minimum this week and last. Two queries."""
    groups = _attendance_groups(scope)
    total = groups["all"].get("all", _NO_SUMS)
    kinds, weekdays = dict(SessionKind.choices), dict(Weekday.choices)
    by_track = sorted(groups["track_label"].items())
    by_kind = sorted(groups["session__kind"].items())
    by_weekday = sorted(groups["weekday"].items())
    by_part = groups["part"]
    this_monday = scope.today - timedelta(days=scope.today.weekday())
    last_monday = this_monday - timedelta(days=7)
    below = _below_minimum(scope, (this_monday, last_monday))
    return AttendanceReport(
        total=_attendance_row("All sessions", total),
        by_track=[_attendance_row(label, values) for label, values in by_track],
        by_kind=[_attendance_row(str(kinds.get(kind, kind)), values) for kind, values in by_kind],
        by_weekday=[_attendance_row(str(weekdays[day - 1]), values)
                    for day, values in by_weekday],
        by_time_of_day=[_attendance_row(label, by_part[key]) for key, label in _TIME_OF_DAY
                        if key in by_part],
        below_this_week=below[this_monday], below_last_week=below[last_monday],
        this_week=this_monday,
        last_week=last_monday)


# --- 3. Outcomes ---------------------------------------------------------------------------

@dataclass
class ReasonCount:
    key: str
    label: str
    count: int


@dataclass
class OutcomesReport:
    admissions: int
    readmissions: int
    discharges: list[ReasonCount]
    discharged: int
    completed: int
    stay_days_mean: Decimal | None
    stay_days_median: Decimal | None
    stay_hours_mean: Decimal | None
    stay_hours_median: Decimal | None
    step_down: list[ReasonCount]

    @property
    def completion_rate(self) -> Decimal | None:
        return _ratio(self.completed, self.discharged)


def _admitted_in(scope: ReportScope, first: date, last: date):
    return Enrollment.objects.filter(
        _enrollment_q(scope), status__in=ADMITTED,
        admission_date__gte=first, admission_date__lte=last,
    ).order_by().values("id", "participant_id", "admission_date")


def _ended_in(scope: ReportScope, first: date, last: date):
    return Enrollment.objects.filter(
        _enrollment_q(scope), status__in=EnrollmentStatus.ended(),
        discharge_date__gte=first, discharge_date__lte=last,
    ).order_by().annotate(
        days=DaysBetween(F("discharge_date"), F("admission_date")) + 1,
    ).values("id", "days", "status", "discharge_reason", "admission_date", "discharge_date")


def outcomes_report(*, scope: ReportScope) -> OutcomesReport:
    """Admissions, discharges by reason, completion, length of stay, step-down. One query: the
    enrollments admitted in the range (`a`) and those ended in it (`e`) are each compiled once
    and read once, and each measure is a row of the answer."""
    a_sql, a_params = _scope_sql(_admitted_in, scope, scope.date_from, scope.date_to)
    e_sql, e_params = _scope_sql(_ended_in, scope, scope.date_from, scope.date_to)
    enrollment, plan = Enrollment._meta.db_table, ContinuingCarePlan._meta.db_table
    attendance, session = Attendance._meta.db_table, TherapySession._meta.db_table
    session_type = SessionType._meta.db_table
    admitted_statuses = [str(status) for status in ADMITTED]
    attended_statuses = [str(status) for status in ATTENDED]
    # SQLite (`make run`): IN tuples for arrays, no casts, and the medians (no percentile_cont)
    # from the stays themselves, read by a second statement.
    native = connection.vendor == "postgresql"
    any_of = "= ANY(%s)" if native else "IN %s"
    length = _SESSION_LENGTH if native else _SQLITE_SESSION_LENGTH
    nulls = "NULL::numeric, NULL::float8, NULL::numeric, NULL::float8" if native else (
        "NULL, NULL, NULL, NULL")
    days_median, hours_median = (
        ("percentile_cont(0.5) WITHIN GROUP (ORDER BY e.days)",
         "percentile_cont(0.5) WITHIN GROUP (ORDER BY COALESCE(h.m, 0) / 60.0)")
        if native else ("NULL", "NULL"))
    if not native:
        admitted_statuses, attended_statuses = tuple(admitted_statuses), tuple(attended_statuses)
    # Length of stay in attended hours: the hours attended (sessions counting toward the weekly
    # hours) on the enrollment's own rows, admission to discharge. PostgreSQL keeps them per
    # stay and session type (sessions.StayHours, by triggers), so a stay is a row or two, not
    # every row it attended; SQLite (`make run`) sums the rows.
    if native:
        h_sql, h_params = (
            "h AS (SELECT k.enrollment_id, SUM(k.attended_microseconds) / 60000000.0 AS m "
            f"FROM {StayHours._meta.db_table} k JOIN e ON e.id = k.enrollment_id "
            f"JOIN {session_type} st ON st.id = k.session_type_id AND st.counts_toward_hours "
            "GROUP BY 1) "), ()
    else:
        h_sql, h_params = (
            "h AS (SELECT r.enrollment_id, "
            f"SUM(COALESCE(r.minutes_attended, {length})) AS m FROM {attendance} r "
            f"JOIN e ON e.id = r.enrollment_id JOIN {session} s ON s.id = r.session_id "
            f"JOIN {session_type} st ON st.id = s.session_type_id AND st.counts_toward_hours "
            f"WHERE r.status {any_of} AND s.status = %s AND s.local_date >= e.admission_date "
            "AND s.local_date <= e.discharge_date GROUP BY 1) "), (
            attended_statuses, SessionStatus.SCHEDULED.value)
    with_sql = f"WITH a AS ({a_sql}), e AS ({e_sql}), {h_sql}"
    measures = fetchall(
        with_sql +
        # (what, key, count, a second count, days mean, days median, hours mean, hours median)
        "SELECT 'admitted', NULL, COUNT(*), COUNT(*) FILTER (WHERE EXISTS ("
        f"SELECT 1 FROM {enrollment} earlier WHERE earlier.participant_id = a.participant_id "
        f"AND earlier.status {any_of} AND earlier.admission_date < a.admission_date)), "
        f"{nulls} FROM a "
        # Over the ended enrollments joined once to their hours, so each stay counts once.
        "UNION ALL SELECT 'stay', NULL, COUNT(*), COUNT(*) FILTER (WHERE e.status = %s), "
        f"AVG(e.days), {days_median}, "
        "AVG(COALESCE(h.m, 0) / 60.0), "
        f"{hours_median} "
        "FROM e LEFT JOIN h ON h.enrollment_id = e.id "
        "UNION ALL SELECT 'reason', e.discharge_reason, COUNT(*), NULL, NULL, NULL, NULL, NULL "
        "FROM e GROUP BY 2 "
        "UNION ALL SELECT 'plan', p.step_down_level, COUNT(*), NULL, NULL, NULL, NULL, NULL "
        f"FROM {plan} p WHERE p.enrollment_id IN (SELECT id FROM e) GROUP BY 2",
        (*a_params, *e_params, *h_params, admitted_statuses, EnrollmentStatus.COMPLETED.value))
    if not native:
        stays = fetchall(with_sql + "SELECT e.days, COALESCE(h.m, 0) / 60.0 FROM e "
                       "LEFT JOIN h ON h.enrollment_id = e.id",
                       (*a_params, *e_params, *h_params))
        medians = ((statistics.median(row[0] for row in stays),
                    statistics.median(row[1] for row in stays))
                   if stays else (None, None))
        measures = [(*row[:5], medians[0], row[6], medians[1]) if row[0] == "stay" else row
                    for row in measures]
    found: dict[str, dict] = {"reason": {}, "plan": {}}
    for what, key, n, second, days_mean, days_median, hours_mean, hours_median in measures:
        if what == "admitted":
            admissions, readmissions = n, second
        elif what == "stay":
            discharged, completed = n, second
            stay = (days_mean, days_median, hours_mean, hours_median)
        else:
            found[what][key] = n
    discharges = [ReasonCount(key=key, label=str(label), count=found["reason"].get(key, 0))
                  for key, label in DischargeReason.choices]
    step_down = [ReasonCount(key=key, label=str(label), count=found["plan"].get(key, 0))
                 for key, label in StepDownLevel.choices]
    days_mean, days_median, hours_mean, hours_median = stay
    return OutcomesReport(
        admissions=admissions, readmissions=readmissions, discharges=discharges,
        discharged=discharged, completed=completed,
        stay_days_mean=_decimal(days_mean), stay_days_median=_decimal(days_median),
        stay_hours_mean=_decimal(hours_mean), stay_hours_median=_decimal(hours_median),
        step_down=step_down)


# --- 4. Access -----------------------------------------------------------------------------

@dataclass
class AccessReport:
    admitted: int
    wait_median_days: Decimal | None
    wait_p90_days: Decimal | None
    wait_mean_days: Decimal | None
    waitlist_trend: list[WeekCount]
    waiting_now: int
    offers_open: int
    left_waitlist: int


# On the waitlist on the Sunday of the week from w.monday (SQL over an enrollment as e.*):
# waitlisted by then, and not yet admitted or withdrawn.
_WAITING_ON_SUNDAY = (
    "e.waitlisted_at IS NOT NULL AND e.waitlisted_at::date <= w.monday + 6 AND ("
    "e.status = 'waitlisted' OR (e.status IN ('" + "', '".join(ADMITTED) + "') "
    "AND e.admission_date > w.monday + 6) "
    "OR (e.status = 'withdrawn' AND e.updated_at::date > w.monday + 6))")
# The same on SQLite (`make run`), whose dates and times are text.
_WAITING_ON_SUNDAY_SQLITE = (
    "e.waitlisted_at IS NOT NULL AND date(e.waitlisted_at) <= date(w.monday, '+6 days') AND ("
    "e.status = 'waitlisted' OR (e.status IN ('" + "', '".join(ADMITTED) + "') "
    "AND e.admission_date > date(w.monday, '+6 days')) "
    "OR (e.status = 'withdrawn' AND date(e.updated_at) > date(w.monday, '+6 days')))")


def _percentile_cont(values: list, fraction: float) -> float | None:
    """PostgreSQL's percentile_cont over `values`: linear between the two nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _access_enrollments(scope: ReportScope):
    return Enrollment.objects.filter(_enrollment_q(scope)).order_by().annotate(
        wait=WaitDays(F("admission_date"), F("created_at"), F("track__site__time_zone")),
        changed_on=TruncDate("updated_at"),
    ).values("id", "status", "admission_date", "waitlisted_at", "seat_offered_at", "updated_at",
             "wait", "changed_on")


def access_report(*, scope: ReportScope) -> AccessReport:
    """Referral-to-admission wait, the waitlist week by week, offers. One query: the scope's
    enrollments are compiled once (with each one's wait and the day of its last change, in
    the current time zone as a `__date` lookup reads it); each measure is a row of the answer,
    a week's count a row a week."""
    m_sql, m_params = _scope_sql(_access_enrollments, scope)
    first, last = _mondays(scope)
    waitlisted, withdrawn = EnrollmentStatus.WAITLISTED.value, EnrollmentStatus.WITHDRAWN.value
    if connection.vendor != "postgresql":
        return _sqlite_access_report(scope, m_sql, m_params, first=first, last=last)
    rows = fetchall(
        # Not materialized: each branch then computes only the columns it reads (the wait and
        # the day of the last change take a time zone conversion a row) and filters as it
        # scans (3.2 -> 2.5 ms at 2,000 participants, planning included).
        f"WITH e AS NOT MATERIALIZED ({m_sql}) "
        # (what, week, count, second count, third count, median, 90th percentile, mean)
        "SELECT 'wait', NULL::date, COUNT(*), NULL::bigint, NULL::bigint, "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY e.wait), "
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY e.wait), AVG(e.wait) FROM e "
        "WHERE e.status = ANY(%s) AND e.admission_date >= %s AND e.admission_date <= %s "
        "UNION ALL SELECT 'now', NULL, COUNT(*) FILTER (WHERE e.status = %s), "
        "COUNT(*) FILTER (WHERE e.status = %s AND e.seat_offered_at IS NOT NULL), "
        "COUNT(*) FILTER (WHERE e.status = %s AND e.waitlisted_at IS NOT NULL "
        "AND e.changed_on >= %s AND e.changed_on <= %s), NULL, NULL, NULL FROM e "
        # Each of the three counts is of someone put on a waitlist (a waitlisted stay has the
        # time, enrollment_waitlisted_has_time): without this the arm read every stay the
        # clinic ever had (26 weeks of history at 2,000 participants, 8,040 rows for 40; the
        # statement 3.22 -> 1.93 ms, 1.62 -> 1.28 ms without history, medians of 30).
        "WHERE e.waitlisted_at IS NOT NULL "
        "UNION ALL SELECT 'week', w.monday, COUNT(e.id), NULL, NULL, NULL, NULL, NULL FROM ("
        "SELECT d::date AS monday FROM generate_series(%s::date, %s::date, interval '7 days') "
        f"AS d) AS w LEFT JOIN e ON {_WAITING_ON_SUNDAY} GROUP BY 2 ORDER BY 1, 2",
        (*m_params, [str(status) for status in ADMITTED], scope.date_from, scope.date_to,
         waitlisted, waitlisted, withdrawn, scope.date_from, scope.date_to, first, last))
    trend = []
    for what, monday, n, second, third, median, p90, mean in rows:
        if what == "wait":
            admitted, waits = n, (median, p90, mean)
        elif what == "now":
            waiting, offers, left = n, second, third
        else:
            trend.append(WeekCount(week_start=monday, count=n))
    median, p90, mean = waits
    return AccessReport(
        admitted=admitted, wait_median_days=_decimal(median), wait_p90_days=_decimal(p90),
        wait_mean_days=_decimal(mean), waitlist_trend=trend, waiting_now=waiting,
        offers_open=offers, left_waitlist=left)


def _sqlite_access_report(scope: ReportScope, m_sql: str, m_params: tuple, *, first: date,
                          last: date) -> AccessReport:
    """`access_report` on SQLite (`make run`): the same measures in three statements, the
    waits' median and 90th percentile in Python (no percentile_cont), the weeks from a
    recursive CTE (no generate_series)."""
    waitlisted, withdrawn = EnrollmentStatus.WAITLISTED.value, EnrollmentStatus.WITHDRAWN.value
    waits = [wait for (wait,) in fetchall(
        f"WITH e AS ({m_sql}) SELECT e.wait FROM e WHERE e.status IN %s "
        "AND e.admission_date >= %s AND e.admission_date <= %s",
        (*m_params, tuple(str(status) for status in ADMITTED), scope.date_from,
         scope.date_to))]
    ((waiting, offers, left),) = fetchall(
        f"WITH e AS ({m_sql}) SELECT COUNT(*) FILTER (WHERE e.status = %s), "
        "COUNT(*) FILTER (WHERE e.status = %s AND e.seat_offered_at IS NOT NULL), "
        "COUNT(*) FILTER (WHERE e.status = %s AND e.waitlisted_at IS NOT NULL "
        "AND e.changed_on >= %s AND e.changed_on <= %s) FROM e",
        (*m_params, waitlisted, waitlisted, withdrawn, scope.date_from, scope.date_to))
    weeks = fetchall(
        f"WITH RECURSIVE e AS ({m_sql}), w(monday) AS (SELECT date(%s) UNION ALL "
        "SELECT date(monday, '+7 days') FROM w WHERE monday < date(%s)) "
        f"SELECT w.monday, COUNT(e.id) FROM w LEFT JOIN e ON {_WAITING_ON_SUNDAY_SQLITE} "
        "GROUP BY 1 ORDER BY 1", (*m_params, first, last))
    return AccessReport(
        admitted=len(waits), wait_median_days=_decimal(_percentile_cont(waits, 0.5)),
        wait_p90_days=_decimal(_percentile_cont(waits, 0.9)),
        wait_mean_days=_decimal(sum(waits) / len(waits) if waits else None),
        waitlist_trend=[WeekCount(week_start=date.fromisoformat(monday), count=n)
                        for monday, n in weeks],
        waiting_now=waiting or 0, offers_open=offers or 0, left_waitlist=left or 0)


# --- 5. Billing units ----------------------------------------------------------------------

@dataclass
class BillingLine:
    participant_code: str
    participant: str
    record_number: str
    week_start: date
    service_code: str
    unit: str
    sessions: int
    days: int
    minutes: int
    units: int

    @property
    def hours(self) -> Decimal:
        return _hours(self.minutes)


@dataclass
class BillingSummary:
    week_start: date
    service_code: str
    participants: int
    sessions: int
    days: int
    minutes: int
    units: int

    @property
    def hours(self) -> Decimal:
        return _hours(self.minutes)


@dataclass
class BillingReport:
    summary: list[BillingSummary]
    lines: list[BillingLine]
    line_count: int
    rules: list[BillingRule] = field(default_factory=list)
    lines_from: date | None = None  # the lines shown cover this date to the range's end

    @property
    def truncated(self) -> bool:
        return self.line_count > len(self.lines)


def _billing_sessions_sql(scope: ReportScope) -> tuple[str, tuple]:
    """The sessions held in the range at the scope's sites whose type has a service code."""
    sessions = (
        TherapySession.objects.filter(
            site_id__in=scope.site_ids, status=SessionStatus.SCHEDULED,
            local_date__gte=scope.date_from, local_date__lte=scope.held_until)
        .exclude(session_type__service_code="")
        .order_by()
        .values("id", "local_date", "starts_at", "ends_at", code=F("session_type__service_code"))
    )
    return _subquery_sql(sessions)


def _billing_attendance_sql(scope: ReportScope) -> tuple[str, tuple]:
    """Attended rows within the program, track and caseload filters (the sessions' site and
    dates are `_billing_sessions_sql`'s)."""
    rows = Attendance.objects.filter(_session_track_q(scope), status__in=ATTENDED)
    if scope.clinician_id:
        rows = rows.filter(participant__primary_clinician_id=scope.clinician_id)
    return _subquery_sql(rows.order_by().values("session_id", "participant_id",
                                                "minutes_attended"))


# The lines from `days` (participant_id, local_date, code, sessions, length in microseconds):
# the billing rules applied per day, the days summed per participant, week and code.
_BILLING_LINES = (
    "SELECT d.participant_id, date_trunc('week', d.local_date)::date AS week, d.code, "
    "COALESCE(r.unit, 'session') AS unit, SUM(d.sessions)::int AS sessions, "
    "COUNT(*)::int AS days, ROUND(SUM(d.length) / %s)::int AS minutes, "
    f"SUM({units_sql('d.length', 'd.sessions', per_minute=MICROSECONDS_PER_MINUTE)})::int "
    "AS units FROM days d LEFT JOIN rules r ON r.code = d.code GROUP BY 1, 3, 2, 4"
)


# `_BILLING_LINES` on SQLite (`make run`): no date_trunc or casts (its integers stay integers,
# its true values are 1), the week's Monday by date(), minutes divided as reals and rounded.
_BILLING_LINES_SQLITE = (
    "SELECT d.participant_id, date(d.local_date, 'weekday 0', '-6 days') AS week, d.code, "
    "COALESCE(r.unit, 'session') AS unit, SUM(d.sessions) AS sessions, "
    "COUNT(*) AS days, CAST(ROUND(SUM(d.length) * 1.0 / %s) AS INTEGER) AS minutes, "
    "SUM(" + units_sql("d.length", "d.sessions", per_minute=MICROSECONDS_PER_MINUTE)
    .replace("::bigint", "").replace("::int", "") + ") "
    "AS units FROM days d LEFT JOIN rules r ON r.code = d.code GROUP BY 1, 3, 2, 4"
)


def _track_filters(scope: ReportScope, alias: str, where: list[str], params: list) -> str:
    """The scope's program and track filters on `alias`'s track_id, added to `where` and
    `params`; the join they need (none, or the tracks as t)."""
    joins = ""
    if scope.program_id:
        joins = f" JOIN {Track._meta.db_table} t ON t.id = {alias}.track_id"
        where.append("t.program_id = %s")
        params.append(scope.program_id)
    if scope.track_id:
        where.append(f"{alias}.track_id = %s")
        params.append(scope.track_id)
    return joins


def _billing_days_from(scope: ReportScope, native: bool, *,
                       weeks: tuple[date, date] | None = None) -> tuple[str, list]:
    """`FROM reports_billing_day b ... WHERE ...`: the billing days' rows the scope reads (see
    `_billing_lines_sql`), and its params. With `weeks` (first and last Monday), the billing
    weeks' rows of those weeks instead (reports_billing_week, PostgreSQL), under the same
    filters."""
    table = BillingDay._meta.db_table
    dates: list = [scope.date_from, scope.held_until]
    if weeks:
        table, dates = BillingWeek._meta.db_table, list(weeks)
    column = "b.week" if weeks else "b.local_date"
    where = ["b.site_id = ANY(%s)" if native else "b.site_id IN %s", f"{column} >= %s",
             f"{column} <= %s", "b.sessions <> 0"]
    params: list = [list(scope.site_ids) if native else tuple(scope.site_ids), *dates]
    joins = _track_filters(scope, "b", where, params)
    if scope.clinician_id:
        where.append(f"b.participant_id IN (SELECT id FROM {Participant._meta.db_table} "
                     "WHERE primary_clinician_id = %s)")
        params.append(scope.clinician_id)
    return f"FROM {table} b{joins} WHERE {' AND '.join(where)}", params


def _split_line(alias: str) -> str:
    """Whether `alias`'s billing week row is one of a line (participant, week, code) of more
    than one row (reports.BillingLineRows: the participant at two sites or tracks that week);
    params: the range's first and last Monday."""
    return (f"({alias}.week, {alias}.participant_id, {alias}.code) IN (SELECT week, "
            f"participant_id, service_code FROM {BillingLineRows._meta.db_table} "
            "WHERE rows > 1 AND week >= %s AND week <= %s)")


# A billing week row's minutes (r), rounded half up in integers (its microseconds are never
# negative), as ROUND(microseconds / 60,000,000) would.
_ROW_MINUTES = "((r.length + 30000000) / 60000000)::int"
# A line's microseconds (its rows r) summed as two integers, its length's multiples of 2^31 and
# what remains (each row's length = (length >> 31) * 2^31 + (length & (2^31 - 1)), exactly,
# and the products and sums are checked for overflow), instead of a numeric.
_EXACT_LENGTH_SUM = ("(SUM((r.length >> 31)::int) * 2147483648 "
                     "+ SUM((r.length & 2147483647)::int))")


def _days_set(bits: str) -> str:
    """The number of days with sessions in `bits` (bit(7) of weekdays), counted as text: fewer
    operators in the planner's eyes than adding up seven bits (a long range reaches
    jit_above_cost later)."""
    return f"length(replace({bits}::bit(7)::text, '0', ''))"


def _billing_lines_sql(scope: ReportScope) -> tuple[str, tuple]:
    """One line per participant, week and service code: sessions, days, minutes and units.

    Read from the billing weeks on PostgreSQL (reports.BillingWeek, `_billing_weeks_sql`: a
    participant's days of a week, code, site and track, each day's sums beside the week's, at
    2,000 participants 18,000 rows for 12 weeks and 2,000 for the page's last week whatever its
    day), on SQLite (`make run`) from the billing days (reports.BillingDay): both kept by
    triggers, holding the attended sessions and their length in whole microseconds, exact
    integers. What depends on the day or on the person is applied here: held until today at
    the latest, the program and track filters (a personal session's row counts for its
    enrollment's track, as `_session_track_q`), the caseload (the participant's current primary
    clinician), and the billing rules. Minutes are rounded per line, as before. The live report
    keeps `_BILLING_LINES` on the attendance rows, so the tests that pin the two equal check one
    form against the other.
    """
    if connection.vendor != "postgresql":  # SQLite (`make run`): no arrays or casts
        rows_sql, params = _billing_days_from(scope, native=False)
        rules_sql, rule_params = rules_cte()
        return (f"WITH {rules_sql}, days AS (SELECT b.participant_id, b.local_date, "
                "b.service_code AS code, SUM(b.sessions) AS sessions, SUM(b.length) AS length "
                f"{rows_sql} GROUP BY 1, 3, 2) "
                f"{_BILLING_LINES_SQLITE}",
                (*rule_params, *params, MICROSECONDS_PER_MINUTE))
    rows_sql, rows_params = _billing_weeks_sql(scope, by_day=True)
    first, last = _mondays(replace(scope, date_to=scope.held_until))
    split = _split_line("r")
    unit, unit_params = unit_case_sql("r.code")
    # A per-diem code's units from the line's days, each day's microseconds summed over the
    # line's rows (a participant at two sites or tracks that day: one day, its minimum met by
    # the sum).
    units, units_params = units_case_sql("r.code", [f"SUM(r.day_{day})" for day in range(7)],
                                         "SUM(r.sessions)", per_minute=MICROSECONDS_PER_MINUTE)
    sql = (
        # A line of one row (nearly all, see `_billing_summary_pg`) is that row.
        f"SELECT r.participant_id, r.week, r.code, {unit} AS unit, r.sessions::int AS sessions, "
        f"r.day_rows::int AS days, {_ROW_MINUTES} AS minutes, r.units::int AS units "
        f"FROM ({rows_sql}) r WHERE NOT {split} UNION ALL "
        # The rows of the lines of more than one, grouped into lines.
        f"SELECT r.participant_id, r.week, r.code, {unit} AS unit, "
        "SUM(r.sessions)::int AS sessions, "
        f"{_days_set('bit_or(r.weekdays)')}::int AS days, "
        f"ROUND({_EXACT_LENGTH_SUM}::numeric / %s)::int AS minutes, "
        f"({units})::int AS units FROM ({rows_sql}) r WHERE {split} GROUP BY 1, 3, 2"
    )
    return sql, (*unit_params, *rows_params, first, last, *unit_params,
                 MICROSECONDS_PER_MINUTE, *units_params, *rows_params, first, last)


def _billing_week_rows_sql(scope: ReportScope, first: date, last: date, days: range, *,
                           by_day: bool = False) -> tuple[str, list]:
    """The billing weeks' rows from Monday `first` to Monday `last` counting their `days` only
    (0 Monday .. 6 Sunday), each as one participant's day rows of the week would be counted:
    its sessions and microseconds, its days with sessions (a bit each), their number, and their
    units (`units_case_sql`, each day against the minimum). `by_day`: and each day's
    microseconds (`day_0` .. `day_6`, 0 for a day not counted)."""
    rows_sql, params = _billing_days_from(scope, native=True, weeks=(first, last))
    whole = len(days) == 7
    sessions = [f"b.sessions_{WEEKDAYS[day]}" for day in days]
    lengths = [f"b.length_{WEEKDAYS[day]}" for day in days]
    counted = "b.sessions" if whole else f"({' + '.join(sessions)})"
    units, units_params = units_case_sql("b.service_code", lengths, counted,
                                         per_minute=MICROSECONDS_PER_MINUTE)
    # A whole week's days with sessions are worked out when the row is written.
    weekdays = "b.weekdays" if whole else f"(b.weekdays & {sum(1 << day for day in days)})"
    day_rows = "b.days" if whole else " + ".join(f"({column} <> 0)::int" for column in sessions)
    sql = (f"SELECT b.participant_id, b.week, b.service_code AS code, {counted} AS sessions, "
           f"{'b.length' if whole else '(' + ' + '.join(lengths) + ')'} AS length, "
           f"{weekdays} AS weekdays, {day_rows} AS day_rows, {units} AS units")
    if by_day:
        sql += "".join(f", {f'b.length_{WEEKDAYS[day]}' if day in days else '0::bigint'} "
                       f"AS day_{day}" for day in range(7))
    sql += f" {rows_sql}"
    if not whole:
        sql += f" AND {counted} <> 0"
    return sql, [*units_params, *params]


def _billing_week_arms(scope: ReportScope) -> list[tuple[date, date, range]]:
    """The weeks the scope reads, as (first Monday, last Monday, days counted): the range's
    first and last weeks counting the days of theirs it holds (it starts on any day and ends
    today at the latest), every week between them all seven (`range(7)`, one arm at most)."""
    first, last = _mondays(replace(scope, date_to=scope.held_until))
    start, end = scope.date_from.weekday(), scope.held_until.weekday()
    week = timedelta(days=7)
    if scope.date_from > scope.held_until:  # nothing held yet: no week (first > last)
        return [(first + week, first, range(7))]
    if first == last:
        return [(first, last, range(start, end + 1))]
    whole_from = first if start == 0 else first + week
    whole_to = last if end == 6 else last - week
    return ([(first, first, range(start, 7))] if start else []) + (
        [(whole_from, whole_to, range(7))] if whole_from <= whole_to else []) + (
        [(last, last, range(end + 1))] if end != 6 else [])


def _billing_weeks_sql(scope: ReportScope, *, by_day: bool = False,
                       arms: list[tuple[date, date, range]] | None = None) -> tuple[str, list]:
    """The billing weeks' rows the scope reads (`_billing_week_rows_sql`) over its weeks
    (`_billing_week_arms`, or `arms` of them), and their params."""
    parts = [_billing_week_rows_sql(scope, *arm, by_day=by_day)
             for arm in (_billing_week_arms(scope) if arms is None else arms)]
    return (" UNION ALL ".join(sql for sql, _params in parts),
            [param for _sql, params in parts for param in params])


def _billing_summary_pg(scope: ReportScope) -> tuple[str, tuple]:
    """`billing_report`'s summary on PostgreSQL from the billing weeks' rows, and its params:
    per week and code, the lines, sessions, days, minutes and units, and the lines it cannot
    count this way (then the caller counts from the lines, `_billing_lines_sql`).

    A billing week (reports.BillingWeek, kept from the days by triggers) holds a participant's
    day rows of a week, code, site and track, each day's sums beside the week's (at 2,000
    participants 18,000 rows for 12 weeks, against 82,000 days). The range's first and last
    weeks count the days of theirs that the range holds (the range starts on any day and ends
    today at the latest), every week between them all seven.

    Nearly every line (participant, week, code) is one such row, and a row's line is its own
    figures: its minutes rounded from its microseconds, its days those with sessions, its units
    its days'. Those rows are added up per week and code as they are; only the rows of lines
    that have more than one (reports.BillingLineRows: the participant at two sites or tracks
    that week, a few) are grouped into lines first: sessions and microseconds summed, minutes
    rounded from the sum, days the weekdays with sessions (a bit each, counted), units its
    rows' units, which are its days' units when no day of it has more than one row. A day of
    more than one row only matters for a per-diem code, whose minimum is met by the day's sum:
    such lines are counted in the last column.

    The weeks the range holds whole are read from their sums per week, code, site and track
    (`_billing_week_sums_sql`) unless the scope is a caseload, which those sums cannot tell
    apart."""
    arms = _billing_week_arms(scope)
    whole = [arm for arm in arms if len(arm[2]) == 7]
    if scope.clinician_id or not whole:
        return _billing_summary_rows_sql(scope, arms)
    parts = [_billing_week_sums_sql(scope, *whole[0][:2])]
    if len(whole) < len(arms):
        parts.append(_billing_summary_rows_sql(
            scope, [arm for arm in arms if len(arm[2]) != 7], ordered=False))
    return ("SELECT week, code, SUM(n)::bigint, SUM(sessions)::bigint, SUM(days)::bigint, "
            "SUM(minutes)::bigint, SUM(units)::bigint, SUM(uncounted)::bigint FROM ("
            + " UNION ALL ".join(sql for sql, _params in parts)
            + ") AS x (week, code, n, sessions, days, minutes, units, uncounted) "
            "GROUP BY 1, 2 ORDER BY 1, 2",
            tuple(param for _sql, params in parts for param in params))


def _billing_summary_rows_sql(scope: ReportScope, arms: list[tuple[date, date, range]], *,
                              ordered: bool = True) -> tuple[str, tuple]:
    """`_billing_summary_pg` from the billing weeks' rows of `arms` (`_billing_week_arms`)."""
    first, last = _mondays(replace(scope, date_to=scope.held_until))
    rows_sql, rows_params = _billing_weeks_sql(scope, arms=arms)
    day_codes = [rule.code for rule in billing_rules() if rule.unit == "day"]
    days = _days_set("g.weekdays")  # a grouped line's days
    uncounted = (f"g.line IS NOT NULL AND {days} <> g.day_rows "
                 f"AND g.code IN ({', '.join(['%s'] * len(day_codes))})"
                 if day_codes else "FALSE")
    sql = (
        # Integers, as the days' summary gave (a sum of bigints is a numeric; a few groups).
        "SELECT week, code, SUM(CASE WHEN g.line IS NULL THEN g.rows ELSE 1 END)::bigint, "
        "SUM(sessions)::bigint, "
        f"SUM(CASE WHEN g.line IS NULL THEN g.day_rows ELSE {days} END)::bigint, "
        "SUM(CASE WHEN g.line IS NULL THEN g.row_minutes "
        "ELSE ROUND(g.length::numeric / %s)::int END)::bigint, SUM(units)::bigint, "
        f"COUNT(*) FILTER (WHERE {uncounted}) FROM ("
        # Grouped per week, code and line: every row of a one-row line in its week and code's
        # group (line NULL), the rows of a line of more than one in their line's.
        "SELECT r.week, r.code, r.line, COUNT(*) AS rows, SUM(r.sessions) AS sessions, "
        "SUM(r.day_rows) AS day_rows, bit_or(r.weekdays) AS weekdays, "
        f"SUM({_ROW_MINUTES}) AS row_minutes, {_EXACT_LENGTH_SUM} AS length, "
        "SUM(r.units) AS units FROM ("
        f"SELECT q.*, CASE WHEN {_split_line('q')} THEN q.participant_id END AS line "
        f"FROM ({rows_sql}) q) r GROUP BY 1, 2, 3) g "
        f"GROUP BY 1, 2{' ORDER BY 1, 2' if ordered else ''}"
    )
    return sql, (MICROSECONDS_PER_MINUTE, *day_codes, first, last, *rows_params)


def _billing_week_sums_sql(scope: ReportScope, first: date, last: date) -> tuple[str, tuple]:
    """`_billing_summary_pg`'s columns for the weeks from Monday `first` to Monday `last`,
    which the range holds whole, from their sums (reports.BillingWeekSums: a few hundred rows
    for 12 weeks at 2,000 participants instead of 18,000 week rows), under the site, program
    and track filters, not a caseload's, and their params.

    The sums add up every week row as a line of one row: the rows of a line of more than one
    (reports.BillingLineRows, a few) are then read from the weeks and each such line corrected
    to its grouped figures (one line, not its rows; its days the weekdays with sessions; its
    minutes rounded from the summed microseconds), as the rows' summary groups them. Its
    sessions and units are its rows' either way. A per-diem code's units are its days whose
    microseconds meet the minimum (the sums count the days of each length)."""
    table = BillingWeekSums._meta.db_table
    where, params = ["s.site_id = ANY(%s)", "s.week >= %s", "s.week <= %s"], [
        list(scope.site_ids), first, last]
    joins = _track_filters(scope, "s", where, params)
    day_rules = [rule for rule in billing_rules() if rule.unit == "day"]
    # A length's days count toward a per-diem code's units when they meet its minimum (the
    # weeks' own row, length -1, holds none); every other code's units are its sessions.
    units = ("CASE s.service_code "
             + "".join(" WHEN %s THEN (s.length > 0 AND s.length >= %s)::int * s.row_days"
                       for _rule in day_rules) + " ELSE s.sessions END")
    units_params = [value for rule in day_rules
                    for value in (rule.code, int(rule.min_minutes) * MICROSECONDS_PER_MINUTE)]
    sums = (f"SELECT s.week, s.service_code, SUM(s.rows)::bigint, SUM(s.sessions)::bigint, "
            f"SUM(s.days)::bigint, SUM(s.minutes)::bigint, SUM({units})::bigint, 0::bigint "
            f"FROM {table} s{joins} WHERE {' AND '.join(where)} GROUP BY 1, 2 "
            "HAVING SUM(s.rows) <> 0")
    rows_sql, rows_params = _billing_week_rows_sql(scope, first, last, range(7))
    days = _days_set("bit_or(r.weekdays)")
    uncounted = (f"({days} <> SUM(r.day_rows) AND r.code IN "
                 f"({', '.join(['%s'] * len(day_rules))}))::int"
                 if day_rules else "0")
    split = (f"SELECT r.week, r.code, 1 - COUNT(*), 0, {days} - SUM(r.day_rows), "
             f"ROUND({_EXACT_LENGTH_SUM}::numeric / %s) - SUM({_ROW_MINUTES}), 0, {uncounted} "
             f"FROM ({rows_sql}) r WHERE {_split_line('r')} GROUP BY r.week, r.code, "
             "r.participant_id")
    return f"{sums} UNION ALL {split}", (
        *units_params, *params, MICROSECONDS_PER_MINUTE,
        *(rule.code for rule in day_rules), *rows_params, first, last)


def _billing_lines_live_sql(scope: ReportScope) -> tuple[str, tuple]:
    """`_billing_lines_sql` from the attendance rows themselves (as the report read before the
    billing days; the tests' yardstick for them).

    The sessions come first (a few thousand), each with its length worked out once, and their
    attended rows are read through attendance_session_cover_idx. Minutes are summed as whole
    microseconds, exact integers: summing fractional minutes as numerics cost more than half of
    the report's time at a clinic of 2,000. Minutes are rounded per line, as before.
    """
    sessions_sql, sessions_params = _billing_sessions_sql(scope)
    attended_sql, attended_params = _billing_attendance_sql(scope)
    rules_sql, rule_params = rules_cte()
    per_minute = MICROSECONDS_PER_MINUTE
    sql = (
        f"WITH {rules_sql}, "
        # MATERIALIZED: each session's length once, not once per attendance row.
        "s AS MATERIALIZED (SELECT q.id, q.local_date, q.code, "
        "(EXTRACT(EPOCH FROM (q.ends_at - q.starts_at)) * 1000000)::bigint AS length "
        f"FROM ({sessions_sql}) q), "
        # Plain integers per day, so the lines' sums are too: numeric sums did not fit in
        # work_mem and were written to disk.
        "days AS (SELECT a.participant_id, s.local_date, s.code, COUNT(*)::int AS sessions, "
        "SUM(COALESCE(a.minutes_attended * %s::bigint, s.length))::bigint AS length "
        f"FROM s JOIN ({attended_sql}) a ON a.session_id = s.id GROUP BY 1, 2, 3) "
        f"{_BILLING_LINES}"
    )
    return sql, (*rule_params, *sessions_params, per_minute, *attended_params, per_minute)


def billing_lines_sql(scope: ReportScope, *, limit: int | None = None,
                      live: bool = False) -> tuple[str, tuple]:
    """Every billing line with the participant's code, name and record number, in order (the
    export streams it with a server-side cursor). With `limit`, the first lines only (their
    number in all is the summary's, see `billing_report`). `live` counts the attendance rows
    themselves instead of the billing days (for the tests that pin one against the other)."""
    lines_sql, params = (_billing_lines_live_sql if live else _billing_lines_sql)(scope)
    table = Participant._meta.db_table
    sql = (
        f"SELECT p.code, p.last_name || ', ' || p.first_name, p.record_number, l.week, l.code, "
        f"l.unit, l.sessions, l.days, l.minutes, l.units FROM ({lines_sql}) l "
        f"JOIN {table} p ON p.id = l.participant_id "
        "ORDER BY l.week, p.last_name, p.first_name, p.id, l.code"
    )
    if limit is not None:
        return f"{sql} LIMIT %s", (*params, limit)
    return sql, params


def billing_line(row) -> BillingLine:
    code, name, record, week, service, unit, sessions, days, minutes, units = row[:10]
    if isinstance(week, str):  # SQLite (`make run`): the week and code as text
        week, code = date.fromisoformat(week), uuid.UUID(code)
    return BillingLine(participant_code=str(code), participant=name, record_number=record,
                       week_start=week, service_code=service, unit=unit, sessions=sessions,
                       days=days, minutes=minutes, units=units)


def billing_report(*, scope: ReportScope, line_limit: int = 200,
                   live: bool = False) -> BillingReport:
    """Units per service code and week over the range, and the lines per participant of the
    range's last week (at most `line_limit`; the export holds every week's). Two queries (three
    when the summary must be counted from the lines, see `_billing_summary_pg`).
    `live`: as `billing_lines_sql`."""
    native = connection.vendor == "postgresql"
    summary_rows = None
    if native and not live:
        # Prepared once a connection (iop_clinic.prepared; its str parameters are the rules'
        # codes): planning it took ~0.7 ms at 2,000 participants, and its generic plan reads
        # the same indexes (statement ~2.6 -> ~1.6 ms min).
        summary_rows = fetchall(*_billing_summary_pg(scope), prepare=True)
        # A per-diem code's day in more than one row (rare: the participant at two sites or
        # tracks that day): the whole summary from the lines instead, which sum each day's
        # microseconds over the line's rows.
        summary_rows = (None if any(row[7] for row in summary_rows)
                        else [row[:7] for row in summary_rows])
    if summary_rows is None:
        lines_sql, params = (_billing_lines_live_sql if live else _billing_lines_sql)(scope)
        # One line per participant, week and code: on PostgreSQL from the billing weeks
        # (`_billing_lines_sql`, grouped by just those), counting lines counts the participants
        # without sorting some 18,000 lines for a distinct count.
        participants = ("COUNT(*)" if native and not live
                        else "COUNT(DISTINCT participant_id)")
        summary_rows = fetchall(
            f"SELECT week, code, {participants}, SUM(sessions), SUM(days), "
            f"SUM(minutes), SUM(units) FROM ({lines_sql}) l GROUP BY 1, 2 ORDER BY 1, 2", params)
    summary = [BillingSummary(week_start=date.fromisoformat(w) if isinstance(w, str) else w,
                              service_code=c, participants=p, sessions=s,
                              days=d, minutes=m, units=u)
               for w, c, p, s, d, m, u in summary_rows]
    last_monday = _mondays(scope)[1]
    last_week = replace(scope, date_from=max(scope.date_from, last_monday))
    # Prepared as the summary (not the live form, the tests' yardstick): ~3.5 -> ~2.6 ms min.
    rows = fetchall(*billing_lines_sql(last_week, limit=line_limit, live=live),
                    prepare=native and not live)
    return BillingReport(
        summary=summary, lines=[billing_line(row) for row in rows],
        # The last week's lines are its summary's (a line is a participant of a week and code,
        # over the same days): counted there, not by the lines' statement over every line.
        line_count=sum(row.participants for row in summary if row.week_start == last_monday),
        rules=billing_rules(), lines_from=last_week.date_from)


# --- 6. Staff load -------------------------------------------------------------------------

@dataclass
class StaffLoadRow:
    clinician_id: int
    clinician: str
    sessions: int
    session_minutes: int
    participant_minutes: int

    # Worked out once (cached_property), as AttendanceRow's figures: the page reads the
    # participant-hours for its chart and its table.
    @cached_property
    def session_hours(self) -> Decimal:
        return _hours(self.session_minutes)

    @cached_property
    def participant_hours(self) -> Decimal:
        return _hours(self.participant_minutes)


def _staff_load_rows(scope: ReportScope, first: date, last: date):
    """Per facilitator of the sessions held from `first` to `last`: sessions, their length and
    participants' attended time (microseconds, minutes recorded and microseconds not)."""
    sessions = TherapySession.objects.filter(
        site_id__in=scope.site_ids, status=SessionStatus.SCHEDULED, facilitator__isnull=False,
        local_date__gte=first, local_date__lte=last)
    if scope.program_id or scope.track_id:
        # A personal session counts for the track its participant is enrolled in.
        enrolled = Enrollment.objects.filter(participant_id=OuterRef("participant_id"))
        on_track = Q()
        if scope.program_id:
            enrolled = enrolled.filter(track__program_id=scope.program_id)
            on_track &= Q(track__program_id=scope.program_id)
        if scope.track_id:
            enrolled = enrolled.filter(track_id=scope.track_id)
            on_track &= Q(track_id=scope.track_id)
        sessions = sessions.filter(on_track | Q(track__isnull=True) & Exists(enrolled))
    if scope.clinician_id:
        sessions = sessions.filter(facilitator_id=scope.clinician_id)
    length = Microseconds(F("ends_at"), F("starts_at"))
    return (
        sessions.values("facilitator_id", "facilitator__first_name", "facilitator__last_name",
                        "facilitator__username")
        .order_by("facilitator__last_name", "facilitator__first_name", "facilitator_id")
        # The tally is one row per session, so joining it multiplies no session's sums.
        .annotate(n=Count("pk"), session_us=Sum(length),
                  recorded=Sum("report_tally__recorded_minutes"),
                  unrecorded_us=Sum(F("report_tally__unrecorded") * length))
        .values_list("facilitator_id", "facilitator__first_name", "facilitator__last_name",
                     "facilitator__username", "n", "session_us", "recorded", "unrecorded_us")
    )


def staff_load_report(*, scope: ReportScope) -> list[StaffLoadRow]:
    """Per facilitator: sessions held, their hours, and participant-hours attended (from the
    sessions' attendance tallies). One query."""
    rows = fetchall(*_scope_sql(_staff_load_rows, scope, scope.date_from, scope.held_until))
    return [
        StaffLoadRow(
            clinician_id=facilitator_id,
            clinician=staff_name(first_name, last_name, username),
            sessions=n, session_minutes=_whole_minutes(session_us or 0),
            participant_minutes=_whole_minutes(
                int(recorded or 0) * MICROSECONDS_PER_MINUTE + (unrecorded_us or 0)))
        for facilitator_id, first_name, last_name, username, n, session_us, recorded,
        unrecorded_us in rows
    ]
