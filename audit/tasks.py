"""Periodic retention work, started by Celery beat."""
from celery import shared_task

from .retention import reminder_bodies_purge


@shared_task(name="audit.purge_expired_message_bodies")
def purge_expired_message_bodies() -> int:
    """Empty message text past its retention period (idempotent: a second run finds none)."""
    return reminder_bodies_purge()
