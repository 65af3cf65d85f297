"""A track's weekly timetable and its schedule preview as blocks on the staff time grid."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


from iop_clinic.formatting import clock
from iop_clinic.page_rows import RowUrl
from programs.models import Weekday, WeeklySlot
from sessions.services.schedule import SchedulePlan

from .timegrid import GridDay, GridItem, TimeGrid, time_grid



@dataclass
class SlotLine:
    """A timetable line as the builder shows it; the block links to its own small page."""

    slot: WeeklySlot | None
    time: str  # "6:00 PM – 9:00 PM"
    title: str
    group: str  # the session type's full name
    details: str
    url: str = ""
    conflicts: tuple[str, ...] = ()

    @property
    def css(self) -> str:
        return "tg-conflict" if self.conflicts else ""


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _span_text(at: time, minutes: int) -> str:
    ends = (datetime.combine(date.min, at) + timedelta(minutes=minutes)).time()
    return f"{clock(at)} – {clock(ends)}"


def _details(slot: WeeklySlot) -> str:
    facilitator = slot.facilitator.get_full_name() if slot.facilitator else "No facilitator"
    return f"{slot.room.name if slot.room else 'No room'} · {facilitator}"


def _weekdays() -> list[GridDay]:
    return [GridDay(day=None, weekday=value, label=str(label)) for value, label in Weekday.choices]


def timetable_grid(*, slots: list[WeeklySlot], track_pk: int) -> TimeGrid:
    """The track's lines by weekday and time, each linking to the page that moves or removes it."""
    change = RowUrl("slot_change", args=(track_pk,))
    days = _weekdays()
    for slot in slots:
        start = _minutes(slot.start_time)
        days[slot.weekday].items.append(GridItem(
            start=start, end=min(start + slot.duration_minutes, 24 * 60),
            payload=SlotLine(slot=slot, time=_span_text(slot.start_time, slot.duration_minutes),
                             title=slot.title, group=slot.session_type.name,
                             details=_details(slot),
                             url=change(slot.pk))))
    return time_grid(days=days)


def preview_grid(*, plan: SchedulePlan) -> tuple[TimeGrid | None, date | None]:
    """The first week of sessions a schedule run would create, as a calendar, clashes marked."""
    if not plan.sessions:
        return None, None
    first = plan.sessions[0].local_date
    monday = first - timedelta(days=first.weekday())
    zone = plan.track.site.zone
    days = [GridDay(day=monday + timedelta(days=n), weekday=n) for n in range(7)]
    for proposed in plan.sessions:
        offset = (proposed.local_date - monday).days
        if offset > 6:
            break
        slot = proposed.slot
        starts = proposed.starts_at.astimezone(zone)
        ends = proposed.ends_at.astimezone(zone)
        days[offset].items.append(GridItem(
            start=_minutes(starts.time()),
            end=_minutes(ends.time()) if ends.date() == starts.date() else 24 * 60,
            payload=SlotLine(slot=slot, time=f"{clock(starts)} – {clock(ends)}",
                             title=slot.title, group=slot.session_type.name,
                             details=_details(slot),
                             conflicts=tuple(c.message for c in proposed.conflicts))))
    return time_grid(days=days), monday
