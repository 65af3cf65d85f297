"""The admin at the clinic's clock: its pages show and read times in the sites' time zone.

Django's admin writes every datetime (created, marked, resolved...) in settings.TIME_ZONE, which
is UTC. When every site a staff member works at keeps one time zone (every site, for a
superuser with none), the admin's pages use it; a clinic whose sites span zones keeps UTC there,
since no single clock would be right. Pages about one session use that session's site
(iop_clinic.admin_mixins.SiteClockMixin).
"""
import zoneinfo
from collections.abc import Callable
from functools import cache

from django.db import connections, router
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from iop_clinic.compiled import CompiledQuery, compile_once

from .models import Site

# The user id the zone query is compiled with, replaced by the real one when it runs.
_ANY_USER = -1


def _zones_queryset(*, all_sites: bool, user_id: int, alias: str):
    sites = Site.objects.using(alias)
    sites = sites.all() if all_sites else sites.filter(staff=user_id)
    return sites.order_by().values_list("time_zone", flat=True).distinct()[:2]


@cache
def _zones_statement(alias: str, vendor: str, *, all_sites: bool) -> CompiledQuery:
    """`_zones_queryset`, compiled by the ORM once a process (iop_clinic.compiled): compiling it
    cost more CPU than running it, on every admin page. Only the user's id (a parameter)
    changes from one request to the next; no row is kept."""
    compiler = _zones_queryset(all_sites=all_sites, user_id=_ANY_USER, alias=alias).query \
        .get_compiler(using=alias)
    return compile_once(compiler, {} if all_sites else {_ANY_USER: "user"}, what="admin clock")


def admin_time_zone(user) -> zoneinfo.ZoneInfo | None:
    """The one time zone of the user's sites (all sites for a superuser without any), or None."""
    alias = router.db_for_read(Site)
    statement = _zones_statement(alias, connections[alias].vendor, all_sites=user.is_superuser)
    zones = [zone for (zone,) in statement.rows({"user": user.pk})]
    return zoneinfo.ZoneInfo(zones[0]) if len(zones) == 1 else None


class AdminClockMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    @cached_property
    def admin_prefix(self) -> str:
        return reverse("admin:index")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (request.path.startswith(self.admin_prefix) and user is not None
                and user.is_authenticated and user.is_staff):
            zone = admin_time_zone(user)
            if zone is not None:
                # The response is rendered inside get_response, so under this clock too.
                with timezone.override(zone):
                    return self.get_response(request)
        return self.get_response(request)
