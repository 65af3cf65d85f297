"""Saving a track together with its weekly timetable from the director's track page.

New lines and the track's own fields go through `programs.services.track_save`; a line that
already exists changes through `weekly_slot_update` / `weekly_slot_delete`, so the future
sessions nobody is marked at move (or go) with it. Past sessions and sessions with marked
attendance stay as they were.
"""
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from programs.models import Track, WeeklySlot
from programs.services import track_save

from .schedule import SLOT_FIELDS, weekly_slot_delete, weekly_slot_update


@dataclass(frozen=True)
class TimetableResult:
    track: Track
    sessions_changed: int = 0  # future unmarked sessions moved or changed in place
    sessions_removed: int = 0  # future unmarked sessions removed (line deleted or weekday moved)
    sessions_created: int = 0  # sessions generated on a line's new weekday
    sessions_kept: int = 0  # future sessions left alone because attendance is marked there


def _changes(slot: WeeklySlot, stored: WeeklySlot) -> dict:
    changes = {}
    for name in SLOT_FIELDS:
        attname = WeeklySlot._meta.get_field(name).attname
        if getattr(slot, attname) != getattr(stored, attname):
            changes[name] = getattr(slot, name)
    return changes


def track_timetable_save(
    *, track: Track, slots: Iterable[WeeklySlot] = (),
    deleted_slots: Iterable[WeeklySlot] = (),
) -> TimetableResult:
    """Create or update a track and its timetable, all or nothing."""
    slots, deleted_slots = list(slots), list(deleted_slots)
    changed = removed = created = kept = 0
    with transaction.atomic():
        track = track_save(track=track, slots=[s for s in slots if not s.pk])
        existing = [s for s in slots if s.pk]
        stored = {s.pk: s for s in WeeklySlot.objects.filter(
            pk__in=[s.pk for s in existing + deleted_slots], track=track)}
        for slot in existing:
            changes = _changes(slot, stored[slot.pk])
            if changes:
                result = weekly_slot_update(slot=stored[slot.pk], **changes)
                changed += result.updated
                removed += result.removed
                created += result.created
                kept += result.kept
        for slot in deleted_slots:
            if slot.pk in stored:
                removed += weekly_slot_delete(slot=stored[slot.pk])
    return TimetableResult(track=track, sessions_changed=changed, sessions_removed=removed,
                           sessions_created=created, sessions_kept=kept)
