"""/healthz watches the outbox: a sweeper that stopped, due reminders left waiting, failures
piling up; each turns the answer "degraded" with its number, and each clears when it is over."""
import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from reminders.models import Reminder
from reminders.sweeper import reminders_sweep
from tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 11, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _a_worker_answers(monkeypatch):
    # No worker runs in these tests; the worker check has tests of its own (tests/test_health.py).
    monkeypatch.setattr("iop_clinic.health.worker_ok", lambda: True)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def make_reminder(*, status="pending", due_ago=dt.timedelta(minutes=1), visit_in=dt.timedelta(hours=3)):
    participant = factories.ParticipantFactory()
    now = timezone.now()
    return Reminder.objects.create(
        participant=participant, site=participant.home_site, visit_date=(now + visit_in).date(),
        kind="same_day", channel="sms", status=status, due_at=now - due_ago,
        send_before=now + visit_in, reason="retries_exhausted" if status == "failed" else "",
        sent_at=now if status == "sent" else None)


def healthz(client) -> dict:
    response = client.get("/healthz")
    assert response.status_code == 200
    return response.json()


def test_it_is_ok_right_after_a_sweep(client, clock):
    reminders_sweep()

    body = healthz(client)

    assert body["status"] == "ok" and body["sweeper_seconds_since_run"] == 0
    assert (body["sweeper"], body["due_reminders"], body["failed_reminders"]) == ("ok", "ok", "ok")


def test_it_degrades_when_the_sweeper_has_not_run_for_three_minutes(client, clock):
    assert healthz(client)["sweeper"] == "stale"  # never ran since Redis was emptied
    assert healthz(client)["sweeper_seconds_since_run"] is None
    reminders_sweep()

    clock.shift(dt.timedelta(seconds=179))
    assert healthz(client)["status"] == "ok"
    clock.shift(dt.timedelta(seconds=1))
    body = healthz(client)

    assert body["status"] == "degraded"
    assert body["sweeper"] == "stale" and body["sweeper_seconds_since_run"] == 180

    reminders_sweep()  # beat is back
    assert healthz(client)["status"] == "ok"


def test_it_degrades_while_a_due_reminder_waits_five_minutes_and_clears_once_claimed(
        client, clock):
    make_reminder(due_ago=dt.timedelta(minutes=4, seconds=59))
    reminders_sweep_records_only()
    assert healthz(client)["status"] == "ok"

    clock.shift(dt.timedelta(seconds=1))
    reminders_sweep_records_only()
    body = healthz(client)
    assert body["status"] == "degraded"
    assert body["due_reminders"] == "late" and body["due_reminders_oldest_wait_seconds"] == 300

    # The sweeper runs again: the row is claimed (its send task queued once this commits).
    reminders_sweep(batch_size=10)
    body = healthz(client)
    assert body["status"] == "ok" and body["due_reminders_oldest_wait_seconds"] == 0


def test_it_counts_only_due_reminders_still_pending(client, clock):
    make_reminder(due_ago=dt.timedelta(minutes=-30))  # not due yet
    make_reminder(status="sent", due_ago=dt.timedelta(hours=1))
    make_reminder(status="expired", due_ago=dt.timedelta(hours=1))
    reminders_sweep_records_only()

    assert healthz(client)["due_reminders_oldest_wait_seconds"] == 0


def test_it_degrades_when_failures_pile_up_and_clears_after_the_window(client, clock, settings):
    settings.HEALTHZ_FAILED_REMINDERS_LIMIT = 3
    for _ in range(3):
        make_reminder(status="failed")
    reminders_sweep_records_only()
    body = healthz(client)
    assert body["status"] == "ok" and body["failed_reminders_recent"] == 3

    make_reminder(status="failed")
    body = healthz(client)
    assert body["status"] == "degraded" and body["failed_reminders"] == "too_many"
    assert body["failed_reminders_recent"] == 4 and body["failed_reminders_window_hours"] == 1

    clock.shift(dt.timedelta(minutes=61))
    reminders_sweep_records_only()
    body = healthz(client)
    assert body["status"] == "ok" and body["failed_reminders_recent"] == 0


def test_it_reads_the_outbox_in_two_queries(client, clock, django_assert_num_queries):
    from reminders.health import outbox_vitals

    make_reminder(status="failed")
    make_reminder(due_ago=dt.timedelta(minutes=2))
    with django_assert_num_queries(2):
        vitals = outbox_vitals()

    assert (vitals.failed_recent, vitals.due_lag) == (1, 120)


def reminders_sweep_records_only() -> None:
    """The sweeper's heartbeat without a sweep, so due rows stay due."""
    from iop_clinic.vitals import vitals_record_run
    from reminders.sweeper import SWEEP_VITALS_NAME

    vitals_record_run(name=SWEEP_VITALS_NAME)


@pytest.mark.parametrize(("env", "message"), [
    ({"HEALTHZ_SWEEPER_STALE_SECONDS": "60"}, "must be longer than REMINDER_SWEEP_INTERVAL"),
    ({"HEALTHZ_DUE_LAG_SECONDS": "five minutes"}, "invalid literal for int"),
    ({"HEALTHZ_FAILED_REMINDERS_HOURS": "0"}, "HEALTHZ_FAILED_REMINDERS_HOURS must be at least 1"),
])
def test_it_refuses_limits_that_cannot_work(tmp_path, env, message):
    import subprocess
    import sys

    from django.conf import settings

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=settings.BASE_DIR,
        capture_output=True, text=True, timeout=60,
        env={"DJANGO_SETTINGS_MODULE": "iop_clinic.settings.local", "VAR_DIR": str(tmp_path),
             "PYTHONPATH": str(settings.BASE_DIR), **env})

    assert result.returncode != 0 and message in result.stderr
