"""POST /webhooks/sms/inbound: signed keywords from participants' phones change SMS consent."""
import base64
import hashlib
import hmac
import re

import pytest
from django.http import QueryDict

from participants.models import ContactConsent
from programs.models import Site
from reminders import inbound as sms_inbound
from reminders.inbound import Keyword, reply_text
from reminders.webhooks import compute_signature

from tests import factories
from .conftest import CLINIC_NUMBER

URL = "/webhooks/sms/inbound"
TOKEN = "webhook-test-token"
STOP_WORDS = ["STOP", "stop", "  Quit ", "END", "cancel", "Unsubscribe", "REVOKE", "opt out",
              "Opt-Out", "OPTOUT", "STOPALL", "Stop.", "STOP please"]
TREATMENT_WORDS = re.compile(
    r"recovery|addiction|substance|rehab|detox|therapy|\bIOP\b|group|counsel|treatment|program",
    re.IGNORECASE,
)


def provider_signature(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    """Written from the provider's documentation, independently of the code under test."""
    data = url + "".join(key + params[key] for key in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.SMS_AUTH_TOKEN = TOKEN
    settings.SMS_WEBHOOK_BASE_URL = ""


@pytest.fixture
def replans(monkeypatch):
    """The participant ids handed to the re-plan hook (the planner lives in another module)."""
    calls: list[list[int]] = []
    monkeypatch.setattr(sms_inbound, "reminders_replan_on_commit",
                        lambda *, participant_ids: calls.append(sorted(participant_ids)))
    return calls


@pytest.fixture
def texter(site):
    """A participant who agreed to text reminders at intake."""
    participant = factories.ParticipantFactory(home_site=site, phone="+15555550142")
    factories.ContactConsentFactory(participant=participant, channel="sms")
    return participant


def text_in(client, body: str, *, sender: str = "+15555550142", signature: str | None = None,
            url: str = "http://testserver" + URL, **extra):
    params = {"MessageSid": "SM" + "1" * 32, "AccountSid": "AC" + "0" * 32, "From": sender,
              "To": CLINIC_NUMBER, "Body": body}
    if signature is None:
        signature = provider_signature(url, params)
    return client.post(URL, params, headers={"X-Twilio-Signature": signature}, **extra)


def sms_consent_standing(participant) -> bool:
    return ContactConsent.objects.filter(participant=participant, channel="sms",
                                         revoked_at__isnull=True).exists()


# --- Signatures -----------------------------------------------------------------------------

def test_it_computes_the_signature_from_the_providers_documentation():
    params = QueryDict(mutable=True)
    params.update({"CallSid": "CA1234567890ABCDE", "Caller": "+14158675310", "Digits": "1234",
                   "From": "+14158675310", "To": "+18005551212"})

    signature = compute_signature(url="https://mycompany.com/myapp.php?foo=1&bar=2",
                                  params=params, auth_token="12345")

    assert signature == "GvWf1cFY/Q7PnoempGyD5oXAezc="


@pytest.mark.parametrize("signature", ["", "not-a-signature", "GvWf1cFY/Q7PnoempGyD5oXAezc="])
def test_it_refuses_a_stop_without_a_valid_signature(client, texter, sms_outbox, replans,
                                                     signature):
    response = text_in(client, "STOP", signature=signature)

    assert response.status_code == 403
    assert sms_consent_standing(texter)
    assert sms_outbox == []
    assert replans == []


def test_it_refuses_a_request_without_the_signature_header(client, texter, sms_outbox):
    response = client.post(URL, {"From": "+15555550142", "To": CLINIC_NUMBER, "Body": "STOP"})

    assert response.status_code == 403
    assert sms_consent_standing(texter)
    assert sms_outbox == []


def test_it_refuses_a_signature_made_with_another_token(client, texter, sms_outbox):
    params = {"From": "+15555550142", "To": CLINIC_NUMBER, "Body": "STOP"}
    forged = provider_signature("http://testserver" + URL, params, token="someone-elses-token")

    response = client.post(URL, params, headers={"X-Twilio-Signature": forged})

    assert response.status_code == 403
    assert sms_consent_standing(texter)


def test_it_refuses_a_signed_message_whose_text_was_changed(client, texter, sms_outbox):
    params = {"From": "+15555550142", "To": CLINIC_NUMBER, "Body": "Hello"}
    signature = provider_signature("http://testserver" + URL, params)

    response = client.post(URL, params | {"Body": "STOP"},
                           headers={"X-Twilio-Signature": signature})

    assert response.status_code == 403
    assert sms_consent_standing(texter)


def test_it_refuses_everything_while_no_auth_token_is_configured(client, texter, settings):
    settings.SMS_AUTH_TOKEN = ""
    params = {"From": "+15555550142", "To": CLINIC_NUMBER, "Body": "STOP"}

    response = client.post(URL, params, headers={
        "X-Twilio-Signature": provider_signature("http://testserver" + URL, params, token="")})

    assert response.status_code == 403
    assert sms_consent_standing(texter)


def test_it_verifies_against_the_public_url_behind_a_proxy(client, texter, settings):
    settings.SMS_WEBHOOK_BASE_URL = "https://clinic.example.org"

    direct = text_in(client, "HELP")  # signed for http://testserver/..., not what the provider saw
    proxied = text_in(client, "HELP", url="https://clinic.example.org" + URL)
    with_port = text_in(client, "HELP", url="https://clinic.example.org:443" + URL)

    assert (direct.status_code, proxied.status_code, with_port.status_code) == (403, 200, 200)


def test_it_answers_only_post(client):
    assert client.get(URL).status_code == 405


# --- Keywords -------------------------------------------------------------------------------

@pytest.mark.parametrize("word", STOP_WORDS)
def test_it_withdraws_sms_consent_and_confirms_once_for_every_stop_word(
    client, texter, sms_outbox, replans, word
):
    response = text_in(client, word)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response/>" in response.content
    consent = ContactConsent.objects.get(participant=texter, channel="sms")
    assert consent.revoked_at is not None
    assert consent.revoked_source == "sms_keyword"
    [confirmation] = sms_outbox
    assert confirmation.to == "+15555550142"
    assert confirmation.sender == CLINIC_NUMBER  # the reply comes from the number they texted
    assert confirmation.body == (f"{texter.home_site.public_alias}: You will no longer receive "
                                 "text messages. Reply START to resume.")
    assert replans == [[texter.pk]]


def test_it_withdraws_consent_for_everyone_sharing_the_number_with_one_confirmation(
    client, site, texter, sms_outbox, replans
):
    relative = factories.ParticipantFactory(home_site=site, phone=texter.phone)
    factories.ContactConsentFactory(participant=relative, channel="sms")
    stranger = factories.ParticipantFactory(home_site=site, phone="+15555550199")
    factories.ContactConsentFactory(participant=stranger, channel="sms")

    text_in(client, "STOP")

    assert not sms_consent_standing(texter)
    assert not sms_consent_standing(relative)
    assert sms_consent_standing(stranger)
    assert len(sms_outbox) == 1
    assert replans == [sorted([texter.pk, relative.pk])]


def test_it_confirms_a_repeated_stop_without_changing_the_record(client, texter, sms_outbox):
    text_in(client, "STOP")
    first_revocation = ContactConsent.objects.get(participant=texter).revoked_at

    text_in(client, "STOP")

    assert ContactConsent.objects.get(participant=texter).revoked_at == first_revocation
    assert len(sms_outbox) == 2


def test_it_leaves_email_consent_alone_on_stop(client, texter):
    factories.ContactConsentFactory(participant=texter, channel="email")

    text_in(client, "STOP")

    assert ContactConsent.objects.get(participant=texter, channel="email").revoked_at is None


@pytest.mark.parametrize("word", ["START", "start", " Unstop ", "YES", "Yes!"])
def test_it_restores_sms_consent_on_start(client, texter, sms_outbox, replans, word):
    text_in(client, "STOP")
    sms_outbox.clear()
    replans.clear()

    text_in(client, word)

    standing = ContactConsent.objects.get(participant=texter, channel="sms",
                                          revoked_at__isnull=True)
    assert standing.source == "sms_keyword"
    assert ContactConsent.objects.filter(participant=texter, channel="sms").count() == 2
    [confirmation] = sms_outbox
    assert "Reply STOP" in confirmation.body
    assert texter.home_site.public_alias in confirmation.body
    assert replans == [[texter.pk]]


def test_it_does_not_take_a_yes_in_a_sentence_as_consent(client, texter, sms_outbox):
    text_in(client, "STOP")
    sms_outbox.clear()

    response = text_in(client, "Yes, see you then")

    assert response.status_code == 200
    assert not sms_consent_standing(texter)
    assert sms_outbox == []


@pytest.mark.parametrize("word", ["HELP", "help", "Info", "help me please"])
def test_it_answers_help_with_the_sites_alias_and_call_back_number(
    client, texter, sms_outbox, replans, word
):
    text_in(client, word)

    [answer] = sms_outbox
    assert texter.home_site.public_alias in answer.body
    assert texter.home_site.phone in answer.body
    assert sms_consent_standing(texter)
    assert replans == []


def test_it_stays_silent_about_numbers_it_does_not_know(client, texter, sms_outbox, replans):
    response = text_in(client, "STOP", sender="+15555550777")

    assert response.status_code == 200
    assert response.content.endswith(b"<Response/>")
    assert sms_outbox == []
    assert replans == []
    assert sms_consent_standing(texter)


def test_it_ignores_ordinary_texts(client, texter, sms_outbox, replans):
    response = text_in(client, "Running 10 minutes late, sorry")

    assert response.status_code == 200
    assert sms_outbox == []
    assert replans == []
    assert sms_consent_standing(texter)


def test_it_keeps_the_opt_out_when_the_confirmation_cannot_be_sent(client, texter, fake_provider,
                                                                  settings):
    settings.SMS_AUTH_TOKEN = TOKEN  # fake_provider set its own; the webhook needs ours
    fake_provider.answer(503, {"message": "Service unavailable"})

    response = text_in(client, "STOP")

    assert response.status_code == 200
    assert not sms_consent_standing(texter)
    assert len(fake_provider.received) == 1


def test_it_sends_the_confirmation_through_the_provider(client, texter, fake_provider, settings):
    settings.SMS_AUTH_TOKEN = TOKEN

    text_in(client, "STOP")

    [request] = fake_provider.received
    assert request.form["To"] == ["+15555550142"]
    assert request.form["From"] == [CLINIC_NUMBER]
    assert request.form["Body"][0].endswith("Reply START to resume.")


def test_it_logs_the_message_sid_but_not_the_number_or_text(client, texter, caplog):
    caplog.set_level("DEBUG")

    text_in(client, "STOP talking to me")

    assert "SM" + "1" * 32 in caplog.text
    assert "+15555550142" not in caplog.text
    assert "talking" not in caplog.text


# --- What the replies say --------------------------------------------------------------------

@pytest.mark.parametrize("keyword", [Keyword.OPT_OUT, Keyword.OPT_IN, Keyword.HELP])
def test_it_keeps_every_reply_neutral_and_within_one_segment(keyword):
    from reminders.channels.sms import is_gsm7, sms_segments

    longest = Site(public_alias="Maple Street Health Center and Wellness Associates, North Ca",
                   phone="+155555501234567")
    assert (len(longest.public_alias), len(longest.phone)) == (60, 16)  # the model's maxima

    reply = reply_text(keyword=keyword, site=longest)

    assert TREATMENT_WORDS.search(reply) is None
    assert is_gsm7(reply)
    assert len(reply) <= 160
    assert sms_segments(reply) == 1


def test_it_spells_a_curly_apostrophe_in_the_alias_plainly(site):
    site.public_alias = "St. Anne\u2019s Health Center"

    reply = reply_text(keyword=Keyword.OPT_OUT, site=site)

    assert reply.startswith("St. Anne's Health Center:")
