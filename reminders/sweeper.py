"""The sweeper: Celery beat runs it every minute; any number may run at once.

Each batch is claimed in its own short transaction with SELECT ... FOR UPDATE SKIP LOCKED, so
two sweepers take disjoint rows instead of waiting for each other, and the send task for a batch
is enqueued only after the claim has committed (a worker never sees an id whose claim could
still roll back).
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from iop_clinic.celery_app import app as celery_app
from iop_clinic.vitals import vitals_record_run
from reminders.models import Reminder, ReminderReason, ReminderStatus

logger = logging.getLogger(__name__)

# The send task, found by name in Celery's registry: tasks.py imports this module to run the
# sweep, so importing the task from there would make the two modules import each other.
SEND_TASK = "reminders.send"
# The name the sweeper's runs are recorded under (iop_clinic/vitals.py; reminders/health.py).
SWEEP_VITALS_NAME = "reminders.sweep"


@dataclass
class SweepResult:
    expired: int = 0
    released: int = 0
    abandoned: int = 0
    claimed: int = 0
    batches: int = 0


def reminders_sweep(*, now: datetime | None = None, batch_size: int | None = None,
                    max_batches: int | None = None) -> SweepResult:
    """Expire rows past their deadline, return stale claims, then claim due rows in batches and
    enqueue one send task per batch."""
    now = now or timezone.now()
    batch_size = batch_size or settings.REMINDER_SEND_BATCH_SIZE
    max_batches = max_batches or settings.REMINDER_SWEEP_MAX_BATCHES
    stale_before = now - timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS)
    result = SweepResult()
    result.expired = Reminder.objects.filter(
        status__in=[ReminderStatus.PENDING, ReminderStatus.CLAIMED], send_before__lte=now,
    ).update(status=ReminderStatus.EXPIRED, reason=ReminderReason.PAST_DEADLINE, updated_at=now)
    # A claim nobody acted on within the timeout: its worker died or its message was lost.
    result.released = Reminder.objects.filter(
        status=ReminderStatus.CLAIMED, claimed_at__lt=stale_before,
    ).update(status=ReminderStatus.PENDING, claimed_at=None, updated_at=now)
    # Died mid-send: the provider may have the message, so never send it again.
    result.abandoned = Reminder.objects.filter(
        status=ReminderStatus.SENDING, claimed_at__lt=stale_before,
    ).update(status=ReminderStatus.FAILED, reason=ReminderReason.OUTCOME_UNKNOWN, updated_at=now)
    while result.batches < max_batches:
        claimed = _claim_batch(now=now, batch_size=batch_size)
        if not claimed:
            break
        result.claimed += claimed
        result.batches += 1
        if claimed < batch_size:
            break
    if result.claimed or result.expired or result.released or result.abandoned:
        logger.info("reminders swept: claimed=%s batches=%s expired=%s released=%s abandoned=%s",
                    result.claimed, result.batches, result.expired, result.released,
                    result.abandoned)
    # After the work, so a sweep that keeps failing stops the heartbeat (/healthz "stale").
    vitals_record_run(name=SWEEP_VITALS_NAME)
    return result


def _claim_batch(*, now: datetime, batch_size: int) -> int:

    with transaction.atomic():
        reminder_ids = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(status=ReminderStatus.PENDING, due_at__lte=now, send_before__gt=now)
            .order_by("due_at").values_list("pk", flat=True)[:batch_size]
        )
        if not reminder_ids:
            return 0
        Reminder.objects.filter(pk__in=reminder_ids, status=ReminderStatus.PENDING).update(
            status=ReminderStatus.CLAIMED, claimed_at=now, updated_at=now)
        transaction.on_commit(lambda: celery_app.tasks[SEND_TASK].delay(reminder_ids))
    return len(reminder_ids)
