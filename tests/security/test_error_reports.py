"""Error reports to Sentry carry no name, phone number or email address: the scrubber on its own,
then the SDK as the app starts it, with a transport that records instead of sending."""
import json
import logging

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from iop_clinic.security.error_reports import error_reports_options, scrub_event

NAME, SURNAME = "Quenby", "Marchetti"
PHONE, EMAIL = "+15555550177", "quenby.marchetti@mail.example.com"
PERSONAL = (NAME, SURNAME, "5555550177", "555-0177", EMAIL, "quenby.marchetti")


def leaks(payload) -> list[str]:
    text = json.dumps(payload)
    return [value for value in PERSONAL if value in text]


def an_event() -> dict:
    """An event as Sentry's Django, logging and stack integrations build one, full of a person."""
    return {
        "message": f"Could not text {PHONE}",
        "logentry": {"message": "Could not text %s", "params": [PHONE]},
        "exception": {"values": [{
            "type": "SMSError", "value": f"provider refused {PHONE} (copy to {EMAIL})",
            "stacktrace": {"frames": [{
                "function": "reminders_deliver", "lineno": 12,
                "vars": {"participant": f"<Participant: {NAME} {SURNAME}>", "phone": PHONE},
            }]},
        }]},
        "request": {
            "method": "POST", "url": f"https://clinic.example.org/participants/?q={SURNAME}",
            "query_string": f"q={SURNAME}",
            "data": {"first_name": NAME, "last_name": SURNAME, "phone": PHONE},
            "cookies": {"sessionid": "abc"},
            "headers": {"Referer": f"https://clinic.example.org/participants/?q={NAME}",
                        "Cookie": "sessionid=abc", "User-Agent": "Firefox", "Host": "clinic"},
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        },
        "user": {"id": 7, "username": "qmarchetti", "email": EMAIL},
        "breadcrumbs": {"values": [
            {"category": "query", "message": "SELECT ... WHERE first_name = %s",
             "data": {"params": [NAME]}},
            {"category": "reminders", "message": f"sending to {EMAIL}"},
        ]},
        "extra": {"note": f"call {PHONE} back"},
    }


def test_it_scrubs_names_phones_and_emails_from_an_event():
    event = scrub_event(an_event(), {})

    assert leaks(event) == []
    # What helps to fix the error is still there.
    assert event["exception"]["values"][0]["type"] == "SMSError"
    assert event["exception"]["values"][0]["value"] == "provider refused [phone] (copy to [email])"
    assert event["exception"]["values"][0]["stacktrace"]["frames"][0]["function"] == "reminders_deliver"
    assert event["request"]["url"] == "https://clinic.example.org/participants/"
    assert event["request"]["headers"] == {"User-Agent": "Firefox", "Host": "clinic"}
    assert event["breadcrumbs"]["values"][1]["message"] == "sending to [email]"


def test_it_starts_the_sdk_without_personal_data_collection():
    options = error_reports_options(dsn="https://key@sentry.example.org/1", environment="test")

    assert options["send_default_pii"] is False
    assert options["include_local_variables"] is False
    assert options["max_request_body_size"] == "never"
    assert options["before_send"] is scrub_event


class RecordingTransport(Transport):
    """Keeps each envelope's events in memory; nothing goes over the network."""

    def __init__(self, options=None):
        super().__init__(options)
        self.events: list[dict] = []

    def capture_envelope(self, envelope) -> None:
        for item in envelope.items:
            if item.type == "event":
                self.events.append(item.payload.json)


@pytest.fixture
def recorded():
    transport = RecordingTransport()
    sentry_sdk.init(**error_reports_options(dsn="https://key@sentry.example.org/1",
                                            environment="test"), transport=transport)
    yield transport.events
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: off again for the rest of the run


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:The send_default_pii option is deprecated")
def test_it_sends_a_failing_request_without_the_person_in_it(recorded, client, monkeypatch):
    from iop_clinic import health

    def broken() -> bool:
        participant = f"{NAME} {SURNAME}"  # a local variable of the failing frame
        # A log line becomes a breadcrumb before the logs' filter sees it: scrubbed again.
        logging.getLogger("reminders").warning("texting %s (%s)", PHONE, participant[:0])
        raise RuntimeError(f"lost the line to {EMAIL} and {PHONE}")

    monkeypatch.setattr(health, "database_ok", broken)
    client.raise_request_exception = False

    response = client.get(f"/healthz?q={SURNAME}", headers={
        "Referer": f"https://clinic.example.org/participants/?q={NAME}",
        "Cookie": "sessionid=abc"})
    sentry_sdk.flush()

    assert response.status_code == 500
    errors = [event for event in recorded if event.get("exception")]
    assert len(errors) == 1, recorded
    assert errors[0]["exception"]["values"][-1]["type"] == "RuntimeError"
    assert "[email]" in errors[0]["exception"]["values"][-1]["value"]
    crumbs = [crumb["message"] for crumb in errors[0]["breadcrumbs"]["values"]]
    assert "texting [phone] ()" in crumbs
    assert leaks(recorded) == []


def test_it_is_switched_on_by_sentry_dsn_alone(settings, monkeypatch):
    from django.apps import apps

    from iop_clinic.security import error_reports

    started = []
    monkeypatch.setattr(error_reports, "error_reports_start", lambda **kw: started.append(kw))
    config = apps.get_app_config("security")

    settings.SENTRY_DSN = ""
    config.ready()
    assert started == []

    settings.SENTRY_DSN = "https://key@sentry.example.org/1"
    config.ready()
    assert started == [{"dsn": "https://key@sentry.example.org/1", "environment": "production"}]
