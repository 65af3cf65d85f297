"""The project's URLs plus no-op views that pass through the same middleware.

- `bench/noop`: the floor of any request (every middleware, no session read).
- `bench/noop-signed-in`: the floor of a signed-in request (the session and the user read).
- `bench/empty-staff`, `bench/empty-portal`: the floor of a signed-in page, the access check
  of its face and its layout (base template, navigation, context processors) around no content.
"""
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from iop_clinic.urls import urlpatterns as project_urlpatterns
from portal.access import participant_required
from staff.access import staff_required

_EMPTY_STAFF = engines["django"].from_string('{% extends "base.html" %}')
_EMPTY_PORTAL = engines["django"].from_string('{% extends "portal/base_portal.html" %}')


def noop(request: HttpRequest) -> HttpResponse:
    """The floor: every middleware runs, the view does nothing."""
    return HttpResponse("ok", content_type="text/plain")


def noop_signed_in(request: HttpRequest) -> HttpResponse:
    """The floor of a signed-in page: the session and the user are read, nothing else."""
    return HttpResponse("ok" if request.user.is_authenticated else "anonymous",
                        content_type="text/plain")


@staff_required
def empty_staff(request: HttpRequest) -> HttpResponse:
    """The floor of a staff page: the staff access check and the staff layout, no content."""
    return HttpResponse(_EMPTY_STAFF.render({}, request))


@participant_required
def empty_portal(request: HttpRequest) -> HttpResponse:
    """The floor of a portal page: the participant check and the portal layout with its menu."""
    return HttpResponse(_EMPTY_PORTAL.render({"nav": "home"}, request))


urlpatterns = [
    path("bench/noop", noop),
    path("bench/noop-signed-in", noop_signed_in),
    path("bench/empty-staff", empty_staff),
    path("bench/empty-portal", empty_portal),
    *project_urlpatterns,
]
