"""The week calendar's sessions as plain strings placed on the time grid, so the template does no
per-row work."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.urls import reverse

from iop_clinic.formatting import clock
from sessions.models import TherapySession
from sessions.selectors.pages import WeekDay

from .timegrid import GridDay, GridItem, TimeGrid, time_grid

_PLACEHOLDER_PK = 987654321


@dataclass
class CalendarLine:
    session: TherapySession
    time: str  # "6:00 PM – 9:00 PM", local to the session's site
    title: str
    roster_url: str
    group: str  # the track's name, or the kind of a personal session
    details: str
    is_cancelled: bool

    @property
    def css(self) -> str:
        return "tg-cancelled" if self.is_cancelled else ""


def _minutes(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def calendar_lines(*, sessions: list[TherapySession], show_site: bool = False
                   ) -> list[CalendarLine]:
    """One line per session: local start and end, title, track, roster link and details."""
    roster = reverse("roster", args=[_PLACEHOLDER_PK]).rsplit(str(_PLACEHOLDER_PK), 1)
    kinds = dict(TherapySession._meta.get_field("kind").flatchoices)
    # A week of a clinic's sessions starts and ends at a few dozen times of day: each is
    # formatted once (formatting was a tenth of the calendar's time at 150 sessions a week).
    clocks: dict = {}

    def local_clock(moment: datetime) -> str:
        key = (moment.tzinfo, moment.utcoffset(), moment.time())
        if key not in clocks:
            clocks[key] = clock(moment)
        return clocks[key]

    lines = []
    for session in sessions:
        zone = session.site.zone
        room = session.room.name if session.room else ""
        facilitator = session.facilitator.get_full_name() if session.facilitator else ""
        kind = str(kinds.get(session.kind, session.kind))
        details = [room or "No room", facilitator or "No facilitator",
                   f"{session.expected_count} expected"]
        if show_site:
            details.insert(0, session.site.name)
        lines.append(CalendarLine(
            session=session,
            time=(f"{local_clock(session.starts_at.astimezone(zone))} – "
                  f"{local_clock(session.ends_at.astimezone(zone))}"),
            title=session.title or session.session_type.name,
            roster_url=f"{roster[0]}{session.pk}{roster[1]}",
            group=session.track.name if session.track_id else kind,
            details=" · ".join(details),
            is_cancelled=session.is_cancelled,
        ))
    return lines


def calendar_grid(*, days: list[WeekDay], today: date, focus: date,
                  show_site: bool = False) -> TimeGrid:
    """The week's sessions on the grid, each at its site's wall-clock time."""
    grid_days = []
    for day in days:
        items = []
        for line in calendar_lines(sessions=day.sessions, show_site=show_site):
            zone = line.session.site.zone
            starts = line.session.starts_at.astimezone(zone)
            ends = line.session.ends_at.astimezone(zone)
            # A session running past midnight is drawn to the end of its day.
            end = _minutes(ends) if ends.date() == starts.date() else 24 * 60
            items.append(GridItem(start=_minutes(starts), end=end, payload=line))
        grid_days.append(GridDay(day=day.day, weekday=day.day.weekday(), items=items))
    return time_grid(days=grid_days, today=today, focus=focus)
