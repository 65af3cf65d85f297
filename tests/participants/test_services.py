import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from participants.models import ContactConsent, Participant
from participants.selectors import consent_history, participant_has_consent
from participants.services import (
    consent_give,
    consent_revoke,
    participant_create,
    participant_update,
)
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _create(site, **overrides):
    values = dict(record_number="MRN-1001", first_name="Avery", last_name="Example",
                  home_site=site, email="avery@mail.example.com", phone="+15550100001")
    values.update(overrides)
    return participant_create(**values)


def test_it_registers_a_participant_with_a_public_code(site):
    participant = _create(site)

    participant.refresh_from_db()
    assert participant.record_number == "MRN-1001"
    assert participant.code is not None
    assert participant.home_site == site


def test_it_refuses_a_record_number_already_in_use_whatever_the_case(site):
    _create(site)

    with pytest.raises(ValidationError) as excinfo:
        _create(site, record_number="mrn-1001", first_name="Blake")

    assert excinfo.value.code == "record_number_taken"
    assert "MRN-1001".lower() in excinfo.value.messages[0].lower()
    assert Participant.objects.count() == 1


def test_it_refuses_a_phone_number_not_in_international_format(site):
    with pytest.raises(ValidationError) as excinfo:
        _create(site, phone="555-0100")

    assert "phone" in excinfo.value.message_dict
    assert Participant.objects.count() == 0


def test_it_updates_the_fields_it_is_given(site):
    participant = _create(site)

    participant_update(participant=participant, data={"first_name": "Ari", "phone": "+15550100002"})

    participant.refresh_from_db()
    assert (participant.first_name, participant.phone) == ("Ari", "+15550100002")


def test_it_refuses_an_update_to_another_participants_record_number(site):
    other = _create(site, record_number="MRN-2002")
    participant = _create(site)

    with pytest.raises(ValidationError) as excinfo:
        participant_update(participant=participant, data={"record_number": "MRN-2002"})

    assert excinfo.value.code == "record_number_taken"
    participant.refresh_from_db()
    assert participant.record_number == "MRN-1001"
    assert other.record_number == "MRN-2002"


def test_it_refuses_unknown_fields_and_writes_nothing(site):
    participant = _create(site)

    with pytest.raises(ValidationError) as excinfo:
        participant_update(participant=participant, data={"first_name": "Ari", "code": "x"})

    assert excinfo.value.code == "unknown_field"
    participant.refresh_from_db()
    assert participant.first_name == "Avery"


def test_it_leaves_the_record_and_the_callers_object_alone_on_a_bad_email(site):
    participant = _create(site)

    with pytest.raises(ValidationError):
        participant_update(participant=participant, data={"first_name": "Ari", "email": "nope"})

    assert participant.first_name == "Avery"
    participant.refresh_from_db()
    assert (participant.first_name, participant.email) == ("Avery", "avery@mail.example.com")


def test_it_records_consent_with_when_and_how():
    participant = ParticipantFactory()
    at = dt.datetime(2026, 1, 2, 15, 0, tzinfo=UTC)

    consent = consent_give(participant=participant, channel="sms", source="intake", at=at)

    assert (consent.given_at, consent.source, consent.revoked_at) == (at, "intake", None)
    assert participant.has_consent("sms")
    assert not participant.has_consent("email")


def test_it_keeps_one_standing_consent_when_given_twice():
    participant = ParticipantFactory()
    first = consent_give(participant=participant, channel="sms", source="intake",
                         at=dt.datetime(2026, 1, 2, tzinfo=UTC))

    again = consent_give(participant=participant, channel="sms", source="sms_keyword")

    assert again.pk == first.pk
    assert again.source == "intake"
    assert ContactConsent.objects.filter(participant=participant).count() == 1


@time_machine.travel(dt.datetime(2026, 2, 1, 12, 0, tzinfo=UTC), tick=False)
def test_it_revokes_consent_and_keeps_the_history():
    participant = ParticipantFactory()
    consent_give(participant=participant, channel="sms", source="intake",
                 at=dt.datetime(2026, 1, 2, tzinfo=UTC))

    assert consent_revoke(participant=participant, channel="sms", source="sms_keyword") is True
    assert not participant_has_consent(participant=participant, channel="sms")
    assert consent_revoke(participant=participant, channel="sms", source="sms_keyword") is False

    consent_give(participant=participant, channel="sms", source="portal")
    history = list(consent_history(participant=participant))
    assert [c.source for c in history] == ["portal", "intake"]
    assert history[1].revoked_at == dt.datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
    assert history[1].revoked_source == "sms_keyword"
    assert participant.has_consent("sms")


def test_it_refuses_to_revoke_before_consent_was_given():
    participant = ParticipantFactory()
    consent_give(participant=participant, channel="email", source="intake",
                 at=dt.datetime(2026, 1, 2, tzinfo=UTC))

    with pytest.raises(ValidationError) as excinfo:
        consent_revoke(participant=participant, channel="email", source="admin",
                       at=dt.datetime(2026, 1, 1, tzinfo=UTC))

    assert excinfo.value.code == "revoked_before_given"
    assert participant.has_consent("email")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"channel": "fax", "source": "intake"}, "invalid_channel"),
        ({"channel": "sms", "source": "rumour"}, "invalid_source"),
        ({"channel": "sms", "source": "intake", "at": dt.datetime(2026, 1, 2)}, "naive_datetime"),
    ],
)
def test_it_refuses_bad_consent_input(kwargs, code):
    participant = ParticipantFactory()

    with pytest.raises(ValidationError) as excinfo:
        consent_give(participant=participant, **kwargs)

    assert excinfo.value.code == code
    assert not ContactConsent.objects.exists()


@pytest.mark.parametrize(("channel", "missing", "code"), [
    ("email", "email", "consent_needs_email"),
    ("sms", "phone", "consent_needs_phone"),
])
def test_it_refuses_consent_on_a_channel_with_no_address_on_file(channel, missing, code):
    participant = ParticipantFactory(**{missing: ""})

    with pytest.raises(ValidationError) as excinfo:
        consent_give(participant=participant, channel=channel, source="intake")

    assert [e.code for e in excinfo.value.error_dict[missing]] == [code]
    assert not ContactConsent.objects.exists()


def test_it_answers_has_consent_from_prefetched_rows_without_a_query(django_assert_num_queries):
    for _ in range(3):
        consent_give(participant=ParticipantFactory(), channel="sms", source="intake")
    participants = list(Participant.objects.prefetch_related("consents"))

    with django_assert_num_queries(0):
        assert [p.has_consent("sms") for p in participants] == [True, True, True]



def test_it_asks_for_reminders_to_be_replanned_when_consent_or_contact_changes(site, replans):
    participant = _create(site)
    assert replans == []

    consent_give(participant=participant, channel="sms", source="intake")
    consent_give(participant=participant, channel="sms", source="intake")  # no change
    consent_revoke(participant=participant, channel="sms", source="sms_keyword")
    participant_update(participant=participant, data={"first_name": "Ari"})  # not about contact
    participant_update(participant=participant, data={"phone": "+15550100009"})

    assert replans == [[participant.pk]] * 3
