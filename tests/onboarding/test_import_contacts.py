"""A census row may bring one family contact (issue 18): checked like the chart's contact form,
created through the same service, and never with consent to tell them anything."""
import pytest

from onboarding.columns import PARTICIPANTS
from onboarding.services import census_check, census_commit
from participants.models import Contact, Participant

from .conftest import census_csv
from .conftest import participant_row as _row

pytestmark = pytest.mark.django_db


def participant_row(number: str, **values) -> dict:
    """A person with no enrollment: the contact columns are what these tests are about."""
    return _row(number, track="", enrollment_status="", **values)


def test_it_imports_a_family_contact_without_consent_to_tell_them(director, track):
    row = participant_row("F-1", contact_name="Jordan Example", contact_relationship="Spouse",
                          contact_phone="(201) 555-0124", contact_email="j@mail.example.com",
                          contact_language="es", contact_guardian="no")
    result = census_commit(content=census_csv(PARTICIPANTS, [row]), file_name="p.csv",
                           by=director)
    assert result.committed, result.as_report()
    contact = Contact.objects.get(participant=Participant.objects.get(record_number="F-1"))
    assert (contact.name, contact.relationship, contact.phone, contact.language) == (
        "Jordan Example", "partner", "+12015550124", "es")
    assert contact.reminder_channels == "both" and not contact.has_sms_consent
    assert not contact.disclosure_consents.exists()


def test_a_row_without_a_contact_adds_none(director, track):
    result = census_commit(content=census_csv(PARTICIPANTS, [participant_row("F-2")]),
                           file_name="p.csv", by=director)
    assert result.committed and not Contact.objects.exists()


@pytest.mark.parametrize("values, column", [
    ({"contact_phone": "(201) 555-0124"}, "contact_name"),
    ({"contact_name": "Jordan Example", "contact_relationship": "neighbour"},
     "contact_relationship"),
    ({"contact_name": "Jordan Example", "contact_phone": "call me"}, "contact_phone"),
    ({"contact_name": "Jordan Example", "contact_email": "nope"}, "contact_email"),
    ({"contact_name": "Jordan Example", "contact_language": "fr"}, "contact_language"),
    ({"contact_name": "Jordan Example", "contact_guardian": "maybe"}, "contact_guardian"),
])
def test_it_reports_a_bad_contact_on_its_column(director, track, values, column):
    result = census_check(content=census_csv(PARTICIPANTS, [participant_row("F-3", **values)]),
                          file_name="p.csv", by=director)
    report = result.as_report()
    assert not result.ok
    assert column in str(report)
