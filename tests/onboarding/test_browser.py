"""A director brings a census in through the page, in real Chromium: upload, read the errors,
upload the corrected file, import. (axe on these pages: tests/a11y/test_axe.py.)"""

import pytest
from django.test import Client
from django.urls import reverse

from onboarding.columns import PARTICIPANTS
from participants.models import Participant
from tests.auth import sign_in

from .conftest import census_csv, participant_row

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

@pytest.fixture
def director_page(chromium, live_server, director, eager_celery):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    client = sign_in(Client(), director)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def test_a_director_uploads_sees_the_errors_fixes_and_imports(director_page, live_server,
                                                               track, past_mondays, tmp_path):
    start = past_mondays[0].isoformat()
    wrong = tmp_path / "census.csv"
    wrong.write_bytes(census_csv(PARTICIPANTS, [
        participant_row("W-1", admission_date=start),
        participant_row("W-2", admission_date=start, mobile_phone="123")]))
    page = director_page
    page.goto(live_server.url + reverse("home"))
    page.get_by_role("link", name="Import").click()
    page.get_by_label("Census file (CSV or XLSX)").set_input_files(str(wrong))
    page.get_by_role("button", name="Check the file (dry run)").click()

    page.get_by_text("1 error: nothing can be imported").wait_for()
    row = page.locator("#participants-row-3")
    assert "Mobile phone:" in row.inner_text() and "123" in row.inner_text()
    assert page.get_by_role("button", name="Import").count() == 0

    fixed = tmp_path / "census-fixed.csv"
    fixed.write_bytes(census_csv(PARTICIPANTS, [
        participant_row("W-1", admission_date=start),
        participant_row("W-2", admission_date=start, mobile_phone="(201) 555-0188")]))
    page.get_by_label("Census file (CSV or XLSX)").set_input_files(str(fixed))
    page.get_by_role("button", name="Check the corrected file").click()
    page.get_by_text("No errors.").wait_for()
    assert not Participant.objects.filter(record_number__in=["W-1", "W-2"]).exists()

    page.get_by_role("button", name="Import 2 participants").click()
    page.get_by_text("The census was imported.").wait_for()
    assert Participant.objects.get(record_number="W-2").phone == "+12015550188"

