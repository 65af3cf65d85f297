"""Celery tasks of the reports app: thin wrappers that take ids and call the export services."""
from celery import shared_task

from .exports import report_export_run, report_exports_purge


@shared_task(name="reports.export", acks_late=True)
def export_report(export_id: int) -> None:
    """Write a background export's file (an id only; the filters are on the row). Idempotent."""
    report_export_run(export_id=export_id)


@shared_task(name="reports.purge_exports")
def purge_report_exports() -> int:
    """Delete export files whose download link has expired (beat runs it hourly; idempotent)."""
    return report_exports_purge()
