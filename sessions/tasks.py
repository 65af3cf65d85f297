"""Celery tasks of the sessions app: thin wrappers that take ids and call a service."""
from celery import shared_task

from .services.schedule import schedule_extend_rolling


@shared_task(name="iop_sessions.extend_rolling_schedules")
def extend_rolling_schedules() -> int:
    """Keep every rolling track scheduled to the horizon (beat runs it; safe to run twice)."""
    return schedule_extend_rolling()
