"""Issue 13, item 12: SQLite set up for a web server and a worker side by side; planning retries
a transient database error instead of dropping the plan."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError

from reminders import tasks
from reminders.models import Reminder
from tests import factories

ROOT = Path(__file__).resolve().parent.parent.parent


def test_it_opens_sqlite_in_wal_mode_with_a_busy_timeout_and_immediate_transactions(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "iop_clinic.settings.local"}
    script = ("from django.db import connection\n"
              "c = connection.cursor()\n"
              "print(c.execute('PRAGMA journal_mode').fetchone()[0],"
              " c.execute('PRAGMA busy_timeout').fetchone()[0],"
              " connection.transaction_mode)\n")
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["wal", "20000", "IMMEDIATE"]


@pytest.mark.django_db
def test_it_retries_planning_after_a_locked_database(monkeypatch, site):
    participant = factories.ParticipantFactory(home_site=site)
    calls = []
    real_plan = tasks.reminders_plan

    def locked_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:  # what SQLite says while the web app holds the write lock
            raise OperationalError("database is locked")
        return real_plan(**kwargs)

    monkeypatch.setattr(tasks, "reminders_plan", locked_once)
    result = tasks.reminders_plan_task.apply(args=[[participant.pk]])

    assert result.successful(), result.traceback
    assert calls == [{"participant_ids": [participant.pk]}] * 2
    assert not Reminder.objects.filter(participant=participant, status="failed").exists()
