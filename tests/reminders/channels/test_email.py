"""Email through a real SMTP server on loopback: what arrives, and how refusals are classified."""
from email.utils import parseaddr

import pytest
from django.core import mail

from reminders.channels import PermanentChannelError, TransientChannelError, send_email_message
from reminders.channels.email import message_id_key

from .conftest import SmtpHandler, free_port


def send(site, **overrides) -> str:
    fields = dict(to="participant@mail.example.com", subject="Your visit on Monday",
                  body="See you Monday at 6:00 PM.", sender_name=site.public_alias)
    return send_email_message(**(fields | overrides))


def test_it_delivers_to_an_smtp_server_from_the_sites_neutral_name(site, smtp_server, settings):
    server = smtp_server()

    message_id = send(site, html_body="<p>See you Monday at 6:00 PM.</p>")

    [(recipients, message)] = server.messages
    assert recipients == ["participant@mail.example.com"]
    assert parseaddr(message["From"]) == (site.public_alias, settings.DEFAULT_FROM_EMAIL)
    assert message["Subject"] == "Your visit on Monday"
    assert message["Message-ID"] == message_id
    assert message_id.endswith("@clinic.example>")
    parts = {part.get_content_type(): part.get_payload(decode=True).decode()
             for part in message.walk() if not part.is_multipart()}
    assert parts["text/plain"].strip() == "See you Monday at 6:00 PM."
    assert parts["text/html"].strip() == "<p>See you Monday at 6:00 PM.</p>"


def test_it_keeps_odd_characters_in_a_sender_name_inside_the_from_header(site, smtp_server):
    server = smtp_server()

    send(site, sender_name='Maple Street, "North"\nHealth')

    [(_, message)] = server.messages
    assert parseaddr(message["From"])[0] == 'Maple Street, "North" Health'


def test_it_gives_up_when_the_recipients_server_refuses_the_address(site, smtp_server):
    smtp_server(SmtpHandler(rcpt_reply="550 5.1.1 No such user here"))

    with pytest.raises(PermanentChannelError) as caught:
        send(site)
    assert caught.value.reason == "recipient_refused_550"
    assert "example.com" not in str(caught.value)


def test_it_retries_later_when_the_server_defers_the_address(site, smtp_server):
    smtp_server(SmtpHandler(rcpt_reply="451 4.3.0 Try again later"))

    with pytest.raises(TransientChannelError) as caught:
        send(site)
    assert caught.value.reason == "recipient_deferred_451"


def test_it_gives_up_when_the_message_itself_is_rejected(site, smtp_server):
    smtp_server(SmtpHandler(data_reply="554 5.7.1 Message rejected"))

    with pytest.raises(PermanentChannelError):
        send(site)


def test_it_retries_later_when_the_message_is_deferred(site, smtp_server):
    smtp_server(SmtpHandler(data_reply="451 4.7.1 Greylisted, come back later"))

    with pytest.raises(TransientChannelError):
        send(site)


def test_it_retries_later_when_no_smtp_server_answers(site, smtp_server, settings):
    smtp_server()
    settings.EMAIL_PORT = free_port()  # nobody listens there

    with pytest.raises(TransientChannelError) as caught:
        send(site)
    assert caught.value.reason == "connection_failed"


def test_it_gives_up_on_an_address_that_cannot_be_one_without_contacting_a_server(site):
    with pytest.raises(PermanentChannelError) as caught:
        send(site, to="not an address")
    assert caught.value.reason == "invalid_address"
    assert mail.outbox == []


def test_it_logs_the_message_id_but_not_the_address_or_subject(site, smtp_server, caplog):
    caplog.set_level("DEBUG", logger="reminders.channels")
    smtp_server(SmtpHandler(rcpt_reply="550 5.1.1 No such user here"))
    with pytest.raises(PermanentChannelError):
        send(site)
    smtp_server()

    message_id = send(site)

    # Only our own lines: the test SMTP server logs the whole conversation.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("reminders"))
    # The unique part of the Message-ID: the whole "<key@domain>" would be masked like an address.
    assert message_id_key(message_id) in ours
    assert "[email]" not in ours
    assert "participant@" not in ours
    assert "Monday" not in ours


def test_it_uses_djangos_configured_backend(site):
    message_id = send(site)

    [message] = mail.outbox
    assert message.extra_headers["Message-ID"] == message_id
    assert parseaddr(message.from_email)[0] == site.public_alias
