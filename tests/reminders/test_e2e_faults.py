"""Fault injection with real processes: Redis lost and flushed while a worker holds claimed
batches, and the worker's database connection terminated mid-delivery.

Each test starts its own redis-server (no persistence). The SMS FileBackend writes one file a
message from every worker process and waits SMS_FILE_LATENCY_MS per message, as a provider's API
call would, so the faults land while messages are in flight. Every reminder must go out exactly
once; a row may end `outcome_unknown` only if its message reached the channel.
"""
import datetime as dt
import json
import time
from collections import Counter

import pytest
from django.db import connection

from reminders.models import Reminder

from .processes import due_reminders, sms_files, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]

FINAL = ("sent", "expired", "skipped", "failed")


def messages(sms_dir) -> list[dict]:
    return [json.loads(path.read_text()) for path in sms_files(sms_dir)]


def count(ids, *statuses) -> int:
    return Reminder.objects.filter(pk__in=ids, status__in=statuses).count()


def log_count(processes, text: bytes) -> int:
    return processes.log("worker").count(text)


def assert_exactly_once(ids, sms_dir):
    """Each reminder's participant got one message, and no message went out twice."""
    rows = list(Reminder.objects.filter(pk__in=ids).select_related("participant"))
    per_phone = Counter(message["to"] for message in messages(sms_dir))
    duplicated = {phone: n for phone, n in per_phone.items() if n > 1}
    assert not duplicated
    lost = [row.pk for row in rows if row.status == "sent" and not per_phone[row.participant.phone]]
    assert not lost
    # outcome_unknown means "handed to the channel": never for a row whose message is missing.
    unknown = [row for row in rows if row.reason == "outcome_unknown"]
    assert all(per_phone[row.participant.phone] for row in unknown)
    return rows, per_phone


def test_it_sends_each_reminder_once_through_two_quick_redis_restarts_and_a_flush(
        stack, redis_server, tmp_path):
    """Production's prefork pool (the pool whose consumer died on celery/kombu 5.7.0): the
    worker rides out all three losses itself; this test asserts it is the same process."""
    processes, sms_dir = stack
    # 40 visits begin 40 s from now: whatever is not out by then must expire, never go late.
    soon = due_reminders(40, starts_in=dt.timedelta(seconds=40))
    later = due_reminders(120)
    ids = soon + later
    # Batches of 20 at 100 ms a message: each takes 2 s, so a loss finds batches in hand.
    env = {"SMS_FILE_LATENCY_MS": "100", "REMINDER_SEND_BATCH_SIZE": "20",
           "REMINDER_CLAIM_TIMEOUT_SECONDS": "3"}  # the worker runs the sweeps beat enqueues
    # One pool process: the worker then holds exactly one unacknowledged batch at a loss, the
    # case that made celery/kombu 5.7.0's consumer exit (the bare reproduction's, too).
    worker = processes.worker("worker", prefork=1, **env)
    processes.beat("beat", REMINDER_SWEEP_INTERVAL_SECONDS="1")

    def in_flight():
        # Sends under way and claimed batches waiting in the broker or the worker's hands.
        return count(ids, "sent") and count(ids, "claimed") and count(ids, "pending", "claimed")

    def holding_batches(connections: int) -> bool:
        # Connected to this Redis (the first, or since the last loss), given a batch since,
        # and claimed rows about.
        log = processes.log("worker")
        if log.count(b"Connected to redis") < connections:
            return False
        return b"reminders.send[" in log.rsplit(b"Connected to redis", 1)[1] and in_flight()

    losses = []
    # Two restarts a moment apart while the worker holds the same unacknowledged batches (the
    # second as soon as it has reconnected), then a flush once it holds new ones.
    for loss, ready in (("restart", lambda: holding_batches(1)),
                        ("restart", lambda: processes.log("worker").count(b"Connected to redis") >= 2),
                        ("flush", lambda: holding_batches(3))):
        wait_for(ready, timeout=30, what=f"the worker to hold batches before {loss} {len(losses) + 1}",
                 interval=0.05)
        losses.append(time.monotonic())
        if loss == "restart":
            # Down until the worker has noticed (as a crash and a systemd restart would be),
            # then back empty: every queued batch is gone.
            noticed = processes.log("worker").count(b"Connection to broker lost")
            redis_server.kill()
            wait_for(lambda: processes.log("worker").count(b"Connection to broker lost")  # noqa: B023
                     > noticed, timeout=10, what="the worker to notice", interval=0.02)
            redis_server.start()
        else:
            redis_server.client().flushall()
    wait_for(lambda: count(ids, *FINAL) == len(ids), timeout=45, what="every reminder settled",
             interval=0.5)
    processes.kill_all()
    seconds = losses[-1] - losses[0]  # figures for the record, not asserted
    print(f"{len(ids)} reminders; losses over {seconds:.1f} s; worker pid {worker.pid}")

    assert worker.returncode == -9  # alive until kill_all: it never exited on its own
    assert b"Unrecoverable error" not in processes.log("worker")
    assert processes.log("worker").count(b"Connection to broker lost") >= 2
    rows, per_phone = assert_exactly_once(ids, sms_dir)
    assert {row.status for row in rows if row.pk in set(later)} == {"sent"}
    assert all(row.status in ("sent", "expired") for row in rows)
    for row in rows:
        if row.status == "sent":
            assert row.sent_at < row.send_before  # none after its visit began
    assert sum(per_phone.values()) == count(ids, "sent")


def test_it_loses_and_duplicates_nothing_when_the_workers_database_connection_drops(
        stack, tmp_path):
    processes, sms_dir = stack
    ids = due_reminders(200)
    name = "e2e-delivery-worker"
    database_url = processes.env["DATABASE_URL"] + f"?application_name={name}"
    processes.worker("worker", prefork=2, DATABASE_URL=database_url, SMS_FILE_LATENCY_MS="25",
                     REMINDER_RETRY_BASE_SECONDS="1")
    stop = tmp_path / "stop"
    processes.sweeper_loop("sweeper", stop, REMINDER_SEND_BATCH_SIZE="10",
                           REMINDER_CLAIM_TIMEOUT_SECONDS="3")

    def terminate_worker_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE application_name = %s", [name])
            return cursor.fetchone()[0]

    terminated = 0
    for round_ in range(1, 5):
        # Mid-delivery: some sent, more still to go.
        wait_for(lambda: round_ * 30 <= count(ids, "sent") < len(ids), timeout=30,
                 what=f"delivery under way before drop {round_}", interval=0.05)
        terminated += terminate_worker_connections()
    wait_for(lambda: count(ids, *FINAL) == len(ids), timeout=45, what="every reminder settled",
             interval=0.5)
    stop.touch()
    processes.kill_all()

    print(f"{len(ids)} reminders; {terminated} worker connections terminated in 4 drops; "
          f"{log_count(processes, b'raised OperationalError')} rows released, "
          f"{log_count(processes, b'after a database error')} sends recorded again")
    assert terminated >= 4
    rows, per_phone = assert_exactly_once(ids, sms_dir)
    assert {row.status for row in rows} == {"sent"}  # 0 lost, and so no outcome_unknown
    assert len(per_phone) == len(ids) and sum(per_phone.values()) == len(ids)
    log = processes.log("worker").decode()
    assert "raised" in log or "after a database error" in log  # the drops did hit delivery
