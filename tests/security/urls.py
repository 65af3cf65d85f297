"""Test-only views: a write through a real request (for the audit actor) and a crash."""
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path

from participants.models import Participant


def rename_participant(request, pk):
    participant = Participant.objects.get(pk=pk)
    participant.first_name = request.POST["first_name"]
    participant.save()
    return HttpResponse("ok")


@login_required
def staff_page(request):
    return HttpResponse("staff page")


def crash(request, secret):
    raise RuntimeError(f"boom while handling {secret}")


urlpatterns = [
    path("test/rename/<int:pk>/", rename_participant),
    path("test/crash/<str:secret>/", crash),
    path("test/staff-page/", staff_page),
    path("", include("iop_clinic.urls")),
]
