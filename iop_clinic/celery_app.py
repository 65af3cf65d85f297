"""The Celery application: worker and beat both start from here."""
import os
from pathlib import Path

from celery import Celery
from celery.signals import task_failure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iop_clinic.settings.local")

app = Celery("iop_clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_runtime_folders(sender, **kwargs) -> None:
    # kombu's filesystem transport (the no-server default) needs its folders to exist, and beat
    # needs the folder of its schedule file.
    options = sender.conf.broker_transport_options or {}
    folders = [options[key] for key in ("data_folder_in", "data_folder_out", "processed_folder",
                                       "control_folder")
               if options.get(key)]
    if sender.conf.beat_schedule_filename:
        folders.append(Path(sender.conf.beat_schedule_filename).parent)
    for folder in folders:
        Path(folder).mkdir(parents=True, exist_ok=True)


@app.task(name="iop_clinic.health_ping")
def health_ping() -> str:
    """Answers "pong": proof that a worker consumes from the broker.

    `celery -A iop_clinic call iop_clinic.health_ping`, then look for it in the worker's log.
    """
    return "pong"


@task_failure.connect
def _count_task_failure(sender=None, **kwargs) -> None:
    # Counted where every process can read it, for /metrics (iop_celery_task_failures).
    from .vitals import vitals_count_task_failure

    vitals_count_task_failure(task=getattr(sender, "name", None) or "unknown")
