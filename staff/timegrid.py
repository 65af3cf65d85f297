"""Places timed items on the staff pages' time grid (seven days by quarter hours) as class names.

The Content-Security-Policy forbids style attributes, so an item's row, height and lane are
classes (`tg-start-N`, `tg-span-N`, `tg-col-N`, `tg-cols-N`; the grid's `tg-rows-N`) that
static/css/timegrid.css defines. The week calendar, the schedule builder and the schedule
preview share the grid (templates/staff/_timegrid.html).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, time
from html import escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from iop_clinic.formatting import clock, day as short_day, long_day

STEP_MINUTES = 15
MAX_HOURS = 24
MAX_LANES = 6
COLUMNS = 12
DEFAULT_HOURS = (9, 17)  # an empty week still shows a working day


@dataclass
class GridItem:
    """One block on the grid: minutes since local midnight, and what the template shows."""

    start: int
    end: int
    payload: Any
    lane: int = 1
    lanes: int = 1  # how many share the width where this item is
    row: int = 1
    span: int = 1

    @property
    def classes(self) -> str:
        # A day is 12 columns wide, so 1, 2, 3, 4 or 6 lanes divide it evenly (5 use sixths).
        width = COLUMNS // (6 if self.lanes == 5 else self.lanes)
        return (f"tg-start-{self.row} tg-span-{self.span} "
                f"tg-col-{(self.lane - 1) * width + 1} tg-cols-{width}")


@dataclass
class GridDay:
    day: date | None
    weekday: int
    items: list[GridItem] = field(default_factory=list)
    label: str = ""  # a timetable's weekday ("Monday"), where days carry no date
    is_today: bool = False
    is_focus: bool = False
    html: str = ""  # the day's blocks rendered already (the week calendar): no item template


@dataclass
class HourLabel:
    hour: int
    classes: str

    @property
    def label(self) -> str:
        return clock(time(self.hour))


@dataclass
class TimeGrid:
    days: list[GridDay]
    first_hour: int
    last_hour: int

    @property
    def rows(self) -> int:
        return (self.last_hour - self.first_hour) * 60 // STEP_MINUTES

    @property
    def body_classes(self) -> str:
        return f"tg-rows-{self.rows}"

    @property
    def hours(self) -> list[HourLabel]:
        per_hour = 60 // STEP_MINUTES
        return [HourLabel(hour=hour, classes=f"tg-start-{(hour - self.first_hour) * per_hour + 1} "
                                             f"tg-span-{per_hour}")
                for hour in range(self.first_hour, self.last_hour)]

    @property
    def count(self) -> int:
        return sum(len(day.items) for day in self.days)


def _lanes(items: list[GridItem]) -> None:
    """Side-by-side lanes for items that overlap in time, cluster by cluster: an item shares
    the day's width only with the items it overlaps (directly or through a chain of them)."""
    cluster: list[GridItem] = []
    lane_ends: list[int] = []
    cluster_end = -1

    def close() -> None:
        width = min(len(lane_ends), MAX_LANES)
        for member in cluster:
            member.lanes = width
    for item in sorted(items, key=lambda i: (i.start, i.end)):
        if item.start >= cluster_end and cluster:
            close()
            cluster, lane_ends = [], []
        for index, end in enumerate(lane_ends):
            if end <= item.start:
                lane_ends[index] = item.end
                item.lane = index + 1
                break
        else:
            lane_ends.append(item.end)
            item.lane = len(lane_ends)
        # More lanes than the page has room for share the last one.
        item.lane = min(item.lane, MAX_LANES)
        cluster.append(item)
        cluster_end = max(cluster_end, item.end)
    if cluster:
        close()


def time_grid(*, days: Iterable[GridDay], today: date | None = None,
              focus: date | None = None) -> TimeGrid:
    """Lay out the days' items: the hours they cover (at least a working day), rows and lanes."""
    days = list(days)
    items = [item for day in days for item in day.items]
    if items:
        first = min(item.start for item in items) // 60
        last = min(MAX_HOURS, -(-max(item.end for item in items) // 60))
        # Keep a few hours on screen so one short session doesn't fill the page.
        last = max(last, min(MAX_HOURS, first + 4))
    else:
        first, last = DEFAULT_HOURS
    for day in days:
        day.is_today = day.day is not None and day.day == today
        day.is_focus = day.day is not None and day.day == focus
        day.items.sort(key=lambda i: (i.start, i.end))
        for item in day.items:
            start = max(item.start, first * 60)
            end = min(max(item.end, start + STEP_MINUTES), last * 60)
            item.row = (start - first * 60) // STEP_MINUTES + 1
            item.span = max(1, -(-(end - start) // STEP_MINUTES))
        _lanes(day.items)
    return TimeGrid(days=days, first_hour=first, last_hour=last)


def grid_html(grid: TimeGrid, *, grid_id: str, heading: str = "h2", day_view: bool = False,
              dated: bool = False, empty_text: str = "Nothing.") -> SafeString:
    """What templates/staff/_timegrid.html writes for a grid whose days carry their blocks
    rendered already (GridDay.html, the week calendar), byte for byte; the template's
    fifty-odd lookups a day were a tenth of the calendar's time. Every value is escaped as
    autoescaping did; a day's html is already safe."""
    if any(day.items and not day.html for day in grid.days):
        raise ValueError("grid_html writes days whose blocks are rendered (GridDay.html)")
    body = escape(grid.body_classes)
    grid_id = escape(grid_id)
    heading = escape(heading or "h2")
    empty = escape(empty_text or "Nothing.")
    hours = "".join(f'<li class="tg-hour {escape(hour.classes)}">{escape(hour.label)}</li>'
                    for hour in grid.hours)
    parts = [f'\n<div class="timegrid{" timegrid-day-view" if day_view else ""}" id="{grid_id}">\n'
             f'  <div class="tg-hours" aria-hidden="true">\n'
             f'    <div class="tg-hours-head"></div>\n'
             f'    <ol class="tg-hour-list {body}">{hours}</ol>\n'
             f'  </div>\n  ']
    for number, day in enumerate(grid.days, start=1):
        classes = ((" tg-day-today" if day.is_today else "")
                   + (" tg-day-other" if day_view and not day.is_focus else "")
                   + ("" if day.items else " tg-day-empty"))
        if dated:
            title = (f'<span class="tg-weekday-short">{escape(short_day(day.day))}</span>'
                     f'<span class="tg-weekday-long">{escape(long_day(day.day))}</span>'
                     + (' <span class="badge text-bg-primary">Today</span>'
                        if day.is_today else ""))
        else:
            title = escape(day.label)
        current = ' aria-current="date"' if day.is_today else ""
        if day.items:
            events = (f'\n    <ol class="tg-events {body}">\n      {day.html}\n    </ol>\n    ')
        else:
            events = (f'\n    <div class="tg-events {body}"><p class="tg-empty">{empty}</p></div>'
                      f'\n    ')
        parts.append(
            f'\n  <section class="tg-day{classes}" aria-labelledby="{grid_id}-day-{number}">\n'
            f'    <{heading} class="tg-day-head" id="{grid_id}-day-{number}"{current}>'
            f'{title}</{heading}>\n    {events}\n  </section>\n  ')
    parts.append("\n</div>\n")
    # Safe: every value is escaped, and each day's html was built escaped (GridDay.html).
    return mark_safe("".join(parts))
