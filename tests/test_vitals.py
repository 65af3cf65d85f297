"""The vitals store: what a worker records, a web process reads, with Redis or without it."""
import os
import subprocess
import sys

from django.conf import settings as django_settings

from iop_clinic.vitals import (vitals_count_task_failure, vitals_last_run, vitals_record_run,
                               vitals_task_failures)


def test_it_shares_a_run_between_processes_in_files_when_there_is_no_redis(tmp_path, settings):
    # The embedded default: local settings without REDIS_URL, as `make run` starts the worker.
    env = {key: value for key, value in os.environ.items()
           if key not in ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"DJANGO_SETTINGS_MODULE": "iop_clinic.settings.local", "VAR_DIR": str(tmp_path),
                "PYTHONPATH": str(django_settings.BASE_DIR)})
    subprocess.run([sys.executable, "-c", "import django; django.setup()\n"
                    "from iop_clinic.vitals import vitals_record_run\n"
                    "vitals_record_run(name='reminders.sweep', at=1234.5)"],
                   cwd=django_settings.BASE_DIR, env=env, check=True, timeout=60)
    settings.CACHES = {**settings.CACHES, "vitals": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path / "vitals")}}

    assert vitals_last_run(name="reminders.sweep") == 1234.5
    assert vitals_last_run(name="something.else") is None


def test_it_counts_task_failures_per_task():
    vitals_count_task_failure(task="reminders.plan")
    vitals_count_task_failure(task="reminders.plan")
    vitals_count_task_failure(task="reminders.send")

    assert vitals_task_failures(tasks=["reminders.plan", "reminders.send", "reports.export"]) == {
        "reminders.plan": 2, "reminders.send": 1, "reports.export": 0}


def test_it_never_stops_the_work_when_the_store_is_gone(settings, caplog):
    settings.CACHES = {**settings.CACHES, "vitals": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens on port 1

    vitals_record_run(name="reminders.sweep")
    vitals_count_task_failure(task="reminders.plan")

    assert "could not record a run" in caplog.text and "could not count" in caplog.text
