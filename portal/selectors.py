"""Portal reads: a participant's schedule, progress and feed, each in a fixed number of queries.

Progress comes from `sessions.selectors.ledger.hours_ledger`, the same ledger staff see.
"""
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import NamedTuple

from django.db import connection, connections, router
from django.db.models import Prefetch, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from iop_clinic.compiled import CompiledQuery, compile_once
from iop_clinic.prepared import fetchall
from iop_clinic.sql_params import read_date, read_moment

from participants.models import Enrollment, EnrollmentStatus, Participant
from programs.models import Program
from sessions.models import (
    Attendance, AttendanceStatus, ExcusedAbsenceRequest, ExcuseStatus, SessionStatus,
)
from reminders.models import Reminder, ReminderStatus
from sessions.selectors.ledger import (
    counts_toward_hours_sql, hours_ledger, ledger_rows_params, ledger_rows_where, ledger_window,
)
from sessions.selectors.session_of_row import session_of_row
from sessions.services.offers import offer_is_open

# The portal home shows this many past visits, newest first; "My record" has them all.
HISTORY_LIMIT = 10
# The calendar feed carries the visits ahead and those of the last FEED_PAST_DAYS days: a phone
# keeps the events it already has, so the feed need not repeat the whole history every hour.
FEED_PAST_DAYS = 7


def _shape(build):
    """A query's shape (its joins, annotations, columns and order) built once a process, then
    filtered for each page: `build()` returns an unfiltered queryset, and callers add the
    participant and the time with .filter(), which clones it. Building the annotations and
    select_related of the portal's queries again on every page was a third of their Python time.
    The shared queryset is never evaluated, so it holds no rows, only the shape."""
    return cache(build)


@dataclass
class Visit:
    """One session on the participant's schedule, in their local time."""

    attendance: Attendance
    starts: datetime
    ends: datetime
    excuse: ExcusedAbsenceRequest | None = None
    can_excuse: bool = False

    @property
    def session(self):
        return self.attendance.session

    @property
    def is_cancelled(self) -> bool:
        return _is_cancelled(self.session.status, self.attendance.status)

    @property
    def is_excused(self) -> bool:
        return self.attendance.status == AttendanceStatus.EXCUSED

    @property
    def is_expected(self) -> bool:
        return _is_expected(self.session.status, self.attendance.status)


def _is_cancelled(session_status: str, attendance_status: str) -> bool:
    return (session_status == SessionStatus.CANCELLED
            or attendance_status == AttendanceStatus.CANCELLED)


def _is_expected(session_status: str, attendance_status: str) -> bool:
    """Still on: neither cancelled (the session or this participant's place) nor excused."""
    return (not _is_cancelled(session_status, attendance_status)
            and attendance_status != AttendanceStatus.EXCUSED)


@dataclass
class VisitDay:
    day: date
    visits: list["UpcomingVisit"] = field(default_factory=list)

    @property
    def first(self) -> "UpcomingVisit":
        return self.visits[0]


@dataclass
class Schedule:
    today: date
    next_day: VisitDay | None
    this_week: list[VisitDay]
    later_weeks: list[tuple[date, list[VisitDay]]]
    history: list["PastVisit"]

    @property
    def tomorrow(self) -> date:
        return self.today + timedelta(days=1)


@dataclass
class Progress:
    week_start: date
    attended_hours: Decimal
    minimum_hours: Decimal
    still_scheduled_hours: Decimal
    below_minimum: bool
    at_risk: bool
    attendance_percent: int | None
    weeks_completed: int
    weeks_remaining: int
    total_weeks: int
    projected_completion: date | None
    short_reason: str = ""
    cannot_complete_by_end: bool = False

    @property
    def bar_step(self) -> int:
        """This week's hours as tenths of the minimum, 0–10, for a CSS-only progress bar."""
        if not self.minimum_hours:
            return 10
        return max(0, min(10, int(self.attended_hours * 10 / self.minimum_hours)))


@dataclass
class PortalState:
    participant: Participant
    enrollment: Enrollment | None
    is_discharged: bool
    # A seat offered from the waitlist waits for their answer (the offer page).
    offer_open: bool = False

    @property
    def care_plan(self):
        if self.enrollment is None:
            return None
        return getattr(self.enrollment, "care_plan", None)


def _state_enrollments():
    """The enrollments portal_state chooses from, newest first (a referral is not yet care)."""
    return (Enrollment.objects.exclude(status=EnrollmentStatus.REFERRED)
            .order_by("-admission_date", "-pk"))


@_shape
def _state_rows() -> QuerySet[Enrollment]:
    return _state_enrollments().select_related("track__program", "track__site", "care_plan")


# The participant id and the time the portal's queries are compiled with, replaced by the
# real ones when they run.
_ANY_PARTICIPANT = -1
_ANY_TIME = datetime(1901, 1, 1, tzinfo=UTC)


@cache
def _state_statement(alias: str, vendor: str) -> CompiledQuery:
    """_state_rows for one participant, compiled by the ORM once per process
    (iop_clinic.compiled) and built as the ORM builds them: even with its shape kept,
    compiling its four select_related joins cost about 1 ms of every portal page's CPU, more
    than running it. Only the participant's id changes (a parameter). Prepared once a
    connection (iop_clinic.prepared): PostgreSQL took ~0.3 ms to plan it, ~0.05 to run it."""
    queryset = _state_rows().using(alias).filter(participant_id=_ANY_PARTICIPANT)
    return compile_once(queryset.query.get_compiler(using=alias),
                        {_ANY_PARTICIPANT: "participant"}, what="portal state",
                        model=Enrollment, prepared=True)


def portal_state(*, participant: Participant) -> PortalState:
    """The enrollment the portal is about: the current one, else the latest; and whether a seat
    offer waits for an answer. One query."""
    alias = router.db_for_read(Enrollment)
    rows = _state_statement(alias, connections[alias].vendor).objects(
        {"participant": participant.pk})
    return _state_of(participant, rows)


# What the feed reads of the participant and their enrollments (portal/feed.py and
# _state_of): of the hundred columns of five tables, the dozen it shows or decides by.
_FEED_STATE_FIELDS = (
    "status", "admission_date", "seat_offered_at", "participant", "track",
    "participant__code", "participant__language", "participant__calendar_shows_address",
    "participant__home_site", "participant__home_site__public_alias",
    "track__program", "track__program__seat_offer_hours",
)


@_shape
def _feed_state_rows() -> QuerySet[Enrollment]:
    return (_state_enrollments().select_related("participant__home_site", "track__program")
            .only(*_FEED_STATE_FIELDS))


# The calendar token hash the feed's state query is compiled with (no hash looks like it),
# replaced by the real one when it runs.
_ANY_TOKEN_HASH = "(any calendar token)"


@cache
def _feed_state_statement(alias: str, vendor: str) -> CompiledQuery:
    """_feed_state_rows for one calendar token, compiled by the ORM once per process
    (iop_clinic.compiled): filtering and compiling its joins again on every poll cost more
    CPU than running it. Only the token's hash changes (a parameter)."""
    queryset = _feed_state_rows().using(alias).filter(
        participant__calendar_token=_ANY_TOKEN_HASH)
    return compile_once(queryset.query.get_compiler(using=alias),
                        {_ANY_TOKEN_HASH: "token_hash"}, what="feed state", model=Enrollment)


def feed_state(*, token_hash: str) -> PortalState | None:
    """The portal state of the participant whose calendar token this is, None for no one. One
    query (the participant comes with their enrollments), two for someone with none yet: the
    feed, polled by every subscribed phone, was a third a query of its own."""
    alias = router.db_for_read(Enrollment)
    rows = _feed_state_statement(alias, connections[alias].vendor).objects(
        {"token_hash": token_hash})
    if rows:
        return _state_of(rows[0].participant, rows)
    participant = (Participant.objects.select_related("home_site")
                   .filter(calendar_token=token_hash).first())
    return None if participant is None else _state_of(participant, [])


def _state_of(participant: Participant, rows: list[Enrollment]) -> PortalState:
    now = timezone.now()
    offer_open = any(offer_is_open(e, now=now) for e in rows
                     if e.status == EnrollmentStatus.WAITLISTED)
    enrollments = [e for e in rows if e.status != EnrollmentStatus.WAITLISTED]
    current = next((e for e in enrollments if e.status in EnrollmentStatus.seat_holding()), None)
    if current:
        return PortalState(participant, current, False, offer_open)
    latest = enrollments[0] if enrollments else None
    return PortalState(participant, latest,
                       latest is not None and latest.status in EnrollmentStatus.ended(),
                       offer_open)


def _notice_hours(attendances):
    """Each row's excused-absence notice in hours, from the program `excuse_program` picks
    first (the attendance's enrollment's, else the session's track's); None when neither."""
    return attendances.annotate(notice_hours=Coalesce(
        "enrollment__track__program__excused_notice_hours",
        "session__track__program__excused_notice_hours"))


def _default_notice_hours(state: PortalState) -> int:
    """The notice when neither program is known: the portal's enrollment's, else the default
    (the fallback of excuse_deadline, sessions/services/excuses.py)."""
    fallback = state.enrollment.track.program if state.enrollment else None
    return (fallback.excused_notice_hours if fallback else
            Program._meta.get_field("excused_notice_hours").default)


def _can_excuse(*, session_status: str, status: str, excuse_status: str | None,
                starts_at: datetime, notice_hours: int, now: datetime) -> bool:
    """An excuse may be asked for online: the visit is still on for this participant, no request
    waits for an answer, and the program's notice is still ahead."""
    return (session_status == SessionStatus.SCHEDULED
            and status == AttendanceStatus.EXPECTED
            and excuse_status != ExcuseStatus.PENDING
            and now <= starts_at - timedelta(hours=notice_hours))


def _visible(attendance: Attendance, *, state: PortalState, now: datetime) -> bool:
    session = attendance.session
    return _shown(state=state, ends_at=session.ends_at, care_plan_id=session.care_plan_id, now=now)


def _shown(*, state: PortalState, ends_at: datetime, care_plan_id: int | None,
           now: datetime) -> bool:
    # After discharge only care-plan follow-ups stay on the future schedule.
    if state.is_discharged and ends_at >= now:
        return care_plan_id is not None
    return True


def visit_for(*, state: PortalState, session_id: int, now: datetime | None = None
              ) -> Visit | None:
    """The participant's visit at `session_id`, with its newest excuse request and whether an
    excuse may still be asked for; None when it is not theirs or not on their schedule. Two
    queries."""
    now = now or timezone.now()
    zone = state.participant.zone
    attendance = (_notice_hours(Attendance.objects.filter(participant=state.participant,
                                                          session_id=session_id))
                  .select_related("session", "session__site", "session__room")
                  .prefetch_related(Prefetch(
                      "excuse_requests", queryset=ExcusedAbsenceRequest.objects.order_by(
                          "-requested_at", "-pk"), to_attr="excuses_newest_first"))
                  .first())
    if attendance is None or not _visible(attendance, state=state, now=now):
        return None
    session = attendance.session
    excuses = attendance.excuses_newest_first
    excuse = excuses[0] if excuses else None
    notice = (_default_notice_hours(state) if attendance.notice_hours is None
              else attendance.notice_hours)
    return Visit(attendance=attendance, starts=session.starts_at.astimezone(zone),
                 ends=session.ends_at.astimezone(zone), excuse=excuse,
                 can_excuse=_can_excuse(session_status=session.status, status=attendance.status,
                                        excuse_status=excuse.status if excuse else None,
                                        starts_at=session.starts_at, notice_hours=notice,
                                        now=now))


@dataclass(slots=True)
class UpcomingVisit:
    """One visit ahead on the portal's schedule as plain values, in the participant's time."""

    session_id: int
    starts: datetime
    ends: datetime
    kind: str
    room_name: str | None  # None: no room
    site_alias: str
    site_address: str
    session_status: str
    status: str  # the participant's attendance
    excuse_status: str | None  # of the newest excuse request; None when none was made
    excuse_note: str
    can_excuse: bool

    @property
    def is_cancelled(self) -> bool:
        return _is_cancelled(self.session_status, self.status)

    @property
    def is_expected(self) -> bool:
        return _is_expected(self.session_status, self.status)


class PastVisit(NamedTuple):
    starts: datetime  # in the participant's time
    is_cancelled: bool
    status: str  # the participant's attendance


# The home page's visits ahead (not over yet, soonest first) and its latest past ones (newest
# first, at most HISTORY_LIMIT), each arm in a derived table (SQLite allows no ORDER BY or LIMIT in a
# UNION's arms), told apart by `part`; the past ones fill the columns of their type and leave
# the rest NULL. A visit ahead carries its program's excused-absence notice (the attendance's
# enrollment's program, else the session's track's) and its newest excuse request's status
# and note. Two querysets cost a round trip more, and compiling them (the two subqueries and
# seven joins most) took more CPU than PostgreSQL took to run them. The notice is read in two
# small subqueries rather than four more joins: PostgreSQL took longer to plan a nine-table
# join (~1.3 ms at 2,000 participants) than to run it. Only a visit booked under another
# enrollment than the portal's reads them: the portal's own enrollment's notice comes as a
# parameter (its program is loaded already), so the subqueries no longer run for each visit
# ahead (~0.3 ms at 2,000). The participant's visits are read once (`mine`), then split at
# `now`: each arm read the sessions again. The hours ledger's rows in its enrollment's window
# (`ledger._ledger_queryset`'s, for `hours_ledger(rows=...)`) come from `mine` too, in a third
# arm with three columns of their own: a query of their own read the same rows and sessions
# again (~0.6 ms at 2,000). On PostgreSQL each row finds its session by primary
# key (a LATERAL subquery that OFFSET 0 keeps from being pulled up), as the chart's lists do
# (sessions/selectors/chart.py): joined, the planner read the whole sessions table to hash a
# participant's two hundred rows. The statement is prepared once a connection
# (iop_clinic.prepared): planning it cost more than half its time.
_AHEAD, _PAST, _LEDGER = 0, 1, 2
_VISIT_SESSION_COLUMNS = ("s.starts_at, s.ends_at, s.kind, s.room_id, s.site_id, s.track_id, "
                          "s.status, s.care_plan_id, s.local_date, s.session_type_id")
_HOME_VISITS_SQL = f"""
WITH mine AS MATERIALIZED (
  SELECT a.id, a.session_id, a.status, a.enrollment_id, a.minutes_attended, s.starts_at,
         s.ends_at, s.kind, s.room_id, s.site_id, s.track_id, s.status AS session_status,
         s.care_plan_id, s.local_date, s.session_type_id
  FROM iop_sessions_attendance a
  {{session_of_row}}
  WHERE a.participant_id = %s
)
SELECT * FROM (
  SELECT {_AHEAD} AS part, m.session_id, m.starts_at, m.ends_at, m.kind, m.room_id,
         room.name AS room_name, site.public_alias, site.address, m.session_status,
         m.status, m.care_plan_id,
         COALESCE(
           CASE WHEN m.enrollment_id = %s THEN %s END,
           (SELECT p.excused_notice_hours FROM participants_enrollment e
            JOIN programs_track t ON t.id = e.track_id
            JOIN programs_program p ON p.id = t.program_id
            WHERE e.id = m.enrollment_id),
           (SELECT p.excused_notice_hours FROM programs_track t
            JOIN programs_program p ON p.id = t.program_id
            WHERE t.id = m.track_id)) AS notice_hours,
         (SELECT x.status FROM iop_sessions_excusedabsencerequest x
          WHERE x.attendance_id = m.id ORDER BY x.requested_at DESC, x.id DESC
          LIMIT 1) AS excuse_status,
         (SELECT x.decision_note FROM iop_sessions_excusedabsencerequest x
          WHERE x.attendance_id = m.id ORDER BY x.requested_at DESC, x.id DESC
          LIMIT 1) AS excuse_note,
         CAST(NULL AS integer) AS minutes_attended, CAST(NULL AS date) AS local_date,
         CAST(NULL AS boolean) AS counts
  FROM mine m
  LEFT JOIN programs_room room ON room.id = m.room_id
  JOIN programs_site site ON site.id = m.site_id
  WHERE m.ends_at >= %s
  ORDER BY m.starts_at, m.session_id
) AS ahead
UNION ALL
SELECT * FROM (
  SELECT {_PAST}, m.session_id, m.starts_at, CAST(NULL AS timestamp with time zone),
         CAST(NULL AS varchar(20)), CAST(NULL AS integer), CAST(NULL AS varchar(100)),
         CAST(NULL AS varchar(100)), CAST(NULL AS text), m.session_status, m.status,
         CAST(NULL AS integer), CAST(NULL AS integer), CAST(NULL AS varchar(20)),
         CAST(NULL AS text), CAST(NULL AS integer), CAST(NULL AS date), CAST(NULL AS boolean)
  FROM mine m
  WHERE m.ends_at < %s
  ORDER BY m.starts_at DESC, m.session_id DESC
  LIMIT %s
) AS past
UNION ALL
SELECT {_LEDGER}, m.session_id, m.starts_at, m.ends_at, NULL, NULL, NULL, NULL, NULL,
       m.session_status, m.status, NULL, NULL, NULL, NULL, m.minutes_attended, m.local_date,
       {counts_toward_hours_sql("m.session_type_id")}
FROM mine m
WHERE {ledger_rows_where(status="m.status", session_status="m.session_status",
                         local_date="m.local_date")}
"""


@cache
def _home_visits_sql(vendor: str) -> str:
    return _HOME_VISITS_SQL.format(session_of_row=session_of_row(vendor, _VISIT_SESSION_COLUMNS))




class HomeVisits(NamedTuple):
    ahead: list[UpcomingVisit]
    past: list[PastVisit]
    # The hours ledger's rows for the portal's enrollment (`hours_ledger(rows=...)`); none
    # without one.
    ledger_rows: list[tuple]


# The window of no enrollment: no day is in it.
_NO_WINDOW = (date.max, date.min)


def home_visits_for(*, state: PortalState, now: datetime, limit: int = HISTORY_LIMIT
                    ) -> HomeVisits:
    """The visits not over yet, in time order, each with its newest excuse request and whether
    an excuse may be asked for; the latest `limit` visits already over, newest first; and the
    rows the hours ledger reads for the portal's enrollment. One query, as plain values."""
    participant = state.participant
    zone = participant.zone
    default_notice = _default_notice_hours(state)
    # The portal's own enrollment, whose notice is default_notice; no row's (-1) without one.
    enrollment_id = state.enrollment.pk if state.enrollment else -1
    start, end = ledger_window(state.enrollment) if state.enrollment else _NO_WINDOW
    # As the ORM prepares a date-time (as it is on PostgreSQL; naive UTC text on SQLite).
    moment = connection.ops.adapt_datetimefield_value(now)
    rows = fetchall(_home_visits_sql(connection.vendor), (
        participant.pk, enrollment_id, default_notice, moment,  # mine, ahead
        moment, limit,  # past
        *ledger_rows_params(start, end),  # ledger
    ), prepare=True)
    ahead, past, ledger_rows = [], [], []
    # PostgreSQL gives aware date-times, dates and booleans already; SQLite's text needs
    # read_moment and read_date, its integers bool.
    as_read = connection.vendor == "postgresql"
    for (part, session_id, starts_at, ends_at, kind, room_id, room_name, alias, address,
         session_status, status, care_plan_id, notice_hours, excuse_status,
         excuse_note, minutes_attended, local_date, counts) in rows:
        if not as_read:
            starts_at = read_moment(starts_at)
        if part == _LEDGER:
            if not as_read:
                ends_at, local_date = read_moment(ends_at), read_date(local_date)
                counts = bool(counts)
            ledger_rows.append((status, minutes_attended, starts_at, ends_at, local_date, counts))
            continue
        if part == _PAST:
            past.append((starts_at, session_id,
                         PastVisit(starts_at.astimezone(zone),
                                   _is_cancelled(session_status, status), status)))
            continue
        if not as_read:
            ends_at = read_moment(ends_at)
        if not _shown(state=state, ends_at=ends_at, care_plan_id=care_plan_id, now=now):
            continue
        ahead.append((starts_at, session_id, UpcomingVisit(
            session_id=session_id, starts=starts_at.astimezone(zone),
            ends=ends_at.astimezone(zone), kind=kind,
            room_name=None if room_id is None else room_name,
            site_alias=alias, site_address=address, session_status=session_status,
            status=status, excuse_status=excuse_status, excuse_note=excuse_note or "",
            can_excuse=_can_excuse(
                session_status=session_status, status=status, excuse_status=excuse_status,
                starts_at=starts_at,
                notice_hours=default_notice if notice_hours is None else notice_hours,
                now=now))))
    # A UNION's rows come in no promised order: each list is put back in its own.
    ahead.sort(key=lambda row: row[:2])
    past.sort(key=lambda row: row[:2], reverse=True)
    return HomeVisits([visit for *_key, visit in ahead], [visit for *_key, visit in past],
                      ledger_rows)


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def schedule_for(*, state: PortalState, visits: list[UpcomingVisit],
                 history: list[PastVisit], now: datetime) -> Schedule:
    """Next visit first, then the rest of this week, then later weeks; `history` as history."""
    today = now.astimezone(state.participant.zone).date()
    days: "OrderedDict[date, VisitDay]" = OrderedDict()
    for visit in visits:
        day = visit.starts.date()
        if day not in days:
            days[day] = VisitDay(day)
        days[day].visits.append(visit)
    next_day = next((d for d in days.values() if any(v.is_expected for v in d.visits)), None)
    this_monday = _week_start(today)
    this_week, later = [], OrderedDict()
    for day in days.values():
        if day is next_day:
            continue
        if _week_start(day.day) == this_monday:
            this_week.append(day)
        else:
            later.setdefault(_week_start(day.day), []).append(day)
    return Schedule(today=today, next_day=next_day, this_week=this_week,
                    later_weeks=list(later.items()), history=history)


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / Decimal(60)).quantize(Decimal("0.1"))


def progress_for(*, state: PortalState, now: datetime | None = None,
                 ledger_rows: list[tuple] | None = None) -> Progress | None:
    """This week's hours against the minimum and the program totals. None without enrollment.

    The numbers come from the staff's hours ledger, so a participant and their clinician always
    see the same hours, attendance and projected completion date. `ledger_rows`: the ledger's
    rows when the caller read them already (`home_visits_for`); else one query reads them.
    """
    enrollment = state.enrollment
    if enrollment is None:
        return None
    now = now or timezone.now()
    today = now.astimezone(state.participant.zone).date()
    ledger = hours_ledger(enrollment=enrollment, today=today, now=now, rows=ledger_rows)
    week = ledger.current_week
    attended = week.attended_hours if week else Decimal(0)
    percent = ledger.attendance_percent
    return Progress(
        week_start=week.week_start if week else _week_start(today),
        attended_hours=attended, minimum_hours=ledger.minimum_hours,
        still_scheduled_hours=week.scheduled_hours_ahead if week else Decimal(0),
        below_minimum=attended < ledger.minimum_hours,
        at_risk=bool(week and week.at_risk),
        attendance_percent=None if percent is None else round(percent),
        weeks_completed=ledger.weeks_completed,
        weeks_remaining=0 if state.is_discharged else ledger.weeks_remaining,
        total_weeks=len(ledger.weeks),
        projected_completion=ledger.projected_completion,
        short_reason=week.short_reason_label if week else "",
        cannot_complete_by_end=ledger.cannot_complete_by_end,
    )


class FeedEvent(NamedTuple):
    """One visit as the calendar feed writes it: plain values, no model instances."""

    session_id: int
    starts_at: datetime
    ends_at: datetime
    changed: datetime  # the session's last change, or the attendance's marking if later
    is_expected: bool
    site_alias: str
    site_address: str


@_shape
def _feed_rows() -> QuerySet[Attendance]:
    return (Attendance.objects.order_by("session__starts_at", "session__pk")
            .values_list("session_id", "session__starts_at", "session__ends_at",
                         "session__updated_at", "marked_at", "session__status", "status",
                         "session__care_plan_id", "session__site__public_alias",
                         "session__site__address"))


# The day the feed statement is compiled with, in place of the earliest session day it reads.
_ANY_DAY = date(1901, 1, 2)
# How many days before the feed's earliest end a session kept in it can be dated (its day at
# its site, `Attendance.session_date`): a session ends at most 12 hours after it starts
# (sessions.services.schedule.MAX_SESSION_MINUTES) and a site's zone is at most 14 hours from
# UTC, so two days would do; three leave room.
_FEED_DAY_MARGIN = timedelta(days=3)


@cache
def _feed_rows_statement(alias: str, vendor: str) -> CompiledQuery:
    """_feed_rows for one participant's sessions ending after a time, compiled by the ORM once
    per process (iop_clinic.compiled): filtering and compiling it on every poll cost about
    as much CPU as reading its rows. The participant, the time and a day are its parameters.

    The rows are first narrowed by their session's day kept on them (`session_date`, the
    (participant, day) index), which the time alone cannot do: PostgreSQL then read every
    session that ends after the time, the whole clinic's, to join the person's rows ever (a
    participant in their third stay, 26 weeks of history at 2,000 participants: 0.47 -> 0.09
    ms of execution; 0.22 -> 0.21 ms without history, medians of 30)."""
    ops = connections[alias].ops
    queryset = _feed_rows().using(alias).filter(participant_id=_ANY_PARTICIPANT,
                                                session_date__gte=_ANY_DAY,
                                                session__ends_at__gte=_ANY_TIME)
    return compile_once(queryset.query.get_compiler(using=alias),
                        {_ANY_PARTICIPANT: "participant",
                         ops.adapt_datefield_value(_ANY_DAY): "day",
                         ops.adapt_datetimefield_value(_ANY_TIME): "since"},
                        what="feed events")


def feed_events_for(*, state: PortalState, now: datetime) -> list[FeedEvent]:
    """The visits the calendar feed carries, in time order: those ahead and those of the last
    FEED_PAST_DAYS days, as plain values. One query: a feed of 70 visits spent more time
    building Attendance, TherapySession and Site instances than writing its text."""
    alias = router.db_for_read(Attendance)
    connection_ = connections[alias]
    since = now - timedelta(days=FEED_PAST_DAYS)
    rows = _feed_rows_statement(alias, connection_.vendor).rows({
        "participant": state.participant.pk,
        "day": connection_.ops.adapt_datefield_value(
            since.astimezone(UTC).date() - _FEED_DAY_MARGIN),
        "since": connection_.ops.adapt_datetimefield_value(since),
    })
    events = []
    for (session_id, starts_at, ends_at, updated_at, marked_at, session_status, status,
         care_plan_id, alias, address) in rows:
        if not _shown(state=state, ends_at=ends_at, care_plan_id=care_plan_id, now=now):
            continue
        events.append(FeedEvent(
            session_id, starts_at, ends_at,
            max(updated_at, marked_at) if marked_at else updated_at,
            _is_expected(session_status, status), alias, address))
    return events


def upcoming_reminders_for(*, participant: Participant, limit: int = 10) -> list[Reminder]:
    """The participant's reminders still to go out, soonest first: when and how, never the text.
    One query."""
    alias = router.db_for_read(Reminder)
    connection = connections[alias]
    return _reminders_statement(alias, connection.vendor, limit).objects({
        "participant": participant.pk,
        "now": connection.ops.adapt_datetimefield_value(timezone.now()),
    })


@cache
def _reminders_statement(alias: str, vendor: str, limit: int) -> CompiledQuery:
    """_reminder_rows for one participant after a time, compiled by the ORM once per process
    (iop_clinic.compiled): compiling it was most of its ~0.6 ms CPU on the reminder settings
    page. Only the participant's id and the time change (parameters); no row is kept. Prepared
    once a connection (iop_clinic.prepared; its str parameters are the statuses, constants):
    PostgreSQL took ~0.1 ms to plan it, five times what running it takes."""
    queryset = _reminder_rows().using(alias).filter(
        participant_id=_ANY_PARTICIPANT, send_before__gt=_ANY_TIME)[:limit]
    ops = connections[alias].ops
    return compile_once(queryset.query.get_compiler(using=alias),
                        {_ANY_PARTICIPANT: "participant",
                         ops.adapt_datetimefield_value(_ANY_TIME): "now"},
                        what="upcoming reminders", model=Reminder, prepared=True)


@_shape
def _reminder_rows() -> QuerySet[Reminder]:
    return (Reminder.objects.filter(contact__isnull=True,
                                    status__in=(ReminderStatus.PENDING, ReminderStatus.CLAIMED))
            .only("visit_date", "kind", "channel", "due_at", "status").order_by("due_at"))
