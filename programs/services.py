"""Writes for programs and tracks made from the staff pages."""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .models import Program, Track, WeeklySlot


@transaction.atomic
def program_save(*, program: Program) -> Program:
    """Create or update a program after checking every field and constraint."""
    program.full_clean()
    program.save()
    return program


@transaction.atomic
def track_save(
    *, track: Track, slots: Iterable[WeeklySlot] = (), deleted_slots: Iterable[WeeklySlot] = (),
) -> Track:
    """Create or update a track together with its weekly timetable, all or nothing.

    Once sessions have been generated from a track, its existing timetable lines can no longer be
    changed here: moving or removing a line must also move or cancel the sessions generated from
    it, which the schedule services do. New lines can still be added.
    """
    slots, deleted_slots = list(slots), list(deleted_slots)
    if track.pk and (changed := [s for s in slots if s.pk] + deleted_slots):
        if track.sessions.filter(weekly_slot__in=[s.pk for s in changed]).exists():
            raise ValidationError(
                _("Sessions were already generated from this timetable; change or remove its "
                  "lines from the schedule page so those sessions move with them."),
                code="slot_has_sessions",
            )
    track.full_clean()
    track.save()
    for slot in deleted_slots:
        slot.delete()
    for slot in slots:
        slot.track = track
        slot.full_clean()
        slot.save()
    return track
