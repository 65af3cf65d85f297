import pytest
from django.urls import reverse

from participants.models import ContactConsent, Participant

pytestmark = pytest.mark.django_db


def _save(client, **data):
    return client.post(reverse("portal-reminders"), data)


def test_it_asks_for_consent_before_switching_to_sms(alice_client, alice):
    response = _save(alice_client, channels="sms")

    assert response.status_code == 200
    assert response.context["form"].errors["sms_consent"]
    assert Participant.objects.get(pk=alice.pk).reminder_channels == "email"
    assert not ContactConsent.objects.exists()


def test_it_switches_to_sms_and_records_consent_from_the_portal(alice_client, alice):
    response = _save(alice_client, channels="sms", sms_consent="on")

    assert response.status_code == 302
    assert Participant.objects.get(pk=alice.pk).reminder_channels == "sms"
    consent = ContactConsent.objects.get(participant=alice, channel="sms")
    assert consent.source == "portal" and consent.given_at and consent.revoked_at is None


def test_it_withdraws_consent_and_stops_sms(alice_client, alice):
    _save(alice_client, channels="both", sms_consent="on")

    response = _save(alice_client, channels="email")

    assert response.status_code == 302
    consent = ContactConsent.objects.get(participant=alice, channel="sms")
    assert consent.revoked_at is not None and consent.revoked_source == "portal"
    assert Participant.objects.get(pk=alice.pk).reminder_channels == "email"


def test_it_refuses_sms_without_a_mobile_number(alice_client, alice):
    Participant.objects.filter(pk=alice.pk).update(phone="")

    response = _save(alice_client, channels="sms", sms_consent="on")

    assert response.context["form"].errors["channels"]
    assert not ContactConsent.objects.exists()


@pytest.mark.parametrize("channels", ["", "carrier-pigeon"])
def test_it_shows_a_field_error_for_a_bad_choice(alice_client, alice, channels):
    response = _save(alice_client, channels=channels)

    assert response.status_code == 200
    assert response.context["form"].errors["channels"]
    assert Participant.objects.get(pk=alice.pk).reminder_channels == "email"


def test_it_lets_a_participant_turn_reminders_off(alice_client, alice):
    _save(alice_client, channels="none")

    assert Participant.objects.get(pk=alice.pk).reminder_channels == "none"
