"""What an administrator does in the admin: find people, follow links, correct records."""
import datetime as dt

import pytest
from django.urls import reverse

from participants.models import ContinuingCarePlan
from sessions.models import Attendance, FollowUp

from . import factories


@pytest.fixture
def people(site, other_site):
    ada = factories.ParticipantFactory(first_name="Ada", last_name="Quillfeather",
                                       record_number="MRN-ADA-1", home_site=site)
    bo = factories.ParticipantFactory(first_name="Bo", last_name="Marlowe",
                                      record_number="MRN-BO-2", home_site=other_site)
    factories.ParticipantFactory.create_batch(5, home_site=site)
    factories.EnrollmentFactory(participant=ada, track__site=site, status="active")
    return ada, bo


def _listed(response):
    return list(response.context["cl"].result_list)


def test_it_finds_a_participant_by_last_name(admin_client, people):
    ada, bo = people

    response = admin_client.get(reverse("admin:participants_participant_changelist"),
                                {"q": "quillfeather"})

    assert _listed(response) == [ada]
    assert "MRN-ADA-1" in response.text and "MRN-BO-2" not in response.text


def test_it_finds_a_participant_by_record_number_and_full_name(admin_client, people):
    ada, bo = people
    url = reverse("admin:participants_participant_changelist")

    assert _listed(admin_client.get(url, {"q": "MRN-BO-2"})) == [bo]
    assert _listed(admin_client.get(url, {"q": "Bo Marlowe"})) == [bo]


def test_it_filters_participants_by_home_site_and_enrollment_status(admin_client, people, other_site):
    ada, bo = people
    factories.EnrollmentFactory(participant=ada, status="referred")
    factories.EnrollmentFactory(participant=ada, status="referred")
    url = reverse("admin:participants_participant_changelist")

    assert _listed(admin_client.get(url, {"home_site__id__exact": other_site.pk})) == [bo]
    assert _listed(admin_client.get(url, {"enrollment_status": "referred"})) == [ada]
    by_status = admin_client.get(url, {"enrollment_status": "active"})
    assert _listed(by_status) == [ada]
    assert "1 participant" in by_status.text


def test_it_shows_the_active_track_in_the_participant_list(admin_client, people):
    ada, _ = people

    response = admin_client.get(reverse("admin:participants_participant_changelist"))

    assert ada.enrollments.get().track.name in response.text


def test_it_links_selected_tracks_to_their_sessions(admin_client, site):
    chosen = factories.TherapySessionFactory(title="Chosen track session", track__site=site)
    factories.TherapySessionFactory(title="Other track session")

    response = admin_client.post(
        reverse("admin:programs_track_changelist"),
        {"action": "show_sessions", "_selected_action": [chosen.track_id]}, follow=True,
    )

    assert response.status_code == 200
    assert _listed(response) == [chosen]
    assert "Chosen track session" in response.text and "Other track session" not in response.text


def test_it_links_selected_participants_to_their_attendance(admin_client):
    mine = factories.AttendanceFactory()
    factories.AttendanceFactory()

    response = admin_client.post(
        reverse("admin:participants_participant_changelist"),
        {"action": "show_attendance", "_selected_action": [mine.participant_id]}, follow=True,
    )

    assert _listed(response) == [mine]


def test_it_shows_the_site_closures_that_fall_in_a_tracks_dates(admin_client):
    track = factories.TrackFactory(start_date=dt.date(2026, 1, 5))
    factories.ClosureFactory(site=track.site, date=dt.date(2026, 1, 19), reason="Civic holiday")
    factories.ClosureFactory(site=track.site, date=dt.date(2025, 12, 25), reason="Before start")

    response = admin_client.get(reverse("admin:programs_track_change", args=[track.pk]))

    assert "Mon 2026-01-19 Civic holiday" in response.text
    assert "Before start" not in response.text


def test_it_records_who_marked_attendance_corrected_on_the_session_page(admin_client, admin_user):
    attendance = factories.AttendanceFactory(status="expected")
    untouched = factories.AttendanceFactory(session=attendance.session, status="expected")
    session = attendance.session
    prefix = "attendances"
    rows = sorted([attendance, untouched], key=lambda a: (a.participant.last_name,
                                                          a.participant.first_name))
    data = {
        "session_type": session.session_type_id, "kind": session.kind, "title": session.title,
        "track": session.track_id, "site": session.site_id,
        "starts_at_0": "2026-01-05", "starts_at_1": "18:00:00",  # New York, as shown
        "ends_at_0": "2026-01-05", "ends_at_1": "21:00:00", "local_date": "2026-01-05",
        "status": "scheduled",
        f"{prefix}-TOTAL_FORMS": "2", f"{prefix}-INITIAL_FORMS": "2",
        f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data |= {f"{prefix}-{i}-id": row.pk, f"{prefix}-{i}-session": session.pk,
                 f"{prefix}-{i}-status": "expected"}
    changed = rows.index(attendance)
    data |= {f"{prefix}-{changed}-status": "present", f"{prefix}-{changed}-minutes_attended": "170"}

    response = admin_client.post(reverse("admin:iop_sessions_therapysession_change",
                                         args=[session.pk]), data)

    assert response.status_code == 302, response.context["errors"] if response.context else ""
    attendance.refresh_from_db()
    untouched.refresh_from_db()
    assert (attendance.status, attendance.minutes_attended) == ("present", 170)
    assert attendance.marked_by == admin_user and attendance.marked_at is not None
    assert untouched.marked_by is None and untouched.marked_at is None


def test_it_records_who_marked_attendance_edited_on_its_own_page(admin_client, admin_user):
    attendance = factories.AttendanceFactory(status="expected")

    response = admin_client.post(
        reverse("admin:iop_sessions_attendance_change", args=[attendance.pk]),
        {"session": attendance.session_id, "participant": attendance.participant_id,
         "status": "absent", "note": ""},
    )

    assert response.status_code == 302
    attendance.refresh_from_db()
    assert attendance.status == "absent" and attendance.marked_by == admin_user


def test_it_records_who_wrote_a_continuing_care_plan(admin_client, admin_user):
    enrollment = factories.EnrollmentFactory()

    response = admin_client.post(
        reverse("admin:participants_continuingcareplan_add"),
        {"enrollment": enrollment.pk, "step_down_level": "1",
         "step_down_provider": "Example Outpatient Services", "support_groups": "", "notes": ""},
    )

    assert response.status_code == 302
    plan = ContinuingCarePlan.objects.get(enrollment=enrollment)
    assert plan.created_by == admin_user


def test_it_does_not_offer_to_add_attendance_rows_on_the_session_page(admin_client):
    session = factories.AttendanceFactory().session

    response = admin_client.get(reverse("admin:iop_sessions_therapysession_change",
                                        args=[session.pk]))

    (formset,) = response.context["inline_admin_formsets"]
    assert formset.formset.model is Attendance
    assert not formset.has_add_permission


def test_it_keeps_the_record_of_an_export_even_from_a_superuser(admin_client, admin_user):
    from reports.models import ReportExport

    job = ReportExport.objects.create(requested_by=admin_user, report="census",
                                      file_format="csv", filters={})
    url = reverse("admin:reports_reportexport_delete", args=[job.pk])

    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    listing = admin_client.get(reverse("admin:reports_reportexport_changelist"))
    assert "delete_selected" not in listing.text
    assert ReportExport.objects.filter(pk=job.pk).exists()


@pytest.mark.django_db
def test_it_shows_attendance_times_at_the_sites_clock_not_utc(admin_client):
    # 23:00 UTC on Jan 5 is 6:00 PM in New York; marked 01:30 UTC is 8:30 PM there.
    attendance = factories.AttendanceFactory(
        status="present", marked_at=dt.datetime(2026, 1, 6, 1, 30, tzinfo=dt.UTC))

    listing = admin_client.get(reverse("admin:iop_sessions_attendance_changelist")).content.decode()
    session_page = admin_client.get(reverse("admin:iop_sessions_therapysession_change",
                                            args=[attendance.session.pk])).content.decode()
    own_page = admin_client.get(reverse("admin:iop_sessions_attendance_change",
                                        args=[attendance.pk])).content.decode()

    assert "Skills group Jan 5, 2026, 6:00 PM" in listing
    for page in (listing, session_page, own_page):
        assert "Jan 5, 2026, 8:30 PM" in page
        assert "23:00" not in page and "1:30 AM" not in page and "Jan 6" not in page
    assert 'value="18:00"' in session_page  # the start, to be moved by the site's clock


@pytest.mark.django_db
def test_it_shows_the_admins_times_at_the_clinics_clock_when_its_sites_share_one(admin_client):
    # Raised at 01:30 UTC on Jan 6: 8:30 PM on Jan 5 in New York, every site's zone.
    attendance = factories.AttendanceFactory(status="absent")
    followup = FollowUp.objects.create(participant=attendance.participant, attendance=attendance,
                                       session=attendance.session, kind="unexcused_absence")
    FollowUp.objects.filter(pk=followup.pk).update(
        created_at=dt.datetime(2026, 1, 6, 1, 30, tzinfo=dt.UTC))
    url = reverse("admin:iop_sessions_followup_changelist")

    page = admin_client.get(url).content.decode()
    assert "Jan 5, 2026, 8:30 PM" in page and "1:30 AM" not in page

    # A second site in another zone: no one clock is right, so the admin keeps UTC.
    factories.SiteFactory(time_zone="America/Los_Angeles")
    page = admin_client.get(url).content.decode()
    assert "Jan 6, 2026, 1:30 AM" in page and "8:30 PM" not in page
