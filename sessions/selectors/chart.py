"""The participant chart's own reads: consents, enrollments, coming and past visits, follow-ups.

Visits and follow-ups come back as plain dicts of the columns the chart shows: ninety visits
built as an attendance, a session, a site, a room and a session type each were a fifth of the
chart's time. The coming and the past visits are one SQL statement written out here: Django
took longer to compile the two querysets (the make-up subquery most) than PostgreSQL took to
run them. Four queries whatever the size of the clinic.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection
from django.utils.dateparse import parse_date, parse_datetime

from participants.models import ContactConsent, Enrollment, Participant

from ..models import AttendanceStatus, SessionStatus
from .makeups import LIVE_MAKEUP_STATUSES

CHART_HISTORY_LIMIT = 60
CHART_UPCOMING_LIMIT = 30


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


# Up to 30 coming visits, soonest first, and up to 60 past or marked ones, latest first, each
# its own ORDER BY and LIMIT inside a derived table (SQLite allows neither in a UNION's arms).
# A past visit carries the day of the live make-up booked for it, if any (made_up_on).
_VISITS_SQL = f"""
SELECT * FROM (
  SELECT 0 AS upcoming, a.id, a.status, a.makeup_for_id, a.session_id, s.title,
         st.name AS type_name, s.local_date, s.starts_at, site.time_zone,
         room.name AS room_name, CAST(NULL AS integer) AS minutes_attended,
         CAST(NULL AS varchar(20)) AS session_status, CAST(NULL AS varchar(20)) AS kind,
         CAST(NULL AS date) AS made_up_on
  FROM iop_sessions_attendance a
  JOIN iop_sessions_therapysession s ON s.id = a.session_id
  JOIN programs_sessiontype st ON st.id = s.session_type_id
  JOIN programs_site site ON site.id = s.site_id
  LEFT JOIN programs_room room ON room.id = s.room_id
  WHERE a.participant_id = %s AND s.local_date >= %s AND s.status = %s
    AND a.status NOT IN ({_placeholders(AttendanceStatus.marked())})
  ORDER BY s.starts_at, a.id
  LIMIT %s
) AS coming
UNION ALL
SELECT * FROM (
  SELECT 1, a.id, a.status, a.makeup_for_id, a.session_id, s.title, st.name, s.local_date,
         s.starts_at, NULL, NULL, a.minutes_attended, s.status, s.kind,
         (SELECT ms.local_date
          FROM iop_sessions_attendance m
          JOIN iop_sessions_therapysession ms ON ms.id = m.session_id
          WHERE m.makeup_for_id = a.id AND ms.status = %s
            AND m.status IN ({_placeholders(LIVE_MAKEUP_STATUSES)})
          ORDER BY ms.starts_at
          LIMIT 1)
  FROM iop_sessions_attendance a
  JOIN iop_sessions_therapysession s ON s.id = a.session_id
  JOIN programs_sessiontype st ON st.id = s.session_type_id
  WHERE a.participant_id = %s
    AND (s.local_date < %s OR a.status IN ({_placeholders(AttendanceStatus.marked())}))
  ORDER BY s.starts_at DESC, a.id DESC
  LIMIT %s
) AS past
"""


def _day(value) -> date | None:
    # SQLite may hand a date back as text (outside a column its type is lost); PostgreSQL
    # as a date.
    return parse_date(value) if isinstance(value, str) else value


def _moment(value) -> datetime:
    if isinstance(value, str):
        value = parse_datetime(value)
    if value.tzinfo is None:  # SQLite keeps UTC without its offset
        value = value.replace(tzinfo=UTC)
    return value


def chart_visits(*, participant_id: int, today: date) -> tuple[list[dict], list[dict]]:
    """The chart's coming visits (not marked yet, of scheduled sessions from today on) and its
    past ones (before today, or marked already), as dicts of the columns the chart shows. One
    query."""
    with connection.cursor() as cursor:
        cursor.execute(_VISITS_SQL, (
            participant_id, today, SessionStatus.SCHEDULED, *AttendanceStatus.marked(),
            CHART_UPCOMING_LIMIT,
            SessionStatus.SCHEDULED, *LIVE_MAKEUP_STATUSES,
            participant_id, today, *AttendanceStatus.marked(), CHART_HISTORY_LIMIT))
        rows = cursor.fetchall()
    upcoming, history = [], []
    for (is_past, pk, status, makeup_for_id, session_id, title, type_name, local_date,
         starts_at, time_zone, room_name, minutes, session_status, kind, made_up_on) in rows:
        visit = {"pk": pk, "status": status, "makeup_for_id": makeup_for_id,
                 "session_id": session_id, "session__title": title,
                 "session__session_type__name": type_name,
                 "session__local_date": _day(local_date), "session__starts_at": _moment(starts_at)}
        if is_past:
            visit.update({"minutes_attended": minutes, "session__status": session_status,
                          "session__kind": kind, "made_up_on": _day(made_up_on)})
            history.append(visit)
        else:
            visit.update({"session__site__time_zone": time_zone, "session__room__name": room_name})
            upcoming.append(visit)
    # A UNION's rows come in no promised order: each list is put back in its own.
    upcoming.sort(key=lambda v: (v["session__starts_at"], v["pk"]))
    history.sort(key=lambda v: (v["session__starts_at"], v["pk"]), reverse=True)
    return upcoming, history


@dataclass
class ParticipantChart:
    participant: Participant
    consents: list[ContactConsent]
    enrollments: list[Enrollment]
    upcoming: list[dict]
    history: list[dict]
    followups: list[dict]


def participant_chart(*, participant: Participant, today: date) -> ParticipantChart:
    upcoming, history = chart_visits(participant_id=participant.pk, today=today)
    return ParticipantChart(
        participant=participant,
        consents=list(participant.consents.order_by("channel", "-given_at")),
        # With each one's continuing-care plan (one to one): chart_care reads them here.
        enrollments=list(participant.enrollments
                         .select_related("track__program", "track__site", "care_plan")
                         .order_by("-admission_date", "-pk")),
        upcoming=upcoming,
        history=history,
        followups=list(participant.followups.order_by("status", "-created_at").values(
            "pk", "kind", "status", "created_at", "outcome_note",
            "assignee__first_name", "assignee__last_name")),
    )
