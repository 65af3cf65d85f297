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
from datetime import date
from html import escape

from django.utils.safestring import mark_safe

from iop_clinic.formatting import clock
from iop_clinic.page_rows import RowUrl, choice_labels
from sessions.models import SessionStatus, TherapySession
from sessions.selectors.pages import WeekDay

from .timegrid import GridDay, GridItem, TimeGrid, time_grid


# One block, as templates/staff/_timegrid.html's item loop wrote it around the block template
# (which ended with a newline): a cancelled session has no roster link and says so.
_HEAD_CANCELLED = ('<span class="tg-time">{}</span> <span class="tg-title">{}</span> '
                   '<span class="badge text-bg-danger">Cancelled</span>')
_HEAD_LINKED = '<a href="{}"><span class="tg-time">{}</span> <span class="tg-title">{}</span></a>'
_TAIL = '\n<span class="tg-meta tg-group">{}</span>\n<span class="tg-meta">{}</span></div>\n</li>\n      '


@dataclass
class CalendarLine:
    """A session's block but for its place on the grid: `card` is its HTML from the card's
    contents to the block's end, every value in it escaped."""

    card: str
    is_cancelled: bool

    @property
    def css(self) -> str:
        return "tg-cancelled" if self.is_cancelled else ""


def calendar_lines(*, days: list[WeekDay],
                   show_site: bool = False) -> list[list[tuple[CalendarLine, int, int]]]:
    """For each day, one line per session (a row of pages.CALENDAR_FIELDS): local start and
    end, title, track, roster link and details, written as HTML; with the minutes since local
    midnight it starts and ends at (a session running past midnight is drawn to the end of its
    day). The roster URL, the kinds' labels and the clock texts are prepared once for the week.

    A week of a clinic's sessions repeats a few dozen times of day, titles, tracks, rooms and
    facilitators: each text is formatted and escaped once a page (html.escape, what the
    template's autoescaping called: formatting was a tenth of the calendar's time at 150
    sessions a week, escaping eight values a block as much again)."""
    roster = RowUrl("roster")
    # The roster URL is its reversed halves around the session's id (digits).
    roster_url = roster if roster.html_safe else (lambda pk: escape(roster(pk)))
    kinds = choice_labels(TherapySession, "kind")
    times: dict[tuple, str] = {}
    # A block's title and what follows its head (track, room, facilitator, count), escaped,
    # by the values they are written from: a group's sessions repeat them all week.
    texts: dict[tuple, tuple[str, str]] = {}
    zones: dict[str, zoneinfo.ZoneInfo] = {}

    def texts_of(session) -> tuple[str, str]:
        facilitator = (f"{session.facilitator__first_name} {session.facilitator__last_name}"
                       .strip() if session.facilitator__first_name is not None else "")
        details = [session.room__name or "No room", facilitator or "No facilitator",
                   f"{session.expected_count} expected"]
        if show_site:
            details.insert(0, session.site__name)
        group = (session.track__name if session.track_id
                 else kinds.get(session.kind, session.kind))
        return (escape(session.title or session.session_type__name),
                _TAIL.format(escape(group), escape(" · ".join(details))))

    def line_of(session) -> tuple[CalendarLine, int, int]:
        zone = zones.get(session.site__time_zone)
        if zone is None:
            zone = zones[session.site__time_zone] = zoneinfo.ZoneInfo(session.site__time_zone)
        starts = session.starts_at.astimezone(zone)
        ends = session.ends_at.astimezone(zone)
        start_time, end_time = starts.time(), ends.time()
        key = (zone, starts.utcoffset(), start_time, ends.utcoffset(), end_time)
        time_text = times.get(key)
        if time_text is None:
            time_text = times[key] = escape(f"{clock(starts)} – {clock(ends)}")
        shown = (session.title, session.session_type__name, session.track_id,
                 session.track__name, session.kind, session.room__name,
                 session.facilitator__first_name, session.facilitator__last_name,
                 session.expected_count, session.site__name)
        found = texts.get(shown)
        if found is None:
            found = texts[shown] = texts_of(session)
        title, tail = found
        is_cancelled = session.status == SessionStatus.CANCELLED
        head = (_HEAD_CANCELLED.format(time_text, title) if is_cancelled
                else _HEAD_LINKED.format(roster_url(session.pk), time_text, title))
        start = start_time.hour * 60 + start_time.minute
        end = (end_time.hour * 60 + end_time.minute if ends.date() == starts.date()
               else 24 * 60)
        return CalendarLine(card=head + tail, is_cancelled=is_cancelled), start, end

    return [[line_of(session) for session in day.sessions] for day in days]


def _block(item: GridItem) -> str:
    # The grid's classes are made of numbers, the line's of constants: nothing to escape.
    line = item.payload
    return f'<li class="tg-event {item.classes} {line.css}"><div class="tg-card">{line.card}'


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
        # Safe: calendar_lines escaped every value of the cards; the classes are numbers.
        day.html = mark_safe("".join(_block(item) for item in day.items))
    return grid
