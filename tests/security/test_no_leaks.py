"""No contact details in logs, no data on error pages."""
import io
import logging

import pytest
from django.core.checks import run_checks

from iop_clinic.security.logging import RedactContactDetailsFilter, redact_contact_details


@pytest.mark.parametrize("text", [
    "jane.doe@example.com",
    "J.Doe+iop@mail.example.org",
    "+15555550123",
    "+447700900123",
    "(555) 555-0123",
    "555-555-0123",
    "555.555.0123",
    "555 555 0123",
    "+1 555 555 0123",
    "1-555-555-0123",
    "+1 (555) 555-0123",
    "jane.doe%40example.com",
    "%2B15555550123",
    "5555550123@txt.example.com",
    "1.2@example.com",
])
def test_it_masks_contact_details(text):
    masked = redact_contact_details(f"sending to {text} now")

    assert text not in masked
    assert masked in ("sending to [email] now", "sending to [phone] now")


@pytest.mark.parametrize("text", [
    "reminder 12345 claimed", "sent at 2026-03-02 14:00:00", "epoch 1772460000",
    "participant 5f0c9a1e-6d1b-4c1e-9f3a-1d2b3c4d5e6f", "took 0.125 s", "version 5.2.19",
    "message_id=<179576027911.18467.14042271526623489756@clinic.example>",
])
def test_it_leaves_ids_dates_and_numbers_alone(text):
    assert redact_contact_details(text) == text


def capture(logger_name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactContactDetailsFilter())
    logger = logging.getLogger(logger_name)
    logger.handlers = [handler]
    logger.propagate = False
    return logger, stream


def test_it_masks_message_arguments_and_tracebacks():
    logger, stream = capture("tests.redaction")
    try:
        raise ValueError("duplicate key (email)=(pat@example.com)")
    except ValueError:
        logger.exception("could not text %s or mail %s", "+15555550123", "pat@example.com")

    output = stream.getvalue()
    assert "pat@example.com" not in output
    assert "+15555550123" not in output
    assert "could not text [phone] or mail [email]" in output
    assert "duplicate key (email)=([email])" in output


def test_it_attaches_the_filter_to_every_configured_handler(settings):
    handlers = settings.LOGGING["handlers"]
    assert handlers
    for handler in handlers.values():
        assert "redact_contacts" in handler["filters"]
    root_handlers = [h for h in logging.getLogger().handlers
                     if any(isinstance(f, RedactContactDetailsFilter) for f in h.filters)]
    assert root_handlers, "the console handler from LOGGING carries the filter"


def test_it_fails_the_system_check_when_a_handler_lacks_the_filter(settings):
    settings.LOGGING = {**settings.LOGGING, "handlers": {
        **settings.LOGGING["handlers"], "file": {"class": "logging.FileHandler"}}}

    errors = [error.id for error in run_checks(tags=["security"])]

    assert "security.E002" in errors


def test_it_fails_the_system_check_when_scripts_may_be_inline(settings):
    policy = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
        **policy["DIRECTIVES"], "script-src": ["'self'", "'unsafe-inline'"]}}

    assert "security.E001" in [error.id for error in run_checks(tags=["security"])]


def test_it_runs_the_tests_with_debug_off(settings):
    assert settings.DEBUG is False


@pytest.mark.django_db
def test_it_shows_a_404_page_without_the_address_asked_for(client):
    response = client.get("/participants/jane.doe@example.com/")

    assert response.status_code == 404
    assert b"Page not found" in response.content
    assert b"jane.doe" not in response.content


@pytest.mark.django_db
@pytest.mark.urls("tests.security.urls")
def test_it_shows_a_500_page_without_the_error(client):
    client.raise_request_exception = False

    response = client.get("/test/crash/pat@example.com/")

    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"boom" not in response.content
    assert b"pat@example.com" not in response.content
