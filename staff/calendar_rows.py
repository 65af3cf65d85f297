"""The week calendar's session lines as plain strings, so the template does no per-row work."""
from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.urls import reverse

from iop_clinic.formatting import clock
from sessions.models import TherapySession

_PLACEHOLDER_PK = 987654321


@dataclass
class CalendarLine:
    session: TherapySession
    time: str
    title: str
    roster_url: str
    details: str
    is_cancelled: bool


def calendar_lines(*, sessions: list[TherapySession], zone: ZoneInfo) -> list[CalendarLine]:
    """One line per session: local start time, title, roster link and the details line."""
    roster = reverse("roster", args=[_PLACEHOLDER_PK]).rsplit(str(_PLACEHOLDER_PK), 1)
    kinds = dict(TherapySession._meta.get_field("kind").flatchoices)
    lines = []
    for session in sessions:
        room = session.room.name if session.room else ""
        facilitator = session.facilitator.get_full_name() if session.facilitator else ""
        lines.append(CalendarLine(
            session=session,
            time=clock(session.starts_at.astimezone(zone)),
            title=session.title or session.session_type.name,
            roster_url=f"{roster[0]}{session.pk}{roster[1]}",
            details=(f"{kinds.get(session.kind, session.kind)} · {room or 'No room'} · "
                     f"{facilitator or '—'} · {session.expected_count} expected"),
            is_cancelled=session.is_cancelled,
        ))
    return lines
