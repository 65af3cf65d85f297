from django.urls import path

from . import views

urlpatterns = [
    path("calendar/", views.week_calendar, name="calendar"),
    path("sessions/<int:pk>/roster/", views.session_roster, name="roster"),
    path("sessions/<int:pk>/roster/<int:attendance_pk>/", views.attendance_mark_view,
         name="attendance_mark"),
    path("sessions/<int:pk>/roster/rest-present/", views.roster_rest_present,
         name="roster_rest_present"),
    path("follow-ups/", views.followup_list, name="followup_list"),
    path("follow-ups/<int:pk>/", views.followup_detail, name="followup_detail"),
    path("participants/", views.participant_search, name="participant_search"),
    path("participants/<uuid:code>/", views.participant_chart, name="participant_chart"),
]
