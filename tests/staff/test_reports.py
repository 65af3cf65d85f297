"""The report pages, their access rules, exports and background exports."""
import re
import csv
import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from audit.models import AccessEvent
from reports.models import ReportExport
from reports.tasks import export_report, purge_report_exports
from tests import factories
from tests.auth import sign_in
from tests.reports.world import FROM, NOW, build_report_world

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

PAGES = ("census", "attendance", "outcomes", "access", "billing", "staff_load")
# Seven for the signed-in request and the filter form's menus (one query), plus the report's own.
BUDGETS = {"census": 9, "attendance": 9, "outcomes": 8, "access": 8, "billing": 9,
           "staff_load": 8}


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield build_report_world()


def client_for(user):
    from django.test import Client

    return sign_in(Client(), user)


def _get(user, name, **params):
    return client_for(user).get(reverse(name), params)


def test_it_shows_every_report_with_its_chart_and_table(w):
    for name in PAGES:
        response = _get(w.director, f"report_{name}")
        assert response.status_code == 200, name
        html = response.content.decode()
        assert "<svg" in html and "<desc" in html and "<table" in html, name
        assert "style=" not in html, name  # the CSP refuses style attributes


def test_it_shows_the_hand_computed_figures(w):
    html = _get(w.director, "report_attendance").content.decode()
    assert "Attendance rate 78.1%" in html
    assert "12.5 of 16.0 hours held were attended" in html
    assert "Can no longer reach the minimum this week" in html
    assert "Clinic offered less than the minimum" in html

    census = _get(w.director, "report_census").content.decode()
    assert "T1: 0 of 3" in census  # the chart's text alternative: seats free


def test_it_labels_the_weekly_charts_as_the_tables_write_dates(w):
    census = _get(w.director, "report_census", date_from=FROM.isoformat()).content.decode()

    # The week of Monday 2 February 2026, in the clinic's month-and-day format.
    assert "weeks from Feb 2 to" in census
    assert "2 Feb" not in census


def test_it_changes_the_figures_with_the_filters(w):
    html = _get(w.director, "report_attendance", clinician=w.clinician.pk).content.decode()
    assert "Attendance rate 92.9%" in html
    html = _get(w.director, "report_outcomes", date_from="2025-10-01").content.decode()
    assert "50.0%" in html


def test_it_limits_a_clinician_to_their_caseload(w):
    html = _get(w.clinician, "report_attendance").content.decode()
    assert "Attendance rate 92.9%" in html and "your caseload only" in html
    assert "Clark, Casey" not in html
    # The clinician cannot widen it: there is no clinician filter to set.
    html = _get(w.clinician, "report_attendance", clinician=w.lead.pk).content.decode()
    assert "Attendance rate 92.9%" in html
    load = _get(w.clinician, "report_staff_load").content.decode()
    assert "Kim Clinician" in load and "Lee Lead" not in load


def test_it_gives_front_desk_the_census_and_access_reports_only(w):
    for name in PAGES:
        expected = 200 if name in ("census", "access") else 403
        assert _get(w.front_desk, f"report_{name}").status_code == expected, name
    index = _get(w.front_desk, "report_index").content.decode()
    assert "Census" in index and "Access" in index and "Billing units" not in index
    assert client_for(w.front_desk).get(
        reverse("report_attendance_export", args=["csv"])).status_code == 403


def test_it_shows_nothing_of_another_sites_data(w):
    outsider = factories.StaffFactory(role="director", sites=[w.other_site])
    html = _get(outsider, "report_census").content.decode()
    # Only the page's text counts: a random CSRF token in an attribute may contain "T1".
    text = re.sub(r'="[^"]*"', "", html)
    assert "T1" not in text and "West" in text
    # A track of another site is not a valid choice: a form error, not a 500 and no figures.
    response = _get(outsider, "report_census", track=w.t1.pk)
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert "census-tracks" not in response.content.decode()


@pytest.mark.parametrize("params, code", [
    ({"date_from": "2026-03-01", "date_to": "2026-02-01"}, "start date must be on or before"),
    ({"date_from": "2024-01-01", "date_to": "2026-02-01"}, "Choose at most 370 days"),
    ({"date_from": "not-a-date"}, "Enter a valid date"),
    ({"date_from": "0001-01-01"}, "between 1900 and 2200"),
])
def test_it_answers_bad_filters_with_form_errors(w, params, code):
    response = _get(w.director, "report_attendance", **params)
    assert response.status_code == 200
    assert code in response.content.decode()


def test_it_exports_csv_and_xlsx_with_the_filters_and_audits_them(w):
    client = client_for(w.director)
    response = client.get(reverse("report_billing_export", args=["csv"]),
                          {"date_from": FROM.isoformat(), "clinician": w.clinician.pk})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="billing-20260202')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["Week starting", "Record number", "Participant", "Service code"]
    assert [(row[2], row[3], row[9]) for row in rows[1:]] == [
        ("Adams, Avery", "H0015", "1"), ("Adams, Avery", "90832", "1")]

    response = client.get(reverse("report_attendance_export", args=["xlsx"]))
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    assert book.sheetnames == ["Attendance", "Below the weekly minimum"]
    first = list(book["Attendance"].iter_rows(values_only=True))
    assert first[1][:5] == ("All", "All sessions", 16.0, 12.5, 78.1)

    events = list(AccessEvent.objects.filter(actor=w.director).order_by("pk"))
    assert [e.what for e in events] == ["export: billing units (csv)", "export: attendance (xlsx)"]
    assert events[0].details["filters"]["clinician_id"] == w.clinician.pk
    assert events[0].object_pk == str(w.site.pk)


def test_it_exports_the_participant_list_without_contact_details_or_notes(w):
    response = client_for(w.front_desk).get(reverse("report_participants_export", args=["csv"]))
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Record number", "Last name", "First name", "Site", "Program", "Track",
                       "Status", "Admission", "Planned end", "Discharge date",
                       "Discharge reason", "Primary clinician"]
    # Casey twice: the cohort completed on 28 Dec is inside the default 12 weeks, so is T1.
    assert [(row[1], row[5]) for row in rows[1:]] == [
        ("Adams", "T1"), ("Brown", "T1"), ("Clark", "T0"), ("Clark", "T1")]
    assert w.avery.email not in text and w.avery.phone not in text


def test_it_exports_a_long_range_in_the_background_with_progress_and_an_expiring_link(
        w, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.REPORT_EXPORT_DIR = tmp_path
    client = client_for(w.director)
    # A long range is not written in the request.
    response = client.get(reverse("report_census_export", args=["xlsx"]),
                          {"date_from": "2025-06-01", "date_to": "2026-02-18"})
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("report_census_export_start", args=["xlsx"]),
                               {"date_from": "2025-06-01", "date_to": "2026-02-18"})
    job = ReportExport.objects.get()
    assert response.url == reverse("report_export_status", args=[job.code])
    assert len(callbacks) == 1 and job.filters["date_from"] == "2025-06-01"
    assert "progress" in client.get(response.url).content.decode()

    export_report.apply(args=[job.pk])  # the task, run here instead of by a worker
    export_report.apply(args=[job.pk])  # a redelivery changes nothing
    job.refresh_from_db()
    assert (job.status, job.progress) == ("ready", 100)
    page = client.get(response.url).content.decode()
    assert reverse("report_export_download", args=[job.code]) in page
    download = client.get(reverse("report_export_download", args=[job.code]))
    book = load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True)
    assert book.sheetnames == ["Census by track", "In care by week"]
    # Only the person who asked may download it.
    other = client_for(factories.StaffFactory(role="director", sites=[w.site]))
    assert other.get(reverse("report_export_download", args=[job.code])).status_code == 404

    with time_machine.travel(NOW + dt.timedelta(hours=settings.REPORT_EXPORT_RETENTION_HOURS,
                                                minutes=1), tick=False):
        # (signed in afresh: the session itself has timed out by then)
        assert client_for(w.director).get(reverse("report_export_download",
                                                  args=[job.code])).status_code == 410
        assert purge_report_exports.apply().result == 1
    assert not list(tmp_path.iterdir())
    job.refresh_from_db()
    assert job.status == "expired"


@pytest.mark.parametrize("name", PAGES)
def test_it_keeps_each_report_page_within_its_query_budget(w, name,
                                                           django_assert_max_num_queries):
    client = client_for(w.director)
    url = reverse(f"report_{name}")
    client.get(url)  # warm the content-type and session caches

    with django_assert_max_num_queries(BUDGETS[name]):
        assert client.get(url).status_code == 200
    session = w.t1.sessions.get(local_date=dt.date(2026, 2, 16))
    for _ in range(20):
        participant = factories.ParticipantFactory(home_site=w.site)
        enrollment = factories.EnrollmentFactory(track=w.t1, participant=participant,
                                                 admission_date=FROM)
        factories.AttendanceFactory(session=session, participant=participant,
                                    enrollment=enrollment, status="present")
    with django_assert_max_num_queries(BUDGETS[name]):
        assert client.get(url).status_code == 200


def test_a_caseloads_attendance_follows_a_session_moved_into_the_range(w):
    """The report by clinician finds the caseload's rows by their session's day: a session
    moved from after the range into it (an admin's correction) shows its rows there."""
    from django.db.models import F

    from sessions.models import TherapySession

    def unmarked() -> str:
        html = _get(w.director, "report_attendance", clinician=w.clinician.pk).content.decode()
        return re.search(r"(\d+) attendance rows at held sessions (are) not marked yet",
                         html).group(1)

    assert unmarked() == "1"  # Avery at S6, today
    ahead = TherapySession.objects.filter(track=w.t1, local_date=dt.date(2026, 2, 23))
    assert ahead.count() == 1
    ahead.update(starts_at=F("starts_at") - dt.timedelta(days=10),
                 ends_at=F("ends_at") - dt.timedelta(days=10),
                 local_date=F("local_date") - dt.timedelta(days=10))
    assert unmarked() == "2"  # and Avery at the old S7, now Friday 13 February
