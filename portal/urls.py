"""The portal's URLs, mounted under /portal/."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="portal-home"),
    path("progress/", views.progress, name="portal-progress"),
    path("reminders/", views.reminders, name="portal-reminders"),
    path("calendar/", views.calendar, name="portal-calendar"),
    path("my-record/", views.my_record, name="portal-my-record"),
    path("my-record/readable/", views.my_record_readable, name="portal-my-record-readable"),
    path("visits/<int:session_id>/excuse/", views.excuse, name="portal-excuse"),
    path("offer/", views.offer, name="portal-offer"),
    # Short on purpose: the one-time link has to fit in a text message.
    path("o/<str:token>", views.offer_link, name="portal-offer-link"),
    path("feed/<str:token>.ics", views.feed, name="portal-feed"),
    path("invitation/<str:token>/", views.invitation, name="portal-invitation"),
    path("sign-in-link/", views.sign_in_link_request, name="portal-sign-in-link"),
    path("sign-in/<str:token>/", views.sign_in, name="portal-sign-in"),
]
