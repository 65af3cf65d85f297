# Track pages (timetable edits, schedule, waitlist) live in sessions.urls: they call the
# schedule and enrollment services, and programs never imports sessions.
from django.urls import path

from . import views

urlpatterns = [
    path("", views.program_list, name="program_list"),
    path("new/", views.program_edit, name="program_create"),
    path("<int:pk>/edit/", views.program_edit, name="program_edit"),
]
