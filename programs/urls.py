from django.urls import path

from . import views

urlpatterns = [
    path("", views.program_list, name="program_list"),
    path("new/", views.program_edit, name="program_create"),
    path("<int:pk>/edit/", views.program_edit, name="program_edit"),
    path("tracks/new/", views.track_edit, name="track_create"),
    path("tracks/<int:pk>/edit/", views.track_edit, name="track_edit"),
]
