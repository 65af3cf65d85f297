"""Celery tasks of the authorizations app: thin wrappers around the usage service."""
from celery import shared_task

from .services import authorization_usage_refresh


@shared_task(name="authorizations.refresh_usage")
def refresh_authorization_usage() -> int:
    """Derive again the usage of every active enrollment's authorizations (beat, every few
    minutes: it moves "today" forward and catches any write no signal announced)."""
    return authorization_usage_refresh()
