"""Reads behind the program and track pages."""
from datetime import date

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from .models import Program, Site, Track


def site_today(*, site: Site) -> date:
    """Today's date on the site's wall clock: the "today" every schedule and enrollment rule uses."""
    return timezone.localdate(timezone=site.zone)


def programs_at(*, site_ids: list[int]) -> QuerySet[Program]:
    """The programs that belong to these sites: offered there, or running a track there."""
    runs_here = Track.objects.filter(program=OuterRef("pk"), site_id__in=site_ids)
    offered_here = Program.sites.through.objects.filter(program=OuterRef("pk"),
                                                        site_id__in=site_ids)
    return Program.objects.filter(Exists(runs_here) | Exists(offered_here))


def program_list(*, site_ids: list[int]) -> QuerySet[Program]:
    """The programs of these sites, each with its tracks there (seats: `participants.selectors`)."""
    tracks = (Track.objects.filter(site_id__in=site_ids)
              .select_related("site", "lead_clinician")
              .annotate(slot_count=Count("weekly_slots", distinct=True))
              .order_by("site__name", "name"))
    return programs_at(site_ids=site_ids).prefetch_related(
        Prefetch("tracks", queryset=tracks, to_attr="my_tracks"))
