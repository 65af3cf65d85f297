"""Reads behind the program and track pages."""
from datetime import date

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from .models import Program, Site, Track


def site_today(*, site: Site) -> date:
    """Today's date on the site's wall clock: the "today" every schedule and enrollment rule uses."""
    return timezone.localdate(timezone=site.zone)


def program_list(*, site_ids: list[int]) -> QuerySet[Program]:
    """Every program, each with its tracks at these sites (seats: `participants.selectors`)."""
    tracks = (Track.objects.filter(site_id__in=site_ids)
              .select_related("site", "lead_clinician")
              .annotate(slot_count=Count("weekly_slots", distinct=True))
              .order_by("site__name", "name"))
    return Program.objects.prefetch_related(
        Prefetch("tracks", queryset=tracks, to_attr="my_tracks"))
