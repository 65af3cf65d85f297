"""Writes for programs and tracks made from the staff pages."""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .models import Program, Site, Track, WeeklySlot
from .signals import site_address_changing


@transaction.atomic
def site_save(*, site: Site, notify: bool = True) -> Site:
    """Save a site. When its address changes and `notify`: the people expected there within
    the notice window are told the new address (announced before saving, so the notice keeps
    the address they knew). One query more, to read the stored address."""
    site.full_clean()
    if site.pk and notify:
        stored = Site.objects.filter(pk=site.pk).values_list("address", flat=True).first()
        if stored is not None and stored.strip() != site.address.strip():
            site_address_changing.send(sender=Site, site_id=site.pk)
    site.save()
    return site


@transaction.atomic
def program_save(*, program: Program, sites: Iterable[Site] | None = None,
                 editor_site_ids: Iterable[int] = ()) -> Program:
    """Create or update a program after checking every field and constraint.

    `sites` is the editor's choice of where the program is offered among their own sites
    (`editor_site_ids`); sites the editor does not work at keep their say unchanged.
    """
    program.full_clean()
    program.save()
    if sites is not None:
        others = list(program.sites.exclude(pk__in=list(editor_site_ids)))
        program.sites.set([*others, *sites])
    return program


@transaction.atomic
def track_save(
    *, track: Track, slots: Iterable[WeeklySlot] = (), deleted_slots: Iterable[WeeklySlot] = (),
) -> Track:
    """Create or update a track together with its weekly timetable, all or nothing.

    Existing timetable lines with generated sessions are refused here: moving or removing one
    must move or remove its future sessions too, which `weekly_slot_update` /
    `weekly_slot_delete` in `sessions.services.schedule` do; the staff schedule builder adds a
    line through this function and moves or removes one through those.
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
