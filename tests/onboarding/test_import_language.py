"""Issue 18: a census row may say which language the participant reads (the portal's and the
reminders'): en or es, or the language's name; blank is English; anything else is an error on
that row in the dry run, and a file with one imports nothing."""
import csv
import io

import pytest
from django.urls import reverse

from onboarding.columns import EXAMPLE_ROWS, PARTICIPANT_COLUMNS, PARTICIPANTS
from onboarding.services import census_check, census_commit
from participants.models import Participant

from .conftest import census_csv
from .conftest import participant_row as _row
from .test_pages import as_director  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def participant_row(number: str, **values) -> dict:
    return _row(number, track="", enrollment_status="", **values)


@pytest.mark.parametrize("written, language", [
    ("es", "es"), ("Spanish", "es"), ("ESPAÑOL", "es"), ("español", "es"),
    ("en", "en"), ("English", "en"), ("", "en"),
])
def test_it_imports_the_participants_language(director, track, written, language):
    result = census_commit(content=census_csv(PARTICIPANTS, [
        participant_row("L-1", language=written)]), file_name="p.csv", by=director)

    assert result.committed, result.as_report()
    assert Participant.objects.get(record_number="L-1").language == language


def test_it_imports_a_spanish_speaker_beside_english_ones(director, track):
    rows = [participant_row("L-1"), participant_row("L-2", language="es"),
            participant_row("L-3", language="English")]
    dry_run = census_check(content=census_csv(PARTICIPANTS, rows), file_name="p.csv",
                           by=director).as_report()
    assert [("Portal and reminders in Spanish" in row["actions"]) for row in dry_run["rows"]
            ] == [False, True, False]
    result = census_commit(content=census_csv(PARTICIPANTS, rows), file_name="p.csv",
                           by=director)

    assert result.committed, result.as_report()
    assert dict(Participant.objects.values_list("record_number", "language")) == {
        "L-1": "en", "L-2": "es", "L-3": "en"}


@pytest.mark.parametrize("written", ["fr", "French", "sp", "yes"])
def test_it_reports_a_language_it_does_not_offer_on_its_row(director, track, written):
    content = census_csv(PARTICIPANTS, [participant_row("L-1", language="es"),
                                        participant_row("L-2", language=written)])

    report = census_check(content=content, file_name="p.csv", by=director).as_report()

    assert not report["ok"] and report["error_count"] == 1
    first, second = report["rows"]
    assert not first["errors"]
    (error,) = second["errors"]
    assert (error["column"], error["label"]) == ("language", "Language")
    assert error["message"].startswith(f"{written} is not a language the portal offers")
    assert "en (English) or es (Spanish)" in error["message"]
    result = census_commit(content=content, file_name="p.csv", by=director)
    assert not result.committed and not Participant.objects.exists()


def test_the_participants_template_has_the_language_column(as_director, track):  # noqa: F811
    response = as_director.get(reverse("census_template", args=["participants.csv"]))

    header, example = csv.reader(io.StringIO(response.content.decode()))
    assert "language" in header
    assert example[header.index("language")] == "en"
    assert len(EXAMPLE_ROWS[PARTICIPANTS]) == len(PARTICIPANT_COLUMNS)
