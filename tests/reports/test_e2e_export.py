"""A background export through a real Celery worker and a private Redis: the file is written,
the row shows ready, and the XLSX reads back."""
import io

import pytest
from django.db import connection
from openpyxl import load_workbook

from reports.exports import report_export_request
from reports.models import ReportExport
from tests.reminders.processes import running, service_env, wait_for
from tests.reminders.conftest import redis_server  # noqa: F401 - the private Redis fixture

from .world import build_report_world

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]


def test_it_writes_a_background_export_in_a_real_worker(tmp_path, redis_server):  # noqa: F811
    w = build_report_world()
    job = report_export_request(user=w.director, report="attendance", file_format="xlsx",
                                scope=w.scope())
    logs = tmp_path / "logs"
    logs.mkdir()
    exports_dir = tmp_path / "exports"
    env = service_env(database_name=connection.settings_dict["NAME"],
                      redis_url=redis_server.url, sms_dir=tmp_path / "sms",
                      REPORT_EXPORT_DIR=str(exports_dir))
    with running(env, logs) as processes:
        processes.worker("worker")
        # Only the id travels through the broker.
        processes.run(f"from reports.tasks import export_report; export_report.delay({job.pk})")
        wait_for(lambda: ReportExport.objects.get(pk=job.pk).status in ("ready", "failed"),
                 timeout=60, what="the export to finish")
        log = processes.logs()

    job.refresh_from_db()
    assert (job.status, job.progress) == ("ready", 100) and job.rows > 0
    assert job.expires_at is not None
    book = load_workbook(io.BytesIO((exports_dir / job.file_name).read_bytes()), read_only=True)
    rows = list(book["Attendance"].iter_rows(values_only=True))
    assert rows[1][:5] == ("All", "All sessions", 16.0, 12.5, 78.1)
    assert "Adams" not in log and w.avery.last_name not in log  # no names in the worker's log
