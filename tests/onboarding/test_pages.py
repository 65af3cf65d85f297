"""The census import page: a director uploads, reads the dry run, confirms the same file."""
import io

import openpyxl
import pytest
from django.urls import reverse

from accounts.roles import Role
from audit.models import AccessEvent
from onboarding.columns import PARTICIPANTS
from onboarding.models import CensusUpload
from participants.models import Participant
from tests import factories
from tests.auth import sign_in

from .conftest import attendance_row, census_csv, census_xlsx, participant_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_director(client, director, eager_celery):
    return sign_in(client, director)


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """Post a file; the dry run (a Celery task queued after commit) runs before it answers."""
    def post(client, content: bytes, name: str):
        file = io.BytesIO(content)
        file.name = name
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("census_import"), {"file": file})
    return post


def test_it_dry_runs_then_imports_the_file_that_was_checked(upload, as_director, track, past_mondays,
                                                            django_capture_on_commit_callbacks):
    people = [participant_row("P-1", admission_date=past_mondays[0].isoformat())]
    visits = [attendance_row("P-1", past_mondays[0])]

    response = upload(as_director, census_xlsx(people, visits), "census.xlsx")
    census = CensusUpload.objects.get()
    assert response.status_code == 302 and response.url == census.get_absolute_url()
    page = as_director.get(census.get_absolute_url()).content.decode()
    assert "Would create 1 participant" in page and "Enroll in Evening group" in page
    assert not Participant.objects.filter(record_number="P-1").exists()

    # A confirmation that names another file's hash imports nothing.
    as_director.post(reverse("census_commit", args=[census.code]), {"sha256": "a" * 64})
    assert not Participant.objects.filter(record_number="P-1").exists()

    with django_capture_on_commit_callbacks(execute=True):
        as_director.post(reverse("census_commit", args=[census.code]), {"sha256": census.sha256})
    page = as_director.get(census.get_absolute_url()).content.decode()
    assert "The census was imported." in page and "Created 1 participant" in page
    assert Participant.objects.filter(record_number="P-1").exists()
    census.refresh_from_db()
    assert census.is_committed and bytes(census.content) == b""
    assert set(AccessEvent.objects.values_list("what", flat=True)) == {
        "census import: dry run", "census import: imported"}
    from auditlog.models import LogEntry
    created = LogEntry.objects.get(object_repr__contains="P-1", action=LogEntry.Action.CREATE,
                                   content_type__model="participant")
    assert created.actor == census.uploaded_by

    # A second confirmation (a double click) imports nothing more.
    response = as_director.post(reverse("census_commit", args=[census.code]),
                                {"sha256": census.sha256}, follow=True)
    assert "already imported" in response.content.decode()


def test_the_import_checks_again_and_imports_nothing_if_the_records_changed(
        upload, as_director, track, past_mondays, site, django_capture_on_commit_callbacks):
    people = [participant_row("R-1", admission_date=past_mondays[0].isoformat()),
              participant_row("R-2", admission_date=past_mondays[0].isoformat())]
    upload(as_director, census_csv(PARTICIPANTS, people), "people.csv")
    census = CensusUpload.objects.get()
    factories.ParticipantFactory(record_number="R-2", home_site=site)  # meanwhile, at intake

    with django_capture_on_commit_callbacks(execute=True):
        as_director.post(reverse("census_commit", args=[census.code]), {"sha256": census.sha256})

    census.refresh_from_db()
    assert census.state == "checked" and not Participant.objects.filter(record_number="R-1")
    page = as_director.get(census.get_absolute_url()).content.decode()
    assert "the records changed since. Nothing was imported." in page
    assert AccessEvent.objects.filter(what="census import: refused").exists()


def test_it_shows_each_error_on_its_row_and_offers_no_import(upload, as_director, track, past_mondays):
    people = [participant_row("P-1", admission_date="someday"),
              participant_row("P-2", admission_date=past_mondays[0].isoformat(),
                              mobile_phone="555")]
    upload(as_director, census_csv(PARTICIPANTS, people), "people.csv")
    census = CensusUpload.objects.get()

    page = as_director.get(census.get_absolute_url()).content.decode()

    assert "2 errors: nothing can be imported" in page
    assert 'id="participants-row-2"' in page and "someday is not a date" in page
    assert "Mobile phone:</span> 555" in page
    assert reverse("census_commit", args=[census.code]) not in page


def test_it_refuses_a_file_that_is_not_csv_or_xlsx(upload, as_director):
    response = upload(as_director, b"%PDF-1.4", "census.pdf")
    assert response.status_code == 200
    assert "Upload a .csv or .xlsx file." in response.content.decode()
    assert not CensusUpload.objects.exists()


def test_an_upload_is_its_uploaders_alone(client, site, director):
    census = CensusUpload.objects.create(uploaded_by=director, file_name="c.csv",
                                         sha256="0" * 64, content=b"x", report={})
    colleague = factories.StaffFactory(role=Role.DIRECTOR, sites=[site])
    sign_in(client, colleague)
    assert client.get(census.get_absolute_url()).status_code == 404
    assert client.post(reverse("census_commit", args=[census.code]),
                       {"sha256": "0" * 64}).status_code == 404


@pytest.mark.parametrize("name", ["census.xlsx", "participants.csv", "attendance.csv"])
def test_the_templates_hold_the_header_and_an_invented_example(as_director, name, track):
    response = as_director.get(reverse("census_template", args=[name]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    if name.endswith(".csv"):
        lines = response.content.decode().splitlines()
        assert lines[0].startswith("record_number,") and len(lines) == 2
    else:
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        assert book.sheetnames == ["participants", "attendance"]
        assert [c.value for c in book["participants"][1]][:3] == [
            "record_number", "first_name", "last_name"]
        assert book["participants"].max_row == 2


def test_the_navigation_offers_the_import_to_directors_only(as_director, client, front_desk):
    assert reverse("census_import") in as_director.get(reverse("home")).content.decode()
    client.logout()
    sign_in(client, front_desk)
    assert reverse("census_import") not in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("rows", [2, 60])
def test_it_keeps_fixed_query_budgets(upload, as_director, track, past_mondays, rows,
                                      django_assert_max_num_queries):
    people = [participant_row(f"Q-{n}", admission_date="bad") for n in range(rows)]
    upload(as_director, census_csv(PARTICIPANTS, people), "people.csv")
    census = CensusUpload.objects.get()
    with django_assert_max_num_queries(8):
        assert as_director.get(reverse("census_import")).status_code == 200
    with django_assert_max_num_queries(8):
        assert as_director.get(census.get_absolute_url()).status_code == 200


def test_the_page_waits_for_the_worker_and_reloads_when_it_is_done(client, director):
    sign_in(client, director)
    census = CensusUpload.objects.create(uploaded_by=director, file_name="c.csv",
                                         sha256="0" * 64, content=b"x", state="checking")
    page = client.get(census.get_absolute_url()).content.decode()
    assert "Checking the file (dry run)" in page and 'hx-trigger="every 2s"' in page
    assert 'hx-trigger="every 2s"' in client.get(census.get_absolute_url(),
                                                 HTTP_HX_REQUEST="true").content.decode()
    CensusUpload.objects.filter(pk=census.pk).update(state="checked")
    done = client.get(census.get_absolute_url(), HTTP_HX_REQUEST="true")
    assert done.headers["HX-Refresh"] == "true"


@pytest.mark.parametrize("n", [2, 40])
def test_the_admin_lists_uploads_within_a_fixed_budget(admin_client, director, n,
                                                       django_assert_max_num_queries):
    CensusUpload.objects.bulk_create(
        CensusUpload(uploaded_by=director, file_name=f"c{i}.csv", sha256="0" * 64,
                     content=b"x" * 1000, state="checked") for i in range(n))
    # 9: one of them finds the sites' time zone for the admin's clock (programs.middleware).
    with django_assert_max_num_queries(9):
        response = admin_client.get(reverse("admin:onboarding_censusupload_changelist"))
    assert f"{n} census uploads" in response.text


def test_a_check_that_fails_says_so_instead_of_waiting_forever(director, monkeypatch):
    from onboarding import services

    census = CensusUpload.objects.create(uploaded_by=director, file_name="c.csv",
                                         sha256="0" * 64, content=b"x", state="checking")
    monkeypatch.setattr(services, "census_check", lambda **kw: 1 / 0)
    services.census_upload_check(upload_id=census.pk)
    census.refresh_from_db()
    assert census.state == "checked" and "error on our side" in census.report["file_errors"][0]
