"""Celery tasks of the sessions app: thin wrappers that take ids and call a service."""
from celery import shared_task

from .services.schedule import schedule_extend_rolling


@shared_task(name="iop_sessions.extend_rolling_schedules")
def extend_rolling_schedules() -> int:
    """Keep every rolling track scheduled to the horizon (beat runs it; safe to run twice)."""
    return schedule_extend_rolling()


@shared_task(name="iop_sessions.raise_below_minimum_followups")
def raise_below_minimum_followups() -> int:
    """Raise follow-ups for last week's shortfalls in hours (beat runs it daily; idempotent)."""
    from .services.followups import followup_raise_below_minimum

    return followup_raise_below_minimum()



@shared_task(name="iop_sessions.expire_seat_offers", ignore_result=True)
def expire_seat_offers() -> int:
    """Pass unanswered seat offers on to the next person waiting (beat; idempotent)."""
    from .services.enrollment import enrollment_offers_expire

    return enrollment_offers_expire()
