"""The staff face's URLs: Today, calendar, rosters, follow-ups, participants, programs, tracks,
reports."""
from django.urls import path

from .views import audit, care, excuses, programs, reports, schedule, sessions, today

urlpatterns = [
    path("", today.home, name="home"),
    path("calendar/", sessions.week_calendar, name="calendar"),
    path("sessions/<int:pk>/roster/", sessions.session_roster, name="roster"),
    path("sessions/<int:pk>/roster/<int:attendance_pk>/", sessions.attendance_mark_view,
         name="attendance_mark"),
    path("sessions/<int:pk>/roster/rest-present/", sessions.roster_rest_present,
         name="roster_rest_present"),
    path("sessions/<int:pk>/cancel/", care.session_cancel_view, name="session_cancel"),
    path("sessions/<int:pk>/change/", care.session_change_view, name="session_change"),
    path("follow-ups/", sessions.followup_list, name="followup_list"),
    path("follow-ups/<int:pk>/", sessions.followup_detail, name="followup_detail"),
    path("participants/", sessions.participant_search, name="participant_search"),
    path("participants/new/", care.participant_intake_view, name="participant_intake"),
    path("participants/<uuid:code>/", sessions.participant_chart, name="participant_chart"),
    path("participants/<uuid:code>/edit/", care.participant_edit, name="participant_edit"),
    path("participants/<uuid:code>/consent/", care.participant_consent,
         name="participant_consent"),
    path("participants/<uuid:code>/sessions/new/", care.personal_session_new,
         name="personal_session_new"),
    path("participants/<uuid:code>/invite/", excuses.staff_invite, name="portal_invite"),
    path("participants/<uuid:code>/audit/", audit.chart_trail, name="participant_audit_trail"),
    path("excuses/<uuid:code>/", excuses.staff_excuse_review, name="excuse_review"),
    path("excuses/<uuid:code>/approve/", excuses.staff_excuse_approve, name="excuse_approve"),
    path("excuses/<uuid:code>/decline/", excuses.staff_excuse_decline, name="excuse_decline"),
    path("enrollments/<int:pk>/admit/", care.waitlist_admit, name="waitlist_admit"),
    path("enrollments/<int:pk>/pass/", care.waitlist_pass, name="waitlist_pass"),
    path("enrollments/<int:pk>/hold/", care.enrollment_hold_view, name="enrollment_hold"),
    path("enrollments/<int:pk>/resume/", care.enrollment_resume_view, name="enrollment_resume"),
    path("enrollments/<int:pk>/discharge/", care.enrollment_discharge_view,
         name="enrollment_discharge"),
    path("programs/", programs.program_list, name="program_list"),
    path("programs/new/", programs.program_edit, name="program_create"),
    path("programs/<int:pk>/edit/", programs.program_edit, name="program_edit"),
    path("programs/tracks/new/", schedule.track_edit, name="track_create"),
    path("programs/tracks/<int:pk>/", schedule.track_detail, name="track_detail"),
    path("programs/tracks/<int:pk>/edit/", schedule.track_edit, name="track_edit"),
    path("programs/tracks/<int:pk>/timetable/", schedule.track_timetable, name="track_timetable"),
    path("programs/tracks/<int:pk>/timetable/add/", schedule.slot_add, name="slot_add"),
    path("programs/tracks/<int:pk>/timetable/<int:slot_pk>/", schedule.slot_change,
         name="slot_change"),
    path("programs/tracks/<int:pk>/timetable/<int:slot_pk>/remove/", schedule.slot_remove,
         name="slot_remove"),
    path("programs/tracks/<int:pk>/schedule/", schedule.schedule_generate_view,
         name="schedule_generate"),
    path("programs/closures/", schedule.closure_list, name="closure_list"),
    path("reports/", reports.report_index, name="report_index"),
    path("reports/exports/<uuid:code>/", reports.report_export_status,
         name="report_export_status"),
    path("reports/exports/<uuid:code>/download/", reports.report_export_download,
         name="report_export_download"),
]
# One page per report, and for each report and the participant list a download of the page's
# filters (GET) and a background export (POST); every one has its own name in the access matrix.
for _slug in reports.REPORTS:
    urlpatterns.append(path(f"reports/{_slug.replace('_', '-')}/", reports.report_page,
                            {"report": _slug}, name=f"report_{_slug}"))
for _slug in (*reports.REPORTS, reports.PARTICIPANTS.slug):
    urlpatterns += [
        path(f"reports/{_slug.replace('_', '-')}/export/<str:file_format>/",
             reports.report_export, {"report": _slug}, name=f"report_{_slug}_export"),
        path(f"reports/{_slug.replace('_', '-')}/export/<str:file_format>/background/",
             reports.report_export_start, {"report": _slug},
             name=f"report_{_slug}_export_start"),
    ]
