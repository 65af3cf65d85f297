"""SMS backends: what reaches the provider, and how each provider answer is classified."""
import base64
import io
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from reminders.channels import (
    PermanentChannelError,
    SmsMessage,
    TransientChannelError,
    get_sms_backend,
)
from reminders.channels.sms import file_outbox, sms_segments, to_gsm7

from .conftest import CLINIC_NUMBER, FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, free_port

MESSAGE = SmsMessage(to="+15555550123", body="Maple Street: see you Mon 6:00 PM.", sender="")


# --- HttpBackend against a fake provider over real HTTP ------------------------------------

def test_it_posts_the_message_to_the_provider_and_returns_its_sid(fake_provider):
    provider_id = get_sms_backend().send(MESSAGE)

    [request] = fake_provider.received
    assert provider_id.startswith("SM")
    assert request.path == f"/2010-04-01/Accounts/{FAKE_ACCOUNT_SID}/Messages.json"
    assert request.form == {"To": ["+15555550123"], "From": [CLINIC_NUMBER],
                            "Body": ["Maple Street: see you Mon 6:00 PM."]}
    expected_auth = base64.b64encode(f"{FAKE_ACCOUNT_SID}:{FAKE_AUTH_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected_auth}"


def test_it_returns_exactly_the_sid_the_provider_gave(fake_provider):
    fake_provider.answer(201, {"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"})

    assert get_sms_backend().send(MESSAGE) == "SM0123456789abcdef0123456789abcdef"


def test_it_sends_from_the_messages_own_sender_when_given(fake_provider):
    get_sms_backend().send(SmsMessage(to="+15555550123", body="Hi", sender="+15555550199"))

    assert fake_provider.received[0].form["From"] == ["+15555550199"]


def test_it_sends_a_batch_over_one_backend(fake_provider):
    with get_sms_backend() as backend:
        ids = [backend.send(MESSAGE) for _ in range(3)]

    assert len(set(ids)) == 3
    assert len(fake_provider.received) == 3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_it_treats_provider_errors_as_temporary(fake_provider, status):
    fake_provider.answer(status, {"message": "Internal error"})

    with pytest.raises(TransientChannelError) as caught:
        get_sms_backend().send(MESSAGE)
    assert caught.value.reason == f"http_{status}"


def test_it_treats_rate_limiting_as_temporary_and_passes_on_retry_after(fake_provider):
    fake_provider.answer(429, {"code": 20429, "message": "Too Many Requests"},
                         {"Retry-After": "30"})

    with pytest.raises(TransientChannelError) as caught:
        get_sms_backend().send(MESSAGE)
    assert caught.value.reason == "rate_limited"
    assert caught.value.retry_after == 30


def test_it_treats_a_provider_that_does_not_answer_in_time_as_temporary(fake_provider, settings):
    settings.SMS_HTTP_TIMEOUT = 0.3
    fake_provider.stall()

    with pytest.raises(TransientChannelError) as caught:
        get_sms_backend().send(MESSAGE)
    assert caught.value.reason == "timeout"


def test_it_treats_an_unreachable_provider_as_temporary(fake_provider, settings):
    settings.SMS_API_BASE_URL = f"http://127.0.0.1:{free_port()}/2010-04-01"  # nobody listens

    with pytest.raises(TransientChannelError) as caught:
        get_sms_backend().send(MESSAGE)
    assert caught.value.reason == "connection_failed"


@pytest.mark.parametrize(("code", "reason"), [
    (21211, "invalid_number"),
    (21614, "not_a_mobile_number"),
    (21610, "opted_out"),
    (21999, "provider_code_21999"),
])
def test_it_gives_up_on_numbers_the_provider_rejects(fake_provider, code, reason):
    # Providers echo the number in their message; the reason we keep must not.
    fake_provider.answer(400, {"code": code, "status": 400,
                               "message": "The 'To' number +15555550123 is not valid."})

    with pytest.raises(PermanentChannelError) as caught:
        get_sms_backend().send(MESSAGE)
    assert caught.value.reason == reason
    assert "+1555" not in str(caught.value)


def test_it_keeps_reminders_retryable_when_our_credentials_are_wrong(fake_provider):
    fake_provider.answer(401, {"code": 20003, "message": "Authenticate"})

    with pytest.raises(TransientChannelError) as caught:
        get_sms_backend().send(MESSAGE)
    assert caught.value.reason == "provider_auth_failed"


def test_it_does_not_retry_an_accepted_message_without_a_sid(fake_provider):
    # It may have been queued; a retry could text the participant twice.
    fake_provider.answer(201, {"status": "queued"})

    with pytest.raises(PermanentChannelError):
        get_sms_backend().send(MESSAGE)


def test_it_logs_provider_ids_but_never_numbers_or_text(fake_provider, caplog):
    caplog.set_level("DEBUG")
    fake_provider.answer(201, {"sid": "SMfeedfacefeedfacefeedfacefeedface", "status": "queued"})
    get_sms_backend().send(MESSAGE)
    fake_provider.answer(400, {"code": 21211, "message": "The 'To' number +15555550123 is bad"})
    with pytest.raises(PermanentChannelError):
        get_sms_backend().send(MESSAGE)

    assert "SMfeedfacefeedfacefeedfacefeedface" in caplog.text
    assert "+1555" not in caplog.text
    assert "see you" not in caplog.text


def test_it_refuses_to_build_an_http_backend_without_credentials(settings):
    settings.SMS_AUTH_TOKEN = ""

    with pytest.raises(ImproperlyConfigured, match="SMS_AUTH_TOKEN"):
        get_sms_backend("reminders.channels.sms.HttpBackend")


# --- Local backends ------------------------------------------------------------------------

def test_it_keeps_messages_in_the_outbox_with_the_in_memory_backend(sms_outbox):
    first = get_sms_backend().send(MESSAGE)
    second = get_sms_backend().send(SmsMessage(to="+15555550124", body="Second", sender=""))

    assert first != second
    assert [m.to for m in sms_outbox] == ["+15555550123", "+15555550124"]


def test_it_writes_one_file_per_message_with_the_file_backend(settings, tmp_path):
    settings.SMS_BACKEND = "reminders.channels.sms.FileBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"

    first = get_sms_backend().send(MESSAGE)
    second = get_sms_backend().send(SmsMessage(to="+15555550124", body="Second", sender=""))

    messages = file_outbox()
    assert [m["id"] for m in messages] == [first, second]
    assert messages[0]["to"] == "+15555550123"
    assert messages[0]["from"] == settings.SMS_FROM_NUMBER
    assert messages[1]["body"] == "Second"
    assert not list((tmp_path / "sms").glob(".*"))  # no temporary files left behind


@pytest.mark.e2e
def test_it_collects_files_written_by_other_processes(settings, tmp_path):
    settings.SMS_FILE_PATH = tmp_path
    script = (
        "import django, sys; django.setup();"
        "from reminders.channels import get_sms_backend, SmsMessage;"
        "b = get_sms_backend('reminders.channels.sms.FileBackend', file_path=sys.argv[1]);"
        "[b.send(SmsMessage(to='+15555550123', body=f'n{i}', sender='')) for i in range(5)]"
    )
    env = {"DJANGO_SETTINGS_MODULE": "iop_clinic.settings.test", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(settings.BASE_DIR)}
    workers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], env=env,
                                cwd=settings.BASE_DIR) for _ in range(3)]

    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0]
    messages = file_outbox(tmp_path)
    assert len(messages) == 15
    assert len({m["id"] for m in messages}) == 15


def test_it_prints_messages_with_the_console_backend():
    stream = io.StringIO()

    backend = get_sms_backend("reminders.channels.sms.ConsoleBackend", stream=stream)

    provider_id = backend.send(MESSAGE)

    assert provider_id in stream.getvalue()
    assert "see you Mon" in stream.getvalue()


def test_it_keeps_the_number_and_text_out_of_a_messages_repr():
    assert "+1555" not in repr(MESSAGE)
    assert "see you" not in repr(MESSAGE)


# --- Segments -------------------------------------------------------------------------------

def test_it_counts_segments_the_way_carriers_bill_them():
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("[" * 80) == 1  # extension characters take two septets
    assert sms_segments("[" * 81) == 2
    assert sms_segments("\u2019" + "a" * 69) == 1  # one curly quote: UCS-2, 70 a segment
    assert sms_segments("\u2019" + "a" * 70) == 2


def test_it_spells_names_in_gsm7_so_one_character_does_not_split_a_message():
    assert to_gsm7("O\u2019Neil Health \u2013 Clínica") == "O'Neil Health - Clinica"
    assert to_gsm7("Caf\u00e9") == "Caf\u00e9"  # é is in GSM-7 and stays as it is
