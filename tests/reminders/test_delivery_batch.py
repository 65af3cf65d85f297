"""A send task's batch is re-checked with a fixed number of reads; each row keeps its own
compare-and-set."""
import threading

import psycopg2
import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.core import mail
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from reminders.channels import sms
from reminders.delivery import reminders_deliver
from reminders.models import Reminder
from reminders.sweeper import reminders_sweep
from reminders.tasks import reminders_send

from .test_delivery_faults import DAY_BEFORE, plan

pytestmark = pytest.mark.django_db


def claimed_batch(site, size: int, *, other_site=None) -> list[int]:
    track = None
    for n in range(size):
        # Half the people at another site, so the batch spans sites and policies.
        where = other_site if other_site is not None and n % 2 else site
        _participant, enrollment = plan(where, channels="both",
                                        track=track if where is site else None)
        if where is site:
            track = enrollment.track
    with time_machine.travel(DAY_BEFORE, tick=False):
        reminders_sweep()
    return list(Reminder.objects.filter(status="claimed").values_list("pk", flat=True))


def kinds(captured) -> tuple[int, int]:
    """(reads, compare-and-sets): an UPDATE may carry the previous row's result in a WITH."""
    sql = [q["sql"].lstrip().upper() for q in captured.captured_queries]
    return (sum(s.startswith("SELECT") for s in sql),
            sum(s.count('UPDATE "REMINDERS_REMINDER"') for s in sql))


@pytest.mark.parametrize("size", [2, 12])
def test_it_rechecks_a_whole_batch_with_a_fixed_number_of_reads(site, other_site, size):
    ids = claimed_batch(site, size, other_site=other_site)
    assert len(ids) == 2 * size  # email and SMS, the day before

    with time_machine.travel(DAY_BEFORE, tick=False), \
            CaptureQueriesContext(connection) as captured:
        outcomes = reminders_deliver(reminder_ids=ids)

    assert outcomes == {"sent": 2 * size}
    reads, writes = kinds(captured)
    # The claimed rows, visit days (enrollments, expected sessions, personal sessions),
    # SMS consents, and the sites of visits elsewhere: the same for 4 rows or 24.
    assert reads <= 6
    # Each row: its own compare-and-set to "sending", then the record of the send.
    assert writes == 2 * len(ids)
    assert Reminder.objects.filter(pk__in=ids, status="sent").count() == len(ids)


def test_it_sends_each_row_of_a_batch_delivered_twice_once(site):
    ids = claimed_batch(site, 3)
    with time_machine.travel(DAY_BEFORE, tick=False):
        first = reminders_deliver(reminder_ids=ids)
        again = reminders_deliver(reminder_ids=ids)

    assert first == {"sent": 6}
    assert again == {"not_claimed": 6}
    assert len(sms.outbox) == 3


class Commits:
    """Counts commits on the default connection: an atomic block's, and each write made
    outside one (it commits on its own)."""

    def __init__(self):
        self.count = 0
        self.managed = 0  # commits of Django's own transactions (psycopg2 sent BEGIN alone)

    def __enter__(self):
        self._commit = connection.commit
        self._wrapper = connection.execute_wrapper(self._statement)
        self._wrapper.__enter__()
        connection.commit = self._counted_commit
        return self

    def __exit__(self, *exc):
        del connection.commit
        self._wrapper.__exit__(*exc)

    def _counted_commit(self):
        self.count += 1
        self.managed += 1
        self._commit()

    def _statement(self, execute, sql, params, many, context):
        # Delivery may also write "BEGIN; <statement>" then COMMIT itself: the COMMIT counts.
        verb = sql.lstrip().upper()
        if not connection.in_atomic_block and (verb.startswith(("UPDATE", "WITH"))
                                               or verb.rstrip("; ") == "COMMIT"):
            self.count += 1
        return execute(sql, params, many, context)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [2, 12])
def test_it_commits_once_a_reminder_whatever_the_batch_size(site, other_site, size):
    """A row's result is written with the next row's hand-off: one commit a reminder (and one
    for the batch's last result), not two."""
    ids = claimed_batch(site, size, other_site=other_site)

    with time_machine.travel(DAY_BEFORE, tick=False), Commits() as commits, \
            CaptureQueriesContext(connection) as captured:
        outcomes = reminders_deliver(reminder_ids=ids)

    assert outcomes == {"sent": len(ids)}
    reads, writes = kinds(captured)
    assert reads <= 6
    assert writes == 2 * len(ids)  # still a compare-and-set to "sending" and one from it
    statements = sum(1 for q in captured.captured_queries
                     if q["sql"].lstrip().upper().startswith(("UPDATE", "WITH", "BEGIN")))
    if connection.vendor == "postgresql":  # ... the second riding with the next row's first
        assert statements == len(ids) + 1
    assert commits.count == len(ids) + 1
    assert Reminder.objects.filter(pk__in=ids, status="sent").count() == len(ids)
    assert len(sms.outbox) == size
    if connection.vendor == "postgresql":
        # Round trips: each statement captured, plus the BEGIN psycopg2 sends alone and the
        # COMMIT of each transaction Django manages. One a reminder (a statement committing
        # on its own), and one for the batch's last result.
        round_trips = len(captured.captured_queries) + 2 * commits.managed
        assert round_trips == reads + len(ids) + 1


def test_it_records_a_message_sent_when_the_next_rows_hand_off_hits_a_database_error(site):
    """The result of a message that went out shares a transaction with the next row's
    hand-off; when that transaction fails, the result is written again on its own (never left
    `sending`, so never outcome_unknown), and the next row goes back to pending unsent."""
    ids = sorted(claimed_batch(site, 3))
    second = ids[1]
    failed = []

    def drop_second_hand_off(execute, sql, params, many, context):
        if not failed and "UPDATE" in sql and "sending" in params and second in params:
            failed.append(second)
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with time_machine.travel(DAY_BEFORE, tick=False), \
            connection.execute_wrapper(drop_second_hand_off):
        outcomes = reminders_deliver(reminder_ids=ids)

    assert failed == [second]
    assert outcomes == {"sent": 5, "error": 1}
    rows = {r.pk: r for r in Reminder.objects.filter(pk__in=ids)}
    assert (rows[ids[0]].status, rows[ids[0]].sent_at is not None) == ("sent", True)
    assert (rows[second].status, rows[second].attempts) == ("pending", 0)
    assert {rows[pk].status for pk in ids[2:]} == {"sent"}
    assert len(sms.outbox) + len(mail.outbox) == 5


def lock_not_available(execute, many, context):
    """Raise what PostgreSQL says when NOWAIT finds a row locked."""
    execute("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'lock_not_available'; END $$",
            None, many, context)


@pytest.mark.django_db(transaction=True)
def test_it_waits_for_a_row_someone_else_has_locked_and_then_sends_it(site):
    """A worker's compare-and-set never waits on a lock in a statement that commits on its
    own: when another transaction holds the row, it runs again in an explicit transaction
    that may wait (and would roll back if the worker died meanwhile)."""
    ids = sorted(claimed_batch(site, 3))
    second = ids[1]
    locker = psycopg2.connect(**connection.get_connection_params())
    with locker.cursor() as cursor:  # a transaction holding the second row
        cursor.execute("SELECT 1 FROM reminders_reminder WHERE id = %s FOR UPDATE", [second])
    release = threading.Timer(0.5, locker.commit)
    seen = []

    def watch(execute, sql, params, many, context):
        if params and list(params[-2:]) == [second, "claimed"]:  # its compare-and-set
            seen.append("NOWAIT" if "NOWAIT" in sql else sql.split(None, 1)[0])
            if seen == ["NOWAIT"]:
                release.start()
        return execute(sql, params, many, context)

    try:
        with time_machine.travel(DAY_BEFORE, tick=False), connection.execute_wrapper(watch):
            outcomes = reminders_deliver(reminder_ids=ids)
    finally:
        release.join()
        locker.close()

    assert seen == ["NOWAIT", "BEGIN;"]  # failed at once, then waited in a transaction
    assert outcomes == {"sent": 6}
    assert Reminder.objects.filter(pk__in=ids, status="sent").count() == 6
    assert len(sms.outbox) + len(mail.outbox) == 6


@pytest.mark.django_db(transaction=True)
def test_it_records_a_sent_message_when_the_next_hand_off_fails_in_its_transaction(site):
    """The same as a database error in the hand-off, in the explicit transaction a worker
    waits in: it is rolled back with the held result in it, the result is written again on
    its own, and the row goes back to pending unsent."""
    ids = sorted(claimed_batch(site, 3))
    second = ids[1]
    failed = []

    def fail_second_hand_off(execute, sql, params, many, context):
        if "UPDATE" in sql and "sending" in params and second in params:
            if "NOWAIT" in sql:
                lock_not_available(execute, many, context)  # someone holds the row
            if not failed:
                failed.append(second)
                execute(sql, params, many, context)  # the hand-off runs in its transaction,
                execute("SELECT 1/0", None, many, context)  # then an error before COMMIT
        return execute(sql, params, many, context)

    with time_machine.travel(DAY_BEFORE, tick=False), \
            connection.execute_wrapper(fail_second_hand_off):
        outcomes = reminders_deliver(reminder_ids=ids)

    assert failed == [second]
    assert outcomes == {"sent": 5, "error": 1}
    rows = {r.pk: r for r in Reminder.objects.filter(pk__in=ids)}
    assert (rows[ids[0]].status, rows[ids[0]].sent_at is not None) == ("sent", True)
    assert (rows[second].status, rows[second].attempts) == ("pending", 0)
    assert {rows[pk].status for pk in ids[2:]} == {"sent"}
    assert len(sms.outbox) + len(mail.outbox) == 5


def test_it_records_the_messages_sent_before_a_time_limit_stops_the_batch(site, settings):
    """A time limit in the middle of a batch: every message that went out is recorded as
    sent, the one being handed to the channel stays `sending` (outcome unknown, never sent
    again), and the rows not reached stay claimed for the sweeper to return."""
    settings.SMS_BACKEND = f"{__name__}.TimeLimitOnThirdBackend"
    TimeLimitOnThirdBackend.calls = 0
    ids = [pk for pk in sorted(claimed_batch(site, 5))
           if Reminder.objects.get(pk=pk).channel == "sms"]

    with time_machine.travel(DAY_BEFORE, tick=False):
        reminders_send.apply(args=[ids])

    statuses = dict(Reminder.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == ["sent", "sent", "sending", "claimed", "claimed"]
    assert len(sms.outbox) == 2


class TimeLimitOnThirdBackend:
    calls = 0

    def send(self, message):
        type(self).calls += 1
        if type(self).calls == 3:
            raise SoftTimeLimitExceeded()
        sms.outbox.append(message)
        return f"SM{len(sms.outbox)}"
