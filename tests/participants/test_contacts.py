"""Family contacts and the participant's disclosure consent: the rules the services keep."""
import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from participants.models import Contact, DisclosureConsent
from participants.services_contacts import (
    contact_create,
    contact_sms_consent_set,
    contact_update,
    disclosure_consent_record,
    disclosure_consent_revoke,
    participant_is_minor,
)
from tests import factories

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC), tick=False):
        yield


def record(contact, **kwargs):
    return disclosure_consent_record(**{
        "contact": contact, "signed_on": TODAY, "expires_on": TODAY + dt.timedelta(days=365),
        "signed_by": "participant", "by": None, **kwargs})


def test_it_adds_a_contact_with_their_own_text_consent(site):
    participant = factories.ParticipantFactory(home_site=site)
    contact = contact_create(participant=participant, sms_consent=True, data={
        "name": " Noor Haddad ", "relationship": "partner", "phone": "+15555550142",
        "language": "es", "reminder_channels": "sms"})
    assert contact.name == "Noor Haddad" and contact.has_sms_consent
    assert contact.standing_disclosure(TODAY) is None  # nothing may be sent yet


def test_it_refuses_text_consent_without_a_number_and_writes_nothing(site):
    participant = factories.ParticipantFactory(home_site=site)
    with pytest.raises(ValidationError) as error:
        contact_create(participant=participant, sms_consent=True,
                       data={"name": "Noor Haddad", "phone": ""})
    assert error.value.error_dict["phone"][0].code == "consent_needs_phone"
    assert not Contact.objects.exists()


def test_clearing_the_number_ends_text_consent(site):
    contact = factories.ContactFactory(sms_consent_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    contact = contact_update(contact=contact, data={"phone": ""})
    assert not contact.has_sms_consent and contact.sms_revoked_at is not None


def test_a_stop_then_start_is_recorded_on_the_contact_only(site):
    contact = factories.ContactFactory(sms_consent_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    other = factories.ContactFactory(participant=contact.participant,
                                     sms_consent_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert contact_sms_consent_set(contact_ids=[contact.pk], given=False) == 1
    assert contact_sms_consent_set(contact_ids=[contact.pk], given=False) == 0  # idempotent
    contact.refresh_from_db()
    other.refresh_from_db()
    assert not contact.has_sms_consent and other.has_sms_consent
    contact_sms_consent_set(contact_ids=[contact.pk], given=True)
    contact.refresh_from_db()
    assert contact.has_sms_consent


def test_consent_stands_from_signing_until_the_day_it_expires(site):
    consent = record(factories.ContactFactory(), expires_on=dt.date(2026, 9, 1))
    assert consent.stands_on(TODAY) and consent.stands_on(dt.date(2026, 8, 31))
    assert not consent.stands_on(dt.date(2026, 9, 1))
    assert consent.status_on(dt.date(2026, 9, 1)) == "expired"


@pytest.mark.parametrize("changes, code", [
    ({"expires_on": TODAY}, "expires_before_signed"),
    ({"signed_on": TODAY + dt.timedelta(days=1)}, "signed_in_future"),
    ({"signed_by": "neighbour"}, "invalid_signer"),
    ({"scope": "diagnosis"}, "invalid_scope"),
])
def test_it_refuses_a_consent_that_could_not_stand(site, changes, code):
    with pytest.raises(ValidationError) as error:
        record(factories.ContactFactory(), **changes)
    codes = [e.code for errors in getattr(error.value, "error_dict", {"": [error.value]}).values()
             for e in errors]
    assert codes == [code]
    assert not DisclosureConsent.objects.exists()


def test_the_database_keeps_one_unrevoked_consent_per_contact(site):
    consent = factories.DisclosureConsentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        DisclosureConsent.objects.create(contact=consent.contact, signed_on=TODAY,
                                         expires_on=TODAY + dt.timedelta(days=1))


def test_revoking_twice_changes_nothing_the_second_time(site):
    consent = factories.DisclosureConsentFactory(revoke_reason="")
    assert disclosure_consent_revoke(consent=consent, by=None, reason="Asked")
    first = consent.revoked_at
    assert not disclosure_consent_revoke(consent=consent, by=None, reason="Again")
    consent.refresh_from_db()
    assert consent.revoked_at == first and consent.revoke_reason == "Asked"


@pytest.mark.parametrize("born, population, minor", [
    (dt.date(2010, 3, 3), "adult", True),      # 15, whatever the program
    (dt.date(2008, 3, 2), "adolescent", False),  # 18 today
    (None, "adolescent", True),                # no date of birth: the program says
    (None, "adult", False),
])
def test_it_knows_a_minor_by_age_or_else_by_program(site, born, population, minor):
    participant = factories.ParticipantFactory(home_site=site, date_of_birth=born)
    program = factories.ProgramFactory(population=population)
    factories.EnrollmentFactory(participant=participant,
                                track=factories.TrackFactory(site=site, program=program))
    assert participant_is_minor(participant=participant, day=TODAY) is minor


def test_a_minor_without_an_enrollment_needs_both_signatures(site):
    participant = factories.ParticipantFactory(home_site=site, date_of_birth=dt.date(2012, 1, 1))
    contact = factories.ContactFactory(participant=participant, is_guardian_of_minor=True)
    with pytest.raises(ValidationError):
        record(contact)
    assert record(contact, signed_by="both").stands_on(TODAY)


def test_it_refuses_to_keep_text_consent_while_clearing_the_number(site):
    contact = factories.ContactFactory(sms_consent_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(ValidationError) as error:
        contact_update(contact=contact, data={"phone": ""}, sms_consent=True)
    assert error.value.error_dict["phone"][0].code == "consent_needs_phone"
    contact.refresh_from_db()
    assert contact.phone and contact.has_sms_consent  # nothing half-written
