"""The week calendar's sessions as blocks of HTML placed on the time grid, so the template does
no per-block work.

A week at two sites is some 300 blocks; including a block template for each (and resolving a
dozen variables in it) was most of the calendar's time. Each block is built here, every value
escaped as the template's autoescaping did, and each day's blocks are joined into one string
that templates/staff/_timegrid.html prints in place of its item loop.
"""
from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime
from html import escape

from django.utils.safestring import mark_safe

from iop_clinic.formatting import clock
from iop_clinic.page_rows import RowUrl, choice_labels
from sessions.models import SessionStatus, TherapySession
from sessions.selectors.pages import WeekDay

from .timegrid import GridDay, GridItem, TimeGrid, time_grid


# One block, as templates/staff/_timegrid.html's item loop wrote it around the block template
# (which ended with a newline): a cancelled session has no roster link and says so.
_BLOCK = ('<li class="tg-event {} {}"><div class="tg-card">{}\n'
          '<span class="tg-meta tg-group">{}</span>\n'
          '<span class="tg-meta">{}</span></div>\n</li>\n      ')
_HEAD_CANCELLED = ('<span class="tg-time">{}</span> <span class="tg-title">{}</span> '
                   '<span class="badge text-bg-danger">Cancelled</span>')
_HEAD_LINKED = '<a href="{}"><span class="tg-time">{}</span> <span class="tg-title">{}</span></a>'


@dataclass
class CalendarLine:
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


def calendar_lines(*, days: list[WeekDay],
                   show_site: bool = False) -> list[list[tuple[CalendarLine, int, int]]]:
    """For each day, one line per session (a row of pages.CALENDAR_FIELDS): local start and
    end, title, track, roster link and details; with the minutes since local midnight it
    starts and ends at (a session running past midnight is drawn to the end of its day).
    The roster URL, the kinds' labels and the clock texts are prepared once for the week."""
    roster = RowUrl("roster")
    kinds = choice_labels(TherapySession, "kind")
    # A week of a clinic's sessions starts and ends at a few dozen times of day: each is
    # formatted once (formatting was a tenth of the calendar's time at 150 sessions a week).
    clocks: dict = {}
    zones: dict[str, zoneinfo.ZoneInfo] = {}

    def local_clock(moment: datetime) -> str:
        key = (moment.tzinfo, moment.utcoffset(), moment.time())
        if key not in clocks:
            clocks[key] = clock(moment)
        return clocks[key]

    def line_of(session) -> tuple[CalendarLine, int, int]:
        zone = zones.get(session.site__time_zone)
        if zone is None:
            zone = zones[session.site__time_zone] = zoneinfo.ZoneInfo(session.site__time_zone)
        starts = session.starts_at.astimezone(zone)
        ends = session.ends_at.astimezone(zone)
        facilitator = (f"{session.facilitator__first_name} {session.facilitator__last_name}"
                       .strip() if session.facilitator__first_name is not None else "")
        details = [session.room__name or "No room", facilitator or "No facilitator",
                   f"{session.expected_count} expected"]
        if show_site:
            details.insert(0, session.site__name)
        line = CalendarLine(
            time=f"{local_clock(starts)} – {local_clock(ends)}",
            title=session.title or session.session_type__name,
            roster_url=roster(session.pk),
            group=(session.track__name if session.track_id
                   else kinds.get(session.kind, session.kind)),
            details=" · ".join(details),
            is_cancelled=session.status == SessionStatus.CANCELLED,
        )
        end = _minutes(ends) if ends.date() == starts.date() else 24 * 60
        return line, _minutes(starts), end

    return [[line_of(session) for session in day.sessions] for day in days]


def _block(item: GridItem) -> str:
    # html.escape is what format_html and the template's autoescape call (through
    # django.utils.html.escape) on each value, without their lazy-string and SafeString
    # wrapping, a third of this function's time.
    line = item.payload
    if line.is_cancelled:
        head = _HEAD_CANCELLED.format(escape(line.time), escape(line.title))
    else:
        head = _HEAD_LINKED.format(escape(line.roster_url), escape(line.time), escape(line.title))
    return _BLOCK.format(escape(item.classes), escape(line.css), head, escape(line.group),
                         escape(line.details))


def calendar_grid(*, days: list[WeekDay], today: date, focus: date,
                  show_site: bool = False) -> TimeGrid:
    """The week's sessions on the grid, each at its site's wall-clock time, each day's blocks
    rendered (GridDay.html)."""
    grid_days = []
    for day, lines in zip(days, calendar_lines(days=days, show_site=show_site), strict=True):
        items = [GridItem(start=start, end=end, payload=line) for line, start, end in lines]
        grid_days.append(GridDay(day=day.day, weekday=day.day.weekday(), items=items))
    grid = time_grid(days=grid_days, today=today, focus=focus)
    for day in grid.days:
        # Safe: _block escaped every value it put in.
        day.html = mark_safe("".join(_block(item) for item in day.items))
    return grid
