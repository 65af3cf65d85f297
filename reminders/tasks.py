"""Celery tasks: ids in, a service call, counts out. Nothing here knows a rule."""
import logging
from collections import Counter

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError

from .delivery import reminders_deliver
from .planner import reminders_plan
from .sweeper import reminders_sweep

logger = logging.getLogger(__name__)


@shared_task(name="reminders.sweep", ignore_result=True,
             expires=settings.REMINDER_SWEEP_INTERVAL_SECONDS)
def reminders_sweep_task() -> None:
    reminders_sweep()


# acks_late + time limits far below the broker's visibility timeout: a message is only
# redelivered when its worker really died, and the compare-and-set makes that harmless.
@shared_task(name="reminders.send", ignore_result=True, acks_late=True,
             soft_time_limit=settings.REMINDER_SEND_SOFT_TIME_LIMIT,
             time_limit=settings.REMINDER_SEND_TIME_LIMIT)
def reminders_send(reminder_ids: list[int]) -> None:
    outcomes: Counter[str] = Counter()
    try:
        # Reads once for the whole batch, then a compare-and-set per row; one row's error
        # stays that row's (delivery puts it back to pending, or leaves it "sending" if the
        # channel was called) and the rest of the batch goes on.
        reminders_deliver(reminder_ids=reminder_ids, outcomes=outcomes)
    except SoftTimeLimitExceeded:
        # Rows not reached are still "claimed"; the sweeper returns them once the claim is stale.
        logger.warning("reminder batch stopped at the time limit after %s", sum(outcomes.values()))
    logger.info("reminder batch: %s", dict(outcomes))


# A transient database error (SQLite's "database is locked" while the web app writes, a
# PostgreSQL lock timeout or dropped connection) is retried with backoff: planning is
# idempotent, so running it again is always safe.
_RETRY_ON_DATABASE_ERROR = {
    "autoretry_for": (OperationalError,), "retry_backoff": 2, "retry_backoff_max": 60,
    "retry_jitter": True, "max_retries": 6,
}


@shared_task(name="reminders.plan", ignore_result=True, acks_late=True,
             **_RETRY_ON_DATABASE_ERROR)
def reminders_plan_task(participant_ids: list[int]) -> None:
    reminders_plan(participant_ids=participant_ids)


@shared_task(name="reminders.plan_all", ignore_result=True,
             expires=settings.REMINDER_PLAN_INTERVAL_SECONDS, **_RETRY_ON_DATABASE_ERROR)
def reminders_plan_all_task() -> None:
    reminders_plan()
