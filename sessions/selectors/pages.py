"""Reads behind the staff pages, each a fixed number of queries whatever the data size."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection, connections, router
from django.db.models import (
    CharField,
    Count,
    Expression,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.db.models.utils import create_namedtuple_class

from accounts.roles import Role
from iop_clinic.prepared import fetchall
from iop_clinic.compiled import CompiledQuery, compile_once, compile_pages, id_sentinels
from participants.models import Enrollment, Participant
from programs.models import Room, SessionType, Site, Track

from .session_counts import ALIAS, SessionCounts
from ..models import (
    Attendance,
    AttendanceStatus,
    FollowUp,
    FollowUpStatus,
    TherapySession,
)



def _attendance_count(rows: QuerySet[Attendance]) -> Coalesce:
    """How many of `rows` belong to each session, as a subquery per session row."""
    # COUNT(*), not COUNT(id): the id is not in attendance_session_cover_idx, and counting it
    # sent PostgreSQL to the table for every row (63 ms instead of 22 ms for a week at 2,000).
    counted = (rows.filter(session_id=OuterRef("pk")).order_by().values("session_id")
               .annotate(n=Count("*")).values("n"))
    return Coalesce(Subquery(counted), 0)


# The columns Today's list shows, read as plain values: thirty sessions of six related models
# each were most of the cost of the list.
DAY_SESSION_FIELDS = (
    "pk", "kind", "track_id", "participant_id", "room_id", "facilitator_id", "title",
    "starts_at", "ends_at", "status", "site__name", "site__time_zone", "room__name",
    "facilitator__first_name", "facilitator__last_name", "session_type__name", "track__name",
    "participant__first_name", "participant__last_name", "expected_count", "marked_count",
)


@cache
def _day_sessions_sql(site_count: int, vendor: str = "postgresql",
                      counts: SessionCounts | None = None) -> str:
    """Today's list in SQL written once rather than built by the ORM each request: building,
    compiling and reading this one queryset (six joins, two counting subqueries) cost some
    3.5 ms of CPU, the query itself under 0.5 ms. Both counts come from one index-only scan of
    the session's rows in attendance_session_cover_idx (COUNT(*): the id is not in that index),
    as one array: two subqueries read each session's rows twice, and a lateral join instead
    doubled the planning time (an eighth relation for the join search).
    The names of the room, session type, track and participant are scalar subqueries (an index
    look-up a session), not joins: with six joins PostgreSQL spent longer planning the join
    order (1.2 ms at 2,000) than running the query (0.8 ms), and now plans in 0.25 ms; a
    group's session has no participant to look up, and the participants are no longer hashed.
    Every value is a placeholder; the times come back aware from PostgreSQL (like the at-risk
    week's SQL, this is PostgreSQL's). SQLite (`make run`), which has no arrays, counts in two
    subqueries (`day_sessions` makes its naive UTC times aware).

    Given `counts` (the attendance tally, handed in by Today), both counts are the session's
    one kept row (a primary-key look-up) instead of its hundred-odd attendance index entries
    (the day list's read 1.0 -> 0.46 ms, fastest of 140, at 2,000, and no longer growing with
    group size); a session without a kept row never had attendance: 0 and 0."""
    marked = ", ".join(["%s"] * len(AttendanceStatus.marked()))
    sites = ", ".join(["%s"] * site_count)
    attendance = Attendance._meta.db_table
    participant = Participant._meta.db_table
    if counts is not None:
        kept = f"FROM {counts.table} {ALIAS} WHERE {ALIAS}.session_id = s.id"
        expected = f"{counts.marked} + {counts.unmarked}"
        if vendor == "postgresql":
            counted = f"""COALESCE((SELECT ARRAY[{expected}, {counts.marked}]
                         {kept}), ARRAY[0, 0]) AS counts"""
        else:
            counted = f"""COALESCE((SELECT {expected} {kept}), 0),
               COALESCE((SELECT {counts.marked} {kept}), 0)"""
    elif vendor == "postgresql":
        counted = f"""(SELECT ARRAY[COUNT(*) FILTER (WHERE a.status <> %s),
                             COUNT(*) FILTER (WHERE a.status IN ({marked}))]
                FROM {attendance} a WHERE a.session_id = s.id) AS counts"""
    else:
        counted = f"""(SELECT COUNT(*) FROM {attendance} a
                WHERE a.session_id = s.id AND a.status <> %s),
               (SELECT COUNT(*) FROM {attendance} a
                WHERE a.session_id = s.id AND a.status IN ({marked}))"""
    return f"""
        SELECT s.id, s.kind, s.track_id, s.participant_id, s.room_id, s.facilitator_id,
               s.title, s.starts_at, s.ends_at, s.status, site.name, site.time_zone,
               (SELECT room.name FROM {Room._meta.db_table} room WHERE room.id = s.room_id),
               facilitator.first_name, facilitator.last_name,
               (SELECT st.name FROM {SessionType._meta.db_table} st
                WHERE st.id = s.session_type_id),
               (SELECT track.name FROM {Track._meta.db_table} track
                WHERE track.id = s.track_id),
               (SELECT p.first_name FROM {participant} p WHERE p.id = s.participant_id),
               (SELECT p.last_name FROM {participant} p WHERE p.id = s.participant_id),
               {counted}
        FROM {TherapySession._meta.db_table} s
        JOIN {Site._meta.db_table} site ON site.id = s.site_id
        LEFT JOIN {get_user_model()._meta.db_table} facilitator
               ON facilitator.id = s.facilitator_id
        WHERE s.site_id IN ({sites}) AND s.local_date = %s
        ORDER BY s.starts_at, s.id
    """


def day_sessions(*, site_ids: list[int], day: date,
                 counts: SessionCounts | None = None) -> list[dict]:
    """The day's sessions at these sites in time order, with expected (not cancelled) and
    marked counts, as dicts of DAY_SESSION_FIELDS (what Today shows). One query. The counts
    are read from `counts` when given (the attendance tally), else from the attendance rows."""
    if not site_ids:
        return []
    native = connection.vendor == "postgresql"
    statuses = () if counts is not None else (AttendanceStatus.CANCELLED.value,
                                              *AttendanceStatus.marked())
    found = fetchall(_day_sessions_sql(len(site_ids), connection.vendor, counts),
                     (*statuses, *site_ids, day), prepare=True)
    if native:
        return [dict(zip(DAY_SESSION_FIELDS, (*row[:-1], *row[-1]), strict=True))
                for row in found]
    rows = [dict(zip(DAY_SESSION_FIELDS, row, strict=True)) for row in found]
    for row in rows:  # SQLite: naive UTC datetimes, as its Django backend reads them
        for name in ("starts_at", "ends_at"):
            row[name] = connection.ops.convert_datetimefield_value(row[name], None, connection)
    return rows


def _followups_at(site_ids: list[int]) -> Q:
    """A follow-up belongs to a site through the person's home site or the session it is about,
    both of which the follow-up keeps (`FollowUp.home_site` and `FollowUp.session_site`, kept by
    the database): read with the follow-up, not by joining or looking up the participants or
    the sessions, so no list or count of follow-ups grows with the clinic's history of people
    or sessions, and a count reads an index that includes both and nothing else. No session: no
    session site."""
    return Q(home_site_id__in=site_ids) | Q(session_site_id__in=site_ids)


def default_followup_assignee(user) -> str:
    """The follow-up view that holds this person's work: "me" for clinicians, who are assigned
    absences, "" (everyone at my sites) for front desk, who never are, and for directors, who
    oversee the site (escalations assigned to them are in it too)."""
    if user.is_director or not user.has_role(Role.CLINICIAN):
        return ""
    return "me"


@dataclass
class PersonFollowUps:
    """One participant's open follow-ups, for lists that name each person once: the person's
    name and their follow-ups as dicts of pk, kind, week_start, missed_on and about_date."""

    participant_name: str
    followups: list[dict]


OPEN_FOLLOWUP_FIELDS = ("pk", "participant_id", "kind", "week_start", "missed_on",
                        "participant__first_name", "participant__last_name", "about_date")
_ANY_ASSIGNEE = -10_000  # what the open follow-ups query is compiled with


def _open_followups_queryset(*, site_ids: list[int], assignee_id: int | None,
                             alias: str | None = None) -> QuerySet:
    """The open follow-ups at these sites, oldest first, as OPEN_FOLLOWUP_FIELDS; with
    `assignee_id`, those assigned to that person, their people read one by one
    (`_assigned_open_followups`)."""
    if assignee_id is not None:
        return _assigned_open_followups(site_ids, assignee_id, alias)
    return (FollowUp.objects.using(alias)
            .filter(status=FollowUpStatus.OPEN)
            .filter(_followups_at(site_ids))
            .order_by("created_at", "pk")
            .values(*OPEN_FOLLOWUP_FIELDS[:-1], about_date=Coalesce("missed_on", "week_start")))


def _assigned_open_followups(site_ids: list[int], assignee_id: int,
                             alias: str | None) -> QuerySet:
    """A clinician's open follow-ups at these sites (`_open_followups_queryset`), each one's
    name looked up by key: a clinician's queue is found by its (assignee, status) index, not
    walked in order, so it is sorted whole, and joined to the people PostgreSQL hashed every
    participant ever admitted (7,940 rows with 26 weeks of history at 2,000) for about a
    hundred of them: Today's statement for a clinician of one site, 3.6 -> 1.5 ms with that
    history and 1.4 -> 1.0 ms without (medians of 30, interleaved; 1.1-1.3 ms with history
    once the follow-up kept the person's home site, iop_sessions 0015). Everyone's follow-ups keep
    the join: walked oldest first and stopped at the box's last row, they look each person up
    already, and look-ups in the select were slower (1.9-2.8 -> 2.0-3.1 ms)."""
    person = Participant.objects.using(alias).filter(pk=OuterRef("participant_id")).order_by()
    return (FollowUp.objects.using(alias)
            .filter(status=FollowUpStatus.OPEN, assignee_id=assignee_id)
            .filter(_followups_at(site_ids))
            .order_by("created_at", "pk")
            .values(*OPEN_FOLLOWUP_FIELDS[:5],
                    first_name=Subquery(person.values("first_name")),
                    last_name=Subquery(person.values("last_name")),
                    about_date=Coalesce("missed_on", "week_start")))


@cache
def _open_followups_statement(alias: str, vendor: str, sites: int, mine: bool,
                              rows: int) -> CompiledQuery:
    """SQL of the oldest `rows` open follow-ups at `sites` sites (assigned to someone: `mine`),
    compiled by the ORM once per process, the sites standing as `id_sentinels`:
    compiling it was about half a millisecond of every Today page. Only the sites and the
    assignee (parameters) change, so the statement can't go stale."""
    site_ids, sentinels = id_sentinels("sites", sites)
    compiler = _open_followups_queryset(
        site_ids=site_ids, assignee_id=_ANY_ASSIGNEE if mine else None,
        alias=alias)[:rows].query.get_compiler(using=alias)
    if mine:
        sentinels[_ANY_ASSIGNEE] = "assignee"
    return compile_once(compiler, sentinels, what="open follow-ups")


def open_followups_by_person(*, site_ids: list[int], assignee=None,
                             limit: int = 20) -> list[PersonFollowUps]:
    """Open follow-ups grouped by participant, each person once, the longest-waiting first.

    Each follow-up shows the day it is about (`FollowUp.about_date`, here in SQL), not the day
    it was raised. One query; at most `limit` people (from the oldest `limit * 5` open
    follow-ups), read as plain values: a hundred follow-ups built with their participant were
    most of the box's time.
    """
    site_ids = list(site_ids)
    if not site_ids:
        return []
    alias = router.db_for_read(FollowUp)
    query = _open_followups_statement(alias, connections[alias].vendor, len(site_ids),
                                      assignee is not None, limit * 5)
    return _by_person(query.rows(_open_followups_values(site_ids, assignee)), limit)


def _open_followups_values(site_ids: list[int], assignee) -> dict:
    values: dict = {"sites": site_ids}
    if assignee is not None:
        values["assignee"] = assignee.pk
    return values


def _by_person(rows, limit: int) -> list[PersonFollowUps]:
    """Rows of `_open_followups_statement` (OPEN_FOLLOWUP_FIELDS) grouped by participant."""
    people: dict[int, PersonFollowUps] = {}
    for row in rows:
        followup = dict(zip(OPEN_FOLLOWUP_FIELDS, row, strict=True))
        entry = people.get(followup["participant_id"])
        if entry is None:
            if len(people) >= limit:
                continue
            entry = people[followup["participant_id"]] = PersonFollowUps(
                # as Participant.full_name
                f"{followup['participant__first_name']} {followup['participant__last_name']}",
                [])
        entry.followups.append(followup)
    for entry in people.values():
        entry.followups.sort(key=lambda f: (f["about_date"] or date.min, f["pk"]))
    return list(people.values())


def _select_and_rest(sql: str) -> tuple[str, str]:
    """`sql`'s select list, and the rest from its own FROM on (not a subquery's: the ORM's SQL
    has no parenthesis in a name or a constant, its values are parameters)."""
    depth = 0
    for at, char in enumerate(sql):
        if char in "()":
            depth += 1 if char == "(" else -1
        elif depth == 0 and sql.startswith(" FROM ", at):
            return sql[:at], sql[at:]
    raise AssertionError("the open follow-ups query has no FROM of its own")


@cache
def _open_followups_counted_statement(alias: str, vendor: str, sites: int, mine: bool,
                                      rows: int) -> CompiledQuery:
    """`_open_followups_statement` with `open_followup_count`'s statement as one more column,
    the last (an uncorrelated subquery: PostgreSQL counts once, not once a row)."""
    listed = _open_followups_statement(alias, vendor, sites, mine, rows)
    counted = _open_followup_count_statement(alias, vendor, sites)
    select, rest = _select_and_rest(listed.sql)
    # The list's select takes no parameter (its columns, and a clinician's list's look-ups of
    # each person by key): the count's parameters come first, before the list's FROM and WHERE.
    if not select.startswith("SELECT ") or "%s" in select or listed.width is not None:
        raise AssertionError("the open follow-ups query's select is not the expected one")
    return CompiledQuery(
        alias=alias, sql=f"{select}, ({counted.sql}) AS open_followup_count{rest}",
        params=(*counted.params, *listed.params), slots=(*counted.slots, *listed.slots),
        columns=listed.columns, converts=listed.converts, prepared=True)


def open_followups_and_count(*, site_ids: list[int], assignee=None,
                             limit: int = 20) -> tuple[list[PersonFollowUps], int]:
    """`open_followups_by_person` and `open_followup_count` (every open follow-up at these
    sites, whoever it is assigned to), as Today shows them: one statement, the count read
    beside the list (a statement less on every Today page); a second, the count alone, only
    when the list is empty."""
    site_ids = list(site_ids)
    if not site_ids:
        return [], 0
    alias = router.db_for_read(FollowUp)
    query = _open_followups_counted_statement(alias, connections[alias].vendor, len(site_ids),
                                              assignee is not None, limit * 5)
    rows = query.rows(_open_followups_values(site_ids, assignee))
    if not rows:
        return [], open_followup_count(site_ids=site_ids)
    return _by_person([row[:-1] for row in rows], limit), rows[0][-1]


@cache
def _open_followup_count_statement(alias: str, vendor: str, sites: int) -> CompiledQuery:
    """"How many open follow-ups at `sites` sites", compiled by the ORM once per process and
    number of sites (iop_clinic.compiled), the site ids standing as `id_sentinels`: compiling
    it cost about half a millisecond of every Today page, more than its rows do; only the site
    ids (parameters) change, so the statement can't go stale. It reads the open follow-ups'
    index alone (both sites are kept on the follow-up and included in it)."""
    site_ids, sentinels = id_sentinels("sites", sites)
    rows = (FollowUp.objects.using(alias)
            .filter(status=FollowUpStatus.OPEN)
            .filter(_followups_at(site_ids))
            .order_by().values("pk"))
    query = compile_once(rows.query.get_compiler(using=alias), sentinels,
                         what="open follow-up count")
    return query.with_sql(f"SELECT COUNT(*) FROM ({query.sql}) open_followups", columns=[])


def open_followup_count(*, site_ids: list[int]) -> int:
    """How many open follow-ups these sites hold (as `_followups_at`), in one query."""
    if not site_ids:
        return 0
    alias = router.db_for_read(FollowUp)
    return _open_followup_count_statement(alias, connections[alias].vendor, len(site_ids)).rows(
        {"sites": site_ids})[0][0]


# What the follow-up list shows of each: a page of follow-ups built with their participant,
# assignee, session, site and resolver (five model instances a row) was most of its time.
FOLLOWUP_LIST_FIELDS = ("pk", "kind", "status", "created_at", "missed_on", "week_start",
                        "participant__first_name", "participant__last_name",
                        "assignee__first_name", "assignee__last_name")


def _followup_list_queryset(*, site_ids: list[int], assignee_id: int | None, status: str,
                            counted: bool = False) -> QuerySet[FollowUp]:
    """The follow-up list, as dicts of FOLLOWUP_LIST_FIELDS; `counted`: the same follow-ups,
    as model rows that join nothing, which is what its count reads (from an index alone, see
    `_followup_list_statements`)."""
    queryset = FollowUp.objects.filter(_followups_at(site_ids)).order_by("-created_at", "-pk")
    if status:
        queryset = queryset.filter(status=status)
    if not assignee_id:
        return queryset if counted else queryset.values(*FOLLOWUP_LIST_FIELDS)
    queryset = queryset.filter(assignee_id=assignee_id)
    if counted:
        return queryset
    # One person's follow-ups are found by the (assignee, status) index and sorted whole, not
    # walked newest first: their people are looked up by key, as `_assigned_open_followups`
    # does. Joined, PostgreSQL hashed every participant the clinic ever had for a hundred rows
    # (a clinician's open ones, 26 weeks of history at 2,000 participants: 0.92 -> 0.10 ms of
    # execution; 0.33 -> 0.16 ms without history, medians of 30).
    person = Participant.objects.filter(pk=OuterRef("participant_id")).order_by()
    return queryset.values(*FOLLOWUP_LIST_FIELDS[:6], *FOLLOWUP_LIST_FIELDS[8:], **{
        name: Subquery(person.values(name.removeprefix("participant__")))
        for name in FOLLOWUP_LIST_FIELDS[6:8]})


def followup_list(
    *, site_ids: list[int], assignee_id: int | None, status: str,
) -> QuerySet[FollowUp]:
    """The follow-ups at these sites (as `_followups_at`), newest first, as dicts of
    FOLLOWUP_LIST_FIELDS. Each follow-up's session's site is read from the follow-up, so no
    form of the list joins or looks up the sessions, and none grows with the clinic's history
    of sessions (only with the follow-ups it lists)."""
    return _followup_list_queryset(site_ids=site_ids, assignee_id=assignee_id, status=status)


# What the follow-up list's statements are compiled with, in place of a request's status and
# assignee (no id is negative; the status is no follow-up's).
_ANY_LIST_ASSIGNEE = -(2**31)
_ANY_LIST_STATUS = "any-status-7d2c"


@cache
def _followup_list_statements(alias: str, vendor: str, sites: int, status: bool,
                              assignee: bool) -> tuple[CompiledQuery, CompiledQuery, tuple]:
    """The follow-up list's count and page statements for `sites` sites (a status chosen or
    not, an assignee or not), compiled by the ORM once per process (iop_clinic.compiled) from
    `followup_list`'s queryset, with its rows' names: building and compiling the list's filters
    for the count and again for the page cost more Python than running them. Every value is a
    parameter, so the statements can't go stale.

    Each reads the follow-ups' own columns for "at these sites" (the person's home site and
    the session's site are kept on the follow-up), never the sessions. A page walks the
    follow-ups newest first through an index (all of them, the open or the resolved ones) and
    stops at its last row; the count joins nothing, so it reads only that index (which
    includes both sites)."""
    site_ids, sentinels = id_sentinels("sites", sites)
    if status:
        sentinels[_ANY_LIST_STATUS] = "status"
    if assignee:
        sentinels[_ANY_LIST_ASSIGNEE] = "assignee"
    values = {"site_ids": site_ids, "assignee_id": _ANY_LIST_ASSIGNEE if assignee else None,
              "status": _ANY_LIST_STATUS if status else ""}
    queryset = _followup_list_queryset(**values).using(alias)
    query = queryset.query
    names = (*query.extra_select, *query.values_select, *query.annotation_select)
    _count, page = compile_pages(queryset, sentinels, alias=alias, what="follow-up list")
    count, _page = compile_pages(_followup_list_queryset(**values, counted=True).using(alias),
                                 sentinels, alias=alias, what="follow-up list")
    return count, page, names


class FollowUpPages:
    """The follow-up list's rows (dicts of FOLLOWUP_LIST_FIELDS) for Django's Paginator, read
    with `_followup_list_statements`: `count()` and a slice (a page) are what a Paginator asks
    of a list; each is one query, as the queryset's count and slice were."""

    def __init__(self, *, site_ids: list[int], assignee_id: int | None, status: str) -> None:
        alias = router.db_for_read(FollowUp)
        self._count, self._page, self._names = _followup_list_statements(
            alias, connections[alias].vendor, len(site_ids), bool(status), bool(assignee_id))
        self._values = {"sites": list(site_ids), "status": status, "assignee": assignee_id}

    def count(self) -> int:
        return self._count.rows(self._values)[0][0]

    def __getitem__(self, page: slice) -> list[dict]:
        start = page.start or 0
        rows = self._page.rows({**self._values, "limit": page.stop - start, "offset": start})
        names = self._names
        return [dict(zip(names, row, strict=True)) for row in rows]


def followup_list_pages(*, site_ids: list[int], assignee_id: int | None,
                        status: str) -> "FollowUpPages | QuerySet[FollowUp]":
    """`followup_list` for a Paginator: through the statements compiled once a process
    (FollowUpPages), or, with no site (nothing to list), its queryset. The same rows."""
    if not site_ids:
        return followup_list(site_ids=site_ids, assignee_id=assignee_id, status=status)
    return FollowUpPages(site_ids=site_ids, assignee_id=assignee_id, status=status)


@dataclass
class WeekDay:
    day: date
    sessions: list = field(default_factory=list)  # of CALENDAR_FIELDS rows (named tuples)


# What a calendar block shows, read as plain rows: a week at two sites is some 300 sessions,
# and building six model instances for each was most of the calendar's Python.
CALENDAR_FIELDS = (
    "pk", "kind", "title", "status", "starts_at", "ends_at", "local_date", "track_id",
    "site__name", "site__time_zone", "room__name", "facilitator__first_name",
    "facilitator__last_name", "session_type__name", "track__name", "expected_count",
)


def _week_queryset(*, site_ids: list[int], week_start: date, week_end: date,
                   room_id: int | None, facilitator_id: int | None, track_id: int | None,
                   expected_count: Expression | None) -> QuerySet:
    """The week's sessions as `week_calendar` reads them (rows of CALENDAR_FIELDS)."""
    queryset = (TherapySession.objects
                .filter(site_id__in=site_ids, local_date__gte=week_start,
                        local_date__lte=week_end))
    if room_id:
        queryset = queryset.filter(room_id=room_id)
    if facilitator_id:
        queryset = queryset.filter(facilitator_id=facilitator_id)
    if track_id:
        queryset = queryset.filter(track_id=track_id)
    if expected_count is None:
        expected_count = _attendance_count(
            Attendance.objects.exclude(status=AttendanceStatus.CANCELLED))
    return (queryset.annotate(expected_count=expected_count).order_by("starts_at", "pk")
            .values_list(*CALENDAR_FIELDS))


# What the week query is compiled with, replaced by the real values when it runs: the sites
# as id_sentinels (-1, -2, ...), the filters' ids far below them.
_ANY_WEEK_START, _ANY_WEEK_END = date(1, 1, 1), date(1, 1, 2)
_ANY_ROOM, _ANY_FACILITATOR, _ANY_TRACK = -(2**31), -(2**31) + 1, -(2**31) + 2


@cache
def _week_statement(alias: str, vendor: str, sites: int, *, room: bool, facilitator: bool,
                    track: bool, expected_count: Expression | None) -> CompiledQuery:
    """`_week_queryset` for `sites` sites and these filters, compiled by the ORM once per
    process (iop_clinic.compiled): planning the seven-table query was about half of its CPU
    (~1 ms of the calendar). Only the sites, the week and the filters' ids (parameters) change
    between runs, so the statement can't go stale; no row is kept. `expected_count` is part of
    the key: an expression equal to another of the same terms (as Django's are)."""
    site_ids, sentinels = id_sentinels("sites", sites)
    ops = connections[alias].ops
    sentinels[ops.adapt_datefield_value(_ANY_WEEK_START)] = "start"
    sentinels[ops.adapt_datefield_value(_ANY_WEEK_END)] = "end"
    for wanted, sentinel, name in [(room, _ANY_ROOM, "room"),
                                   (facilitator, _ANY_FACILITATOR, "facilitator"),
                                   (track, _ANY_TRACK, "track")]:
        if wanted:
            sentinels[sentinel] = name
    queryset = _week_queryset(
        site_ids=site_ids, week_start=_ANY_WEEK_START, week_end=_ANY_WEEK_END,
        room_id=_ANY_ROOM if room else None,
        facilitator_id=_ANY_FACILITATOR if facilitator else None,
        track_id=_ANY_TRACK if track else None, expected_count=expected_count)
    query = queryset.query
    if [*query.extra_select, *query.values_select, *query.annotation_select] != list(
            CALENDAR_FIELDS):
        raise AssertionError("the week query reads other columns than expected")
    return compile_once(query.get_compiler(using=alias), sentinels, what="week", prepared=True)


def week_calendar(*, site_ids: list[int], week_start: date, room_id: int | None = None,
                  facilitator_id: int | None = None, track_id: int | None = None,
                  expected_count: Expression | None = None) -> list[WeekDay]:
    """Seven days from `week_start` at these sites, sessions in time order, filters applied.

    Each session is a named tuple of CALENDAR_FIELDS, with the count of people expected (the
    calendar shows no marked count, so it is not counted: each count reads every row of the
    session's attendance). `expected_count` replaces that count with another expression of
    the same number (the staff calendar reads the reports' per-session tally). The query
    runs through a statement compiled once per process (`_week_statement`)."""
    days = [WeekDay(day=week_start + timedelta(days=offset)) for offset in range(7)]
    if not site_ids:  # as filter(site_id__in=[]): nothing
        return days
    alias = router.db_for_read(TherapySession)
    ops = connections[alias].ops
    statement = _week_statement(alias, connections[alias].vendor, len(site_ids),
                                room=bool(room_id), facilitator=bool(facilitator_id),
                                track=bool(track_id), expected_count=expected_count)
    rows = statement.rows({"sites": site_ids,
                           "start": ops.adapt_datefield_value(week_start),
                           "end": ops.adapt_datefield_value(week_start + timedelta(days=6)),
                           "room": room_id, "facilitator": facilitator_id, "track": track_id})
    by_day = {d.day: d for d in days}
    row_class = create_namedtuple_class(*CALENDAR_FIELDS)  # as values_list(named=True) builds
    new = tuple.__new__
    for row in rows:
        session = new(row_class, row)
        by_day[session.local_date].sessions.append(session)
    return days


# The calendar's menus, read in one query: (kind, id, a, b, c) rows, a and b in each menu's
# order (rooms by site and name, tracks by program and name, staff by last and first name).
_CALENDAR_MENU_COLUMNS = ("kind", "ident", "a", "b", "c")
_CALENDAR_MENUS = {  # kind: (the menu's name, its row's fields, from (ident, a, b, c))
    "room": ("rooms", ("pk", "name", "site__name"), lambda i, a, b, c: (i, b, a)),
    "track": ("tracks", ("pk", "name", "program__name"), lambda i, a, b, c: (i, b, a)),
    "staff": ("facilitators", ("pk", "username", "first_name", "last_name"),
              lambda i, a, b, c: (i, c, b, a)),
}


@cache
def _calendar_menus_statement(alias: str, vendor: str, sites: int) -> CompiledQuery:
    """The three menus' union (`calendar_filter_choices`), compiled by the ORM once per process
    and number of sites: three queries compiled on every calendar page cost ~1.9 ms of CPU.
    The sites stand as id_sentinels, replaced by the real ids (parameters) when it runs."""
    site_ids, sentinels = id_sentinels("sites", sites)
    blank = Value("", output_field=CharField())

    def rows(queryset, kind: str, a: str, b: str, c=blank):
        return queryset.annotate(kind=Value(kind), ident=F("pk"), a=F(a), b=F(b), c=c).order_by(
            ).values_list(*_CALENDAR_MENU_COLUMNS)

    union = rows(Room.objects.filter(site_id__in=site_ids), "room", "site__name", "name").union(
        rows(Track.objects.filter(site_id__in=site_ids), "track", "program__name", "name"),
        rows(get_user_model().objects.filter(sites__in=site_ids, is_active=True).distinct(),
             "staff", "last_name", "first_name", F("username")),
        all=True).order_by("kind", "a", "b", "ident")
    return compile_once(union.query.get_compiler(using=alias), sentinels,
                        what="calendar menus")


def calendar_filter_choices(*, site_ids: list[int]) -> dict:
    """The rooms, tracks and active staff of these sites, for the calendar's filters, as named
    tuples of the few columns a menu shows (those `values_list(..., named=True)` would give:
    rooms (pk, name, site__name), tracks (pk, name, program__name), facilitators (pk,
    username, first_name, last_name)), read in one query: built as model instances (with their
    site's, program's and whole user rows) they were a tenth of the calendar's Python."""
    menus: dict[str, list] = {name: [] for name, _fields, _row in _CALENDAR_MENUS.values()}
    if not site_ids:
        return menus
    alias = router.db_for_read(Room)
    statement = _calendar_menus_statement(alias, connections[alias].vendor, len(site_ids))
    built = {kind: (menus[name], create_namedtuple_class(*fields), row)
             for kind, (name, fields, row) in _CALENDAR_MENUS.items()}
    for kind, ident, a, b, c in statement.rows({"sites": site_ids}):
        menu, row_class, row = built[kind]
        menu.append(row_class(*row(ident, a, b, c)))
    return menus


def _track_menu(site_ids: list[int]) -> QuerySet:
    return (Track.objects.filter(site_id__in=site_ids).order_by("program__name", "name")
            .values_list("pk", "name", "program__name"))


def _staff_menu(site_ids: list[int]) -> QuerySet:
    return (get_user_model().objects.filter(sites__in=site_ids, is_active=True).distinct()
            .order_by("last_name", "first_name", "pk")
            .values_list("pk", "username", "first_name", "last_name"))


_MENUS = {"tracks": _track_menu, "staff": _staff_menu}


@cache
def _menu_statement(kind: str, alias: str, vendor: str, sites: int) -> tuple[CompiledQuery, type]:
    """A filter menu's query for `sites` sites, compiled by the ORM once per process
    (iop_clinic.compiled) with the named tuple class of its rows: compiling the two menus cost
    ~0.8 ms of the caseload page, more than reading their few rows."""
    site_ids, sentinels = id_sentinels("sites", sites)
    query = _MENUS[kind](site_ids).using(alias).query
    return (compile_once(query.get_compiler(using=alias), sentinels, what=f"{kind} menu"),
            create_namedtuple_class(*query.values_select))


def _menu_rows(kind: str, site_ids: list[int]) -> list:
    if not site_ids:  # as filter(site_id__in=[]): nothing
        return []
    alias = router.db_for_read(Track if kind == "tracks" else get_user_model())
    statement, row = _menu_statement(kind, alias, connections[alias].vendor, len(site_ids))
    return [row(*values) for values in statement.rows({"sites": list(site_ids)})]


def track_menu_rows(*, site_ids: list[int]) -> list:
    """These sites' tracks for a filter menu ("program — name"), as named tuples."""
    return _menu_rows("tracks", site_ids)


def staff_menu_rows(*, site_ids: list[int]) -> list:
    """These sites' active staff for a filter menu (full name or username), as named tuples."""
    return _menu_rows("staff", site_ids)


class RosterPerson(NamedTuple):
    """The participant of a roster row: what the row and the sign-in sheet show."""

    code: uuid.UUID
    first_name: str
    last_name: str

    @property
    def full_name(self) -> str:  # as Participant.full_name
        return f"{self.first_name} {self.last_name}"


class RosterEntry(NamedTuple):
    """One attendance row of a roster, with its participant's names and of who marked it and
    of its enrollment only the columns a row shows. Read as plain rows: a hundred Attendance
    and Participant instances (even with most fields deferred) were a fifth of the roster's
    Python."""

    pk: int
    status: str
    minutes_attended: int | None
    note: str
    marked_at: datetime | None
    confirmation: str
    enrollment_id: int | None
    marked_by_id: int | None
    marked_by_username: str | None
    marked_by_first_name: str | None
    marked_by_last_name: str | None
    enrollment_track_id: int | None
    participant: RosterPerson

    def get_confirmation_display(self) -> str:  # as Attendance.get_confirmation_display()
        labels = Attendance._meta.get_field("confirmation").flatchoices
        return str(dict(labels).get(self.confirmation, self.confirmation))


# RosterEntry's columns in order, its participant's last.
_ROSTER_COLUMNS = (
    "pk", "status", "minutes_attended", "note", "marked_at", "confirmation", "enrollment_id",
    "marked_by_id", "marked_by__username", "marked_by__first_name", "marked_by__last_name",
    "enrollment__track_id", "participant__code", "participant__first_name",
    "participant__last_name",
)


def _roster_entries(rows) -> list[RosterEntry]:
    return [RosterEntry(*values[:-3], RosterPerson(*values[-3:])) for values in rows]


# The session id the roster query is compiled with, replaced by the real one when it runs.
_ANY_SESSION = -1


def _by_key(model, key: str, column: str) -> Subquery:
    """`column` of the `model` row whose primary key is the outer row's `key`."""
    return Subquery(model.objects.filter(pk=OuterRef(key)).order_by().values(column))


@cache
def _roster_statement(alias: str, vendor: str) -> CompiledQuery:
    """`roster`'s query compiled by the ORM once per process (iop_clinic.compiled) and prepared
    once a connection: building and compiling it was about 0.6 ms of the roster's CPU, more
    than running it. Only the session's id changes (a parameter).

    Each row's person and enrollment are looked up by key (`_by_key`), not joined: for the
    join PostgreSQL hashed every participant and every enrollment the clinic ever had, for a
    hundred rows (26 weeks of history at 2,000 participants: 1.53 -> 0.41 ms of execution;
    0.46 -> 0.41 ms without history, medians of 30)."""
    query = (Attendance.objects.using(alias).filter(session_id=_ANY_SESSION)
             .annotate(track_of_enrollment=_by_key(Enrollment, "enrollment_id", "track_id"),
                       person_code=_by_key(Participant, "participant_id", "code"),
                       person_first_name=_by_key(Participant, "participant_id", "first_name"),
                       person_last_name=_by_key(Participant, "participant_id", "last_name"))
             .order_by("person_last_name", "person_first_name", "pk")
             .values_list(*_ROSTER_COLUMNS[:-4], "track_of_enrollment", "person_code",
                          "person_first_name", "person_last_name").query)
    return compile_once(query.get_compiler(using=alias), {_ANY_SESSION: "session"},
                        what="roster", prepared=True)


def roster(*, session: TherapySession) -> list[RosterEntry]:
    """Everyone expected at the session, by name, with who marked them."""
    alias = router.db_for_read(Attendance)
    return _roster_entries(_roster_statement(alias, connections[alias].vendor).rows(
        {"session": session.pk}))


def roster_row(*, attendance_pk: int, session: TherapySession) -> RosterEntry:
    """One row of the session's roster (a marking's answer); Attendance.DoesNotExist if none."""
    rows = _roster_entries(Attendance.objects.filter(pk=attendance_pk, session=session)
                           .values_list(*_ROSTER_COLUMNS))
    if not rows:
        raise Attendance.DoesNotExist
    return rows[0]


def expected_left(*, session: TherapySession) -> int:
    return Attendance.objects.filter(session=session, status=AttendanceStatus.EXPECTED).count()


def search_words(query: str) -> list[str]:
    """The words of a participant search that count: the first five."""
    return query.split()[:5]


def participant_search(*, participants: QuerySet[Participant], query: str) -> QuerySet[Participant]:
    """Every word must match a name or the record number."""
    queryset = participants.select_related("home_site", "primary_clinician")
    for word in search_words(query):
        queryset = queryset.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word)
                                   | Q(record_number__icontains=word))
    return queryset.order_by("last_name", "first_name", "pk")
