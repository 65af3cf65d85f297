"""The participant chart's own reads: consents, enrollments, coming and past visits, follow-ups.

Visits and follow-ups come back as plain dicts of the columns the chart shows: ninety visits
built as an attendance, a session, a site, a room and a session type each were a fifth of the
chart's time. The visits, the consents, the follow-ups and the excuse requests are one SQL statement written out
here: Django took longer to compile their querysets (the make-up subquery most) than
PostgreSQL took to run them. Two queries whatever the size of the clinic.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from functools import cache

from django.db import connection, connections, router

from iop_clinic.prepared import fetchall
from iop_clinic.compiled import CompiledQuery, compile_once
from iop_clinic.sql_params import read_date, read_moment

from participants.models import ContactConsent, Enrollment, Participant

from ..models import AttendanceStatus, ExcuseStatus, SessionStatus
from .ledger import ledger_enrollment, ledger_window
from .makeups import LIVE_MAKEUP_STATUSES
from .session_of_row import session_of_row

CHART_HISTORY_LIMIT = 60
CHART_UPCOMING_LIMIT = 30
CHART_EXCUSES_LIMIT = 50


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


# One statement for six lists, each its own arm, told apart by `part`: up to 30 coming visits,
# soonest first, and up to 60 past or marked ones, latest first (each its own ORDER BY and LIMIT
# inside a derived table: SQLite allows neither in a UNION's arms); the contact consents; the
# follow-ups; up to 50 excused-absence requests waiting for an answer, by the visit's time; the
# hours ledger's attendance rows in its enrollment's window. A past visit carries the day of the
# live make-up booked for it, if any (made_up_on). The other lists' columns ride in the visits'
# columns of their type (named in each arm), with `place`, their order, and two columns of their
# own (`moment2`, `note`). Six statements cost five more round trips, and compiling the ORM
# querysets took more CPU than the statements took to run.
#
# The visits, the excuses and the ledger all read the participant's attendance rows with their
# sessions (`mine`, read once: a CTE named more than once is materialized). On PostgreSQL each
# row finds its session by primary key (a LATERAL subquery that OFFSET 0 keeps from being
# pulled up): joined, the planner read the whole sessions table (a sequential scan, there in
# three arms, that grows with the clinic) to hash a participant's two hundred rows. The names
# (session type, site, room) are scalar subqueries read for the rows returned only: as joins,
# planning them was most of the statement's time (planning ~2.0-3.4 -> ~1.1 ms at 2,000).
_PART_COMING, _PART_PAST, _PART_CONSENT, _PART_FOLLOWUP, _PART_EXCUSE, _PART_LEDGER = range(6)
_SESSION_COLUMNS = ("s.title, s.session_type_id, s.site_id, s.room_id, s.local_date, "
                    "s.starts_at, s.ends_at, s.status, s.kind")
_TYPE_NAME = "(SELECT st.name FROM programs_sessiontype st WHERE st.id = m.session_type_id)"
_LISTS_SQL = f"""
WITH mine AS (
  SELECT a.id, a.status, a.makeup_for_id, a.session_id, a.minutes_attended, s.title,
         s.session_type_id, s.site_id, s.room_id, s.local_date, s.starts_at, s.ends_at,
         s.status AS session_status, s.kind
  FROM iop_sessions_attendance a
  {{session_of_row}}
  WHERE a.participant_id = %s
)
SELECT * FROM (
  SELECT {_PART_COMING} AS part, m.id, m.status, m.makeup_for_id, m.session_id, m.title,
         {_TYPE_NAME} AS type_name, m.local_date, m.starts_at,
         (SELECT site.time_zone FROM programs_site site WHERE site.id = m.site_id) AS time_zone,
         (SELECT room.name FROM programs_room room WHERE room.id = m.room_id) AS room_name,
         CAST(NULL AS integer) AS minutes_attended,
         CAST(NULL AS varchar(20)) AS session_status, CAST(NULL AS varchar(20)) AS kind,
         CAST(NULL AS date) AS made_up_on, CAST(NULL AS integer) AS place,
         CAST(NULL AS timestamp with time zone) AS moment2, CAST(NULL AS text) AS note
  FROM mine m
  WHERE m.local_date >= %s AND m.session_status = %s
    AND m.status NOT IN ({_placeholders(AttendanceStatus.marked())})
  ORDER BY m.starts_at, m.id
  LIMIT %s
) AS coming
UNION ALL
SELECT * FROM (
  SELECT {_PART_PAST}, m.id, m.status, m.makeup_for_id, m.session_id, m.title, {_TYPE_NAME},
         m.local_date, m.starts_at, NULL, NULL, m.minutes_attended, m.session_status, m.kind,
         (SELECT ms.local_date
          FROM iop_sessions_attendance mu
          JOIN iop_sessions_therapysession ms ON ms.id = mu.session_id
          WHERE mu.makeup_for_id = m.id AND ms.status = %s
            AND mu.status IN ({_placeholders(LIVE_MAKEUP_STATUSES)})
          ORDER BY ms.starts_at
          LIMIT 1),
         CAST(NULL AS integer), CAST(NULL AS timestamp with time zone), CAST(NULL AS text)
  FROM mine m
  WHERE m.local_date < %s OR m.status IN ({_placeholders(AttendanceStatus.marked())})
  ORDER BY m.starts_at DESC, m.id DESC
  LIMIT %s
) AS past
UNION ALL
SELECT {_PART_CONSENT}, c.id, c.channel /* status */, NULL, NULL, c.source /* title */,
       c.revoked_source /* type_name */, NULL, c.given_at /* starts_at */, NULL, NULL, NULL,
       NULL, NULL, NULL, ROW_NUMBER() OVER (ORDER BY c.channel, c.given_at DESC, c.id),
       c.revoked_at, NULL
FROM participants_contactconsent c
WHERE c.participant_id = %s
UNION ALL
SELECT {_PART_FOLLOWUP}, f.id, f.status, NULL, NULL, f.kind /* title */,
       u.first_name /* type_name */, NULL, f.created_at /* starts_at */,
       u.last_name /* time_zone */, NULL, NULL, NULL, NULL, NULL,
       ROW_NUMBER() OVER (ORDER BY f.status, f.created_at DESC, f.id), NULL, f.outcome_note
FROM iop_sessions_followup f
LEFT JOIN accounts_user u ON u.id = f.assignee_id
WHERE f.participant_id = %s
UNION ALL
SELECT * FROM (
  SELECT {_PART_EXCUSE}, x.id, CAST(NULL AS text), CAST(NULL AS integer),
         CAST(NULL AS integer), CAST(NULL AS text), {_TYPE_NAME} /* type_name */, m.local_date,
         x.requested_at /* starts_at */, CAST(NULL AS text), CAST(NULL AS text),
         CAST(NULL AS integer), CAST(NULL AS text), CAST(NULL AS text), CAST(NULL AS date),
         ROW_NUMBER() OVER (ORDER BY m.starts_at, x.id),
         CAST(NULL AS timestamp with time zone), CAST(x.code AS text) /* note */
  FROM iop_sessions_excusedabsencerequest x
  JOIN mine m ON m.id = x.attendance_id
  WHERE x.status = %s
  ORDER BY m.starts_at, x.id
  LIMIT %s
) AS excuses
UNION ALL
SELECT {_PART_LEDGER}, NULL, m.status, NULL, NULL, NULL, NULL, m.local_date, m.starts_at, NULL,
       NULL, m.minutes_attended, NULL, NULL, NULL,
       CAST((SELECT st.counts_toward_hours FROM programs_sessiontype st
             WHERE st.id = m.session_type_id) AS integer) /* place */,
       m.ends_at /* moment2 */, NULL
FROM mine m
WHERE m.local_date >= %s AND m.local_date <= %s AND m.status <> %s AND m.session_status <> %s
"""


@cache
def _lists_sql(vendor: str) -> str:
    return _LISTS_SQL.format(session_of_row=session_of_row(vendor, _SESSION_COLUMNS))


_CONSENT_FIELDS = ["id", "participant_id", "channel", "given_at", "source", "revoked_at",
                   "revoked_source"]




@dataclass
class ChartLists:
    upcoming: list[dict]
    history: list[dict]
    consents: list[ContactConsent]
    followups: list[dict]
    excuses: list[dict]
    # The hours ledger's attendance rows (`ledger._ledger_queryset`'s) in the window asked for,
    # None when none was.
    ledger_rows: list[tuple] | None = None


def chart_lists(*, participant_id: int, today: date,
                ledger_window: tuple[date, date] | None = None) -> ChartLists:
    """The chart's coming visits (not marked yet, of scheduled sessions from today on) and its
    past ones (before today, or marked already), as dicts of the columns the chart shows; its
    contact consents (by channel, newest first); its follow-ups (by status, newest first) and its
    excused-absence requests waiting for an answer (by the visit's time: code, requested_at,
    local_date and session_type), as dicts; with `ledger_window` (first and last day), the rows
    the hours ledger reads for it (`hours_ledger(rows=...)`), in no order. One query."""
    start, end = ledger_window or (None, None)
    # Prepared once a connection (iop_clinic.prepared): planning took ~0.6 ms of each chart at
    # 2,000 participants, and the generic plan is the same.
    rows = fetchall(_lists_sql(connection.vendor), (
        participant_id,  # mine
        today, SessionStatus.SCHEDULED, *AttendanceStatus.marked(), CHART_UPCOMING_LIMIT,
        SessionStatus.SCHEDULED, *LIVE_MAKEUP_STATUSES,
        today, *AttendanceStatus.marked(), CHART_HISTORY_LIMIT,
        participant_id, participant_id,
        ExcuseStatus.PENDING, CHART_EXCUSES_LIMIT,
        start, end, AttendanceStatus.CANCELLED, SessionStatus.CANCELLED), prepare=True)
    lists = ChartLists(upcoming=[], history=[], consents=[], followups=[], excuses=[])
    consents, followups, excuses, ledger_rows = [], [], [], []
    native = connection.vendor == "postgresql"
    for (part, pk, status, makeup_for_id, session_id, title, type_name, local_date,
         starts_at, time_zone, room_name, minutes, session_status, kind, made_up_on,
         place, moment2, note) in rows:
        if part == _PART_LEDGER:
            # As the ledger's values query gives them: (status, minutes attended, start, end,
            # local date, whether the type counts toward hours). PostgreSQL gives aware times
            # and dates already: two hundred rows needn't be looked at again.
            ledger_rows.append((status, minutes, starts_at, moment2, local_date, bool(place))
                               if native else
                               (status, minutes, read_moment(starts_at), read_moment(moment2),
                                read_date(local_date), bool(place)))
            continue
        if part == _PART_CONSENT:
            consents.append((place, ContactConsent.from_db(connection.alias, _CONSENT_FIELDS, (
                pk, participant_id, status, read_moment(starts_at), title, read_moment(moment2),
                type_name))))
            continue
        if part == _PART_FOLLOWUP:
            followups.append((place, {
                "pk": pk, "kind": title, "status": status, "created_at": read_moment(starts_at),
                "outcome_note": note, "assignee__first_name": type_name,
                "assignee__last_name": time_zone}))
            continue
        if part == _PART_EXCUSE:
            excuses.append((place, {
                "code": uuid.UUID(note), "requested_at": read_moment(starts_at),
                "local_date": read_date(local_date), "session_type": type_name}))
            continue
        visit = {"pk": pk, "status": status, "makeup_for_id": makeup_for_id,
                 "session_id": session_id, "session__title": title,
                 "session__session_type__name": type_name,
                 "session__local_date": read_date(local_date),
                 "session__starts_at": read_moment(starts_at)}
        if part == _PART_PAST:
            visit.update({"minutes_attended": minutes, "session__status": session_status,
                          "session__kind": kind, "made_up_on": read_date(made_up_on)})
            lists.history.append(visit)
        else:
            visit.update({"session__site__time_zone": time_zone, "session__room__name": room_name})
            lists.upcoming.append(visit)
    # A UNION's rows come in no promised order: each list is put back in its own.
    lists.upcoming.sort(key=lambda v: (v["session__starts_at"], v["pk"]))
    lists.history.sort(key=lambda v: (v["session__starts_at"], v["pk"]), reverse=True)
    lists.consents = [consent for _place, consent in sorted(consents, key=lambda p: p[0])]
    lists.followups = [followup for _place, followup in sorted(followups, key=lambda p: p[0])]
    lists.excuses = [excuse for _place, excuse in sorted(excuses, key=lambda p: p[0])]
    if ledger_window is not None:
        lists.ledger_rows = ledger_rows
    return lists


@dataclass
class ParticipantChart:
    participant: Participant
    consents: list[ContactConsent]
    enrollments: list[Enrollment]
    upcoming: list[dict]
    history: list[dict]
    followups: list[dict]
    # Excused-absence requests waiting for an answer: dicts of code, requested_at, local_date
    # and session_type.
    excuses: list[dict]
    # The attendance rows of the hours ledger's enrollment (`ledger_enrollment`) in its window,
    # read with the lists; None when there is no such enrollment.
    ledger_rows: list[tuple] | None = None


# The participant id the enrollments query is compiled with, replaced by the real one when it
# runs.
_ANY_PARTICIPANT = -1
_ENROLLMENT_PARTICIPANT = Enrollment._meta.get_field("participant")


@cache
def _enrollments_statement(alias: str, vendor: str) -> CompiledQuery:
    """"A participant's enrollments, newest first, with their track, program, site,
    continuing-care plan and coverage (with its payer)", compiled by the ORM once per process
    (iop_clinic.compiled) and built as the ORM builds them: compiling the select_related joins
    cost about 1 ms of the chart's CPU, more than running them. Only the participant's id
    changes (a parameter). The coverages were a statement of their own (the chart's
    Authorizations section reads them, `authorizations.selectors.chart_authorizations`)."""
    queryset = (Enrollment.objects.using(alias).filter(participant_id=_ANY_PARTICIPANT)
                .select_related("track__program", "track__site", "care_plan", "coverage__payer")
                .order_by("-admission_date", "-pk"))
    return compile_once(queryset.query.get_compiler(using=alias),
                        {_ANY_PARTICIPANT: "participant"}, what="chart enrollments",
                        model=Enrollment, prepared=True)


def chart_enrollments(*, participant: Participant) -> list[Enrollment]:
    """What `participant.enrollments.select_related("track__program", "track__site",
    "care_plan", "coverage__payer").order_by("-admission_date", "-pk")` gives, each knowing
    its participant."""
    alias = router.db_for_read(Enrollment)
    enrollments = _enrollments_statement(alias, connections[alias].vendor).objects(
        {"participant": participant.pk})
    for enrollment in enrollments:  # as the related manager does
        _ENROLLMENT_PARTICIPANT.set_cached_value(enrollment, participant)
    return enrollments


def participant_chart(*, participant: Participant, today: date) -> ParticipantChart:
    """Two queries: the enrollments, then the lists (`chart_lists`) with the attendance rows of
    the hours ledger's enrollment."""
    # With each one's continuing-care plan (one to one): chart_care reads them here.
    enrollments = chart_enrollments(participant=participant)
    ledger_of = ledger_enrollment(enrollments)
    window = ledger_window(ledger_of) if ledger_of is not None else None
    lists = chart_lists(participant_id=participant.pk, today=today,
                        ledger_window=window if window and None not in window else None)
    return ParticipantChart(
        participant=participant,
        consents=lists.consents,
        enrollments=enrollments,
        upcoming=lists.upcoming,
        history=lists.history,
        followups=lists.followups,
        excuses=lists.excuses,
        ledger_rows=lists.ledger_rows,
    )
