"""A send task's batch is re-checked with a fixed number of reads; each row keeps its own
compare-and-set."""
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reminders.channels import sms
from reminders.delivery import reminders_deliver
from reminders.models import Reminder
from reminders.sweeper import reminders_sweep

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
    sql = [q["sql"].lstrip().upper() for q in captured.captured_queries]
    return (sum(s.startswith("SELECT") for s in sql), sum(s.startswith("UPDATE") for s in sql))


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
