"""The restore drill on real PostgreSQL: `scripts/backup.py` dumps a seeded clinic, an hour of
reminders goes out, the database is lost, `scripts/restore.py` brings the dump back into a new
database, and the app runs on it: `manage.py check`, a signed-in page served by gunicorn, every
table's rows and sequences equal to the dump's, and the reminder outbox resumes after
`manage.py restore_fence` without sending anything a second time.

Messages are counted where they land: the SMS FileBackend's files and Django's file-based
email backend, one folder per side of the restore."""
import datetime as dt
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
import requests
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from psycopg2 import sql

from iop_clinic.celery_app import app as celery_app
from participants.models import Participant
from reminders.channels.sms import file_outbox
from reminders.delivery import reminders_deliver
from reminders.models import Reminder, ReminderPolicy
from reminders.planner import reminders_plan
from reminders.sweeper import reminders_sweep

from tests.reminders.processes import expected_group, free_port, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def database_url(name: str) -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def connect(name: str):
    db = connection.settings_dict
    return psycopg2.connect(dbname=name, user=db["USER"], password=db["PASSWORD"] or None,
                            host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)


def fingerprints(name: str) -> dict:
    """Every table's row count and a digest of all its rows, and every sequence's position."""
    result = {}
    with connect(name) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                       "'public' AND table_type = 'BASE TABLE' ORDER BY 1")
        for (table,) in cursor.fetchall():
            cursor.execute(sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                " FROM {} t").format(sql.Identifier(table)))
            result[table] = cursor.fetchone()
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences "
                       "WHERE schemaname = 'public' ORDER BY 1")
        result["(sequences)"] = cursor.fetchall()
    conn.close()
    return result


def outbox(folder: Path) -> list[tuple[str, str, str]]:
    """(channel, recipient, text) of every message written under `folder`."""
    texts = [("sms", m["to"], m["body"]) for m in file_outbox(folder / "sms")]
    emails = []
    for path in sorted((folder / "mail").glob("*.log")) if (folder / "mail").is_dir() else []:
        for message in path.read_text().split("-" * 79):
            to = re.search(r"^To: (.+)$", message, re.MULTILINE)
            if to:
                emails.append(("email", to.group(1).strip(), message.split("\n\n", 1)[-1]))
    return texts + emails


def env_for(name: str, folder: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update({"DJANGO_SETTINGS_MODULE": "iop_clinic.settings.test",
                "DATABASE_URL": database_url(name),
                "TEST_SMS_BACKEND": "reminders.channels.sms.FileBackend",
                "SMS_FILE_PATH": str(folder / "sms"), "PYTHONPATH": str(ROOT)})
    return env


# Run in the restored app's own process: sweeps with the send task run in place, at the real
# time and then when the later group's texts fall due, email written to files.
SWEEPS = """
import sys, datetime as dt
import django
django.setup()
import time_machine
from celery import current_app
from django.conf import settings
from reminders.sweeper import reminders_sweep
settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
settings.EMAIL_FILE_PATH = sys.argv[1]
current_app.conf.task_always_eager = current_app.conf.task_eager_propagates = True
reminders_sweep()
for moment in sys.argv[2:]:
    with time_machine.travel(dt.datetime.fromisoformat(moment), tick=False):
        reminders_sweep()
"""


@pytest.fixture
def restored_name():
    name = f"iop_drill_{uuid.uuid4().hex[:8]}"
    yield name
    conn = connect("postgres")
    conn.autocommit = True  # DROP DATABASE refuses to run inside a transaction
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
    conn.close()


@pytest.fixture
def gunicorn_on(tmp_path):
    started = []

    def start(env: dict) -> str:
        port = free_port()
        log = open(tmp_path / "gunicorn.log", "wb")
        process = subprocess.Popen(
            [GUNICORN, "-c", "iop_clinic/gunicorn.conf.py", "--workers", "1",
             "--bind", f"127.0.0.1:{port}", "iop_clinic.wsgi"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        started.append(process)

        def listening():
            try:
                return requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=2).ok
            except (requests.ConnectionError, requests.Timeout):
                # Not listening yet, or its first request (Django loading) slower than the
                # probe's 2 s on a loaded machine: ask again, until the 60 s are up.
                return process.poll() is not None
        wait_for(listening, timeout=60, what="gunicorn on the restored database")
        assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def test_it_restores_a_dump_and_the_outbox_resumes_without_sending_anything_twice(
        tmp_path, settings, eager_celery, monkeypatch, restored_name, gunicorn_on):
    before, after = tmp_path / "before", tmp_path / "after"
    settings.SMS_BACKEND = "reminders.channels.sms.FileBackend"
    settings.SMS_FILE_PATH = before / "sms"
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = before / "mail"
    restore_at = timezone.now()
    dump_at = restore_at - dt.timedelta(hours=1)

    # --- The clinic an hour ago: the demo, and three groups with same-day texts (2 h ahead).
    with time_machine.travel(dump_at, tick=True):
        call_command("seed_demo", "--force", stdout=open(os.devnull, "w"))
        groups = {}
        for name, starts_in in [("due_before_dump", dt.timedelta(hours=1, minutes=50)),
                                ("due_in_lost_hour", dt.timedelta(hours=2, minutes=20)),
                                ("due_after_restore", dt.timedelta(hours=5))]:
            session, people = expected_group(4, first_name=name[:6].title(), starts_in=starts_in)
            ReminderPolicy.objects.update_or_create(site=session.site,
                                                    defaults={"same_day_by_email": True})
            Participant.objects.filter(pk__in=[p.pk for p in people]).update(
                reminder_channels="both")
            groups[name] = people
        reminders_plan()
        # Just before the dump the sweeper claimed what was due; half the send task ran.
        queued: list[list[int]] = []
        with monkeypatch.context() as patch:
            patch.setattr(celery_app.tasks["reminders.send"], "delay", queued.append)
            reminders_sweep()
        in_flight = [pk for batch in queued for pk in batch]
        assert len(in_flight) >= 8
        reminders_deliver(reminder_ids=in_flight[::2])
        backup = subprocess.run(
            [PYTHON, "scripts/backup.py", "--dir", str(tmp_path / "backups")], cwd=ROOT,
            env=env_for(connection.settings_dict["NAME"], before), check=True,
            capture_output=True, text=True, timeout=60)
        folder = Path(re.search(r"Backup written to (\S+) ", backup.stdout).group(1))
        at_dump = fingerprints(connection.settings_dict["NAME"])
        dumped = timezone.now()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "DJANGO_SECRET_KEY" in manifest["secrets_needed"]
    assert oct((folder / "database.dump").stat().st_mode & 0o777) == "0o600"

    # --- The hour after the dump: the rest of the claimed batch and what fell due go out.
    reminders_deliver(reminder_ids=in_flight[1::2])
    reminders_sweep()
    sent_before = outbox(before)
    sent_ids = set(Reminder.objects.filter(status="sent", sent_at__gt=dumped).values_list(
        "pk", flat=True))
    for name in ("due_before_dump", "due_in_lost_hour"):
        for person in groups[name]:
            assert ("sms", person.phone) in {(c, to) for c, to, _ in sent_before}, name

    # --- The database is lost: restore the dump into a new database, fence not yet.
    env = env_for(restored_name, after)
    subprocess.run([PYTHON, "scripts/restore.py", str(folder), "--database", restored_name,
                    "--no-fence"], cwd=ROOT, env=env, check=True, capture_output=True,
                   timeout=120)
    assert fingerprints(restored_name) == at_dump
    with connect(restored_name) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reminders_reminder WHERE id = ANY(%s) "
                       "AND status IN ('pending', 'claimed')", [list(sent_ids)])
        # Without a fence, these went out in the lost hour and would go out again.
        assert cursor.fetchone()[0] == len(sent_ids) > 8
    conn.close()

    # --- The app starts on it.
    subprocess.run([PYTHON, "manage.py", "check", "--database", "default"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=60)
    base = gunicorn_on(env)
    chart = Participant.objects.filter(home_site__name__startswith="Riverside").first()
    browser = requests.Session()
    browser.get(f"{base}/accounts/login/", timeout=10)
    signed_in = browser.post(f"{base}/accounts/login/", timeout=10, data={
        "username": "clinician", "password": "demo-clinic-2026",
        "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        headers={"Referer": f"{base}/accounts/login/"})
    assert signed_in.ok and "/accounts/login/" not in signed_in.url
    page = browser.get(f"{base}/participants/{chart.code}/", timeout=10)
    assert page.status_code == 200 and chart.last_name in page.text

    # --- Fence, then the workers' sweeps: at once, and when the later texts fall due.
    fence = subprocess.run([PYTHON, "manage.py", "restore_fence"], cwd=ROOT, env=env,
                           check=True, capture_output=True, text=True, timeout=60)
    assert "held for review" in fence.stdout
    later = restore_at + dt.timedelta(hours=3, minutes=1)
    subprocess.run([PYTHON, "-c", SWEEPS, str(after / "mail"), later.isoformat()], cwd=ROOT,
                   env=env, check=True, capture_output=True, timeout=60)
    sent_after = outbox(after)

    assert not set(sent_before) & set(sent_after), "a message went out twice"
    recipients_after = {(channel, to) for channel, to, _ in sent_after}
    for name in ("due_before_dump", "due_in_lost_hour"):
        for person in groups[name]:
            assert ("sms", person.phone) not in recipients_after, name
            assert ("email", person.email) not in recipients_after, name
    resumed = [(channel, to) for channel, to, _ in sent_after
               if to in {p.phone for p in groups["due_after_restore"]}
               | {p.email for p in groups["due_after_restore"]}]
    assert sorted(resumed) == sorted([("sms", p.phone) for p in groups["due_after_restore"]]
                                     + [("email", p.email) for p in groups["due_after_restore"]])
    with connect(restored_name) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT DISTINCT status, reason FROM reminders_reminder "
                       "WHERE id = ANY(%s)", [list(sent_ids)])
        assert set(cursor.fetchall()) <= {("failed", "restored"), ("sent", "")}
    conn.close()
