"""The project's URLs plus two no-op views that pass through the same middleware."""
from django.http import HttpRequest, HttpResponse
from django.urls import path

from iop_clinic.urls import urlpatterns as project_urlpatterns


def noop(request: HttpRequest) -> HttpResponse:
    """The floor: every middleware runs, the view does nothing."""
    return HttpResponse("ok", content_type="text/plain")


def noop_signed_in(request: HttpRequest) -> HttpResponse:
    """The floor of a signed-in page: the session and the user are read, nothing else."""
    return HttpResponse("ok" if request.user.is_authenticated else "anonymous",
                        content_type="text/plain")


urlpatterns = [
    path("bench/noop", noop),
    path("bench/noop-signed-in", noop_signed_in),
    *project_urlpatterns,
]
