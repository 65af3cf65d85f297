"""Celery tasks of the onboarding app: thin wrappers that take an upload's id and call a service."""
from celery import shared_task

from .services import census_upload_check, census_upload_import


@shared_task(name="onboarding.census_check", acks_late=True)
def census_check_task(upload_id: int) -> None:
    """The dry run of an uploaded census (an id only). Idempotent: a checked upload is left be."""
    census_upload_check(upload_id=upload_id)


@shared_task(name="onboarding.census_import", acks_late=True)
def census_import_task(upload_id: int) -> None:
    """Import a confirmed census (an id only). Idempotent: only an upload waiting to be
    imported is imported, under its row lock."""
    census_upload_import(upload_id=upload_id)
