"""End to end with real processes: PostgreSQL, a private Redis, Celery workers, beat, sweepers.

Each test starts its own redis-server (no persistence) so it can crash it freely and so no stale
message from another test reaches its workers. Messages are counted as files written by the SMS
FileBackend, one per message, from every worker process.
"""
import json

import pytest
from django.db import connection

from reminders.models import Reminder

from .processes import due_reminders, sms_files, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]

SWEEP_ONCE = "from reminders.sweeper import reminders_sweep; reminders_sweep()"


def sent_count() -> int:
    return Reminder.objects.filter(status="sent").count()


def assert_each_sent_once(ids, sms_dir):
    messages = [json.loads(path.read_text()) for path in sms_files(sms_dir)]
    recipients = [message["to"] for message in messages]
    assert len(recipients) == len(ids) == len(set(recipients))
    assert set(Reminder.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"sent"}


def test_it_sends_a_thousand_reminders_exactly_once_with_two_workers_and_two_sweepers(
        stack, tmp_path):
    processes, sms_dir = stack
    ids = due_reminders(1000, first_name="Quincey")
    processes.worker("worker1")
    processes.worker("worker2")
    stop = tmp_path / "stop"
    processes.sweeper_loop("sweeper1", stop, REMINDER_SEND_BATCH_SIZE="20")
    processes.sweeper_loop("sweeper2", stop, REMINDER_SEND_BATCH_SIZE="20")
    wait_for(lambda: sent_count() == 1000, timeout=150, what="1000 reminders sent", interval=0.5)
    stop.touch()
    processes.kill_all()
    assert_each_sent_once(ids, sms_dir)
    logs = processes.logs()
    assert "reminder batch" in logs and logs.count("succeeded") >= 1000 // 20
    assert b"sent" in processes.log("worker1") and b"sent" in processes.log("worker2")
    # No names, phone numbers or addresses in any process's log (task args are ids only).
    assert "Quincey" not in logs and "Lastname" not in logs
    assert "+1555" not in logs and "mail.example.com" not in logs


def test_it_sends_each_reminder_once_after_a_worker_is_killed_between_claim_and_send(
        stack, redis_server, tmp_path):
    """Recovery comes from the database, not the broker: the killed worker's message stays
    unacknowledged in Redis (acks_late) and would only come back after the visibility timeout,
    an hour; the sweeper returns the stale claims to pending and claims them again. Should the
    old message still be redelivered later, the compare-and-set finds the rows sent."""
    processes, sms_dir = stack
    ids = due_reminders(20)
    processes.run(SWEEP_ONCE)
    assert Reminder.objects.filter(pk__in=ids, status="claimed").count() == 20
    import psycopg2

    db = connection.settings_dict
    lock = psycopg2.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None,
                            host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)
    try:
        # Hold the rows so the worker blocks inside its compare-and-set: claimed, not yet sent.
        with lock.cursor() as cursor:
            cursor.execute("SELECT id FROM reminders_reminder WHERE id = ANY(%s) FOR UPDATE",
                           [ids])

        def blocked_backends():
            # Polled from the test's own autocommit connection: inside the lock's transaction
            # pg_stat_activity would stay frozen at its first snapshot.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                               "AND datname = current_database()")
                return [row[0] for row in cursor.fetchall()]

        doomed = processes.worker("doomed")
        waiting = wait_for(blocked_backends, timeout=30, what="the worker to reach the rows")
        processes.kill(doomed)  # SIGKILL to the whole worker
        with lock.cursor() as cursor:
            # The dead client's session would end at its next read; end it now, as the OS would.
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid",
                           [waiting])
        lock.rollback()
    finally:
        lock.close()
    assert sms_files(sms_dir) == []
    assert Reminder.objects.filter(pk__in=ids, status="claimed").count() == 20
    assert redis_server.client().hlen("unacked") == 1  # acks_late: the message was not acked

    stop = tmp_path / "stop"
    processes.worker("rescuer")
    processes.sweeper_loop("sweeper", stop, REMINDER_CLAIM_TIMEOUT_SECONDS="2")
    wait_for(lambda: sent_count() == 20, timeout=60, what="the claimed reminders to go out")
    stop.touch()
    processes.kill_all()
    assert_each_sent_once(ids, sms_dir)


def test_it_sends_each_reminder_once_when_redis_restarts_empty(stack, redis_server):
    processes, sms_dir = stack
    ids = due_reminders(20)
    processes.run(SWEEP_ONCE)
    assert redis_server.client().llen("celery") == 1  # one batch task waiting in the broker
    redis_server.restart()  # crash; no persistence, so the queued task is gone
    assert redis_server.client().llen("celery") == 0
    assert Reminder.objects.filter(pk__in=ids, status="claimed").count() == 20
    # Beat only enqueues the sweep; the worker runs it, so the worker gets the short timeout.
    processes.worker("worker", REMINDER_CLAIM_TIMEOUT_SECONDS="3")
    processes.beat("beat", REMINDER_SWEEP_INTERVAL_SECONDS="1")
    wait_for(lambda: sent_count() == 20, timeout=60, what="beat and the worker to recover")
    processes.kill_all()
    assert_each_sent_once(ids, sms_dir)
    assert b"reminders.sweep" in processes.log("beat")


def test_it_sends_each_reminder_at_most_once_when_a_worker_is_killed_between_two_rows(
        stack, redis_server, tmp_path):
    """A row's result is written in one transaction with the next row's hand-off. Kill the
    worker while that transaction waits: the message that went out stays `sending` and ends as
    outcome_unknown (never sent again), the next row was never handed off, and every other
    reminder goes out exactly once."""
    processes, sms_dir = stack
    ids = sorted(due_reminders(20))
    processes.run(SWEEP_ONCE)
    assert Reminder.objects.filter(pk__in=ids, status="claimed").count() == 20
    import psycopg2

    db = connection.settings_dict
    lock = psycopg2.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None,
                            host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)
    try:
        # The batch goes in id order: the first row is sent, then its result and the second
        # row's hand-off wait together on this lock.
        with lock.cursor() as cursor:
            cursor.execute("SELECT id FROM reminders_reminder WHERE id = %s FOR UPDATE",
                           [ids[1]])

        def blocked_backends():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                               "AND datname = current_database()")
                return [row[0] for row in cursor.fetchall()]

        doomed = processes.worker("doomed")
        waiting = wait_for(blocked_backends, timeout=30, what="the worker to reach row two")
        assert len(sms_files(sms_dir)) == 1  # the first row's message is out
        processes.kill(doomed)
        with lock.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid",
                           [waiting])
        lock.rollback()
    finally:
        lock.close()
    # Rolled back together: the first row's "sent" and the second row's "sending".
    statuses = dict(Reminder.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses[ids[0]] == "sending"
    assert {statuses[pk] for pk in ids[1:]} == {"claimed"}

    stop = tmp_path / "stop"
    processes.worker("rescuer")
    processes.sweeper_loop("sweeper", stop, REMINDER_CLAIM_TIMEOUT_SECONDS="2")
    wait_for(lambda: sent_count() == 19 and Reminder.objects.filter(
        pk=ids[0], status="failed").exists(), timeout=60, what="the rest to go out")
    stop.touch()
    processes.kill_all()
    unknown = Reminder.objects.get(pk=ids[0])
    assert (unknown.status, unknown.reason) == ("failed", "outcome_unknown")
    messages = [json.loads(path.read_text()) for path in sms_files(sms_dir)]
    recipients = [message["to"] for message in messages]
    assert len(recipients) == len(set(recipients)) == 20  # each person once, the first too
