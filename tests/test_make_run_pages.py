"""`make run`'s database is SQLite: the demo clinic seeds there, and the pages each persona
opens first answer. Raw SQL written for PostgreSQL (tuple `IN %s` parameters, arrays, LATERAL,
casts, interval arithmetic) once made `seed_demo` and Today fail on a newcomer's first run."""
import json
import subprocess
import sys

import pytest

from tests.test_make_run import ROOT, newcomer_env

# Run in the newcomer's process (settings local, SQLite): sign each persona in as the tests do
# and print each page's status as JSON.
PAGES_SCRIPT = r"""
import json
import django
django.setup()
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from participants.models import Participant
from programs.models import Track
from sessions.models import TherapySession
from tests.auth import sign_in

settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
users = get_user_model().objects
session = TherapySession.objects.filter(local_date=timezone.localdate()).first()
person = Participant.objects.get(user__username="participant")
track = Track.objects.first()
pages = [
    ("clinician", "/"), ("frontdesk", "/"), ("director", "/"),
    ("clinician", "/calendar/"), ("clinician", f"/sessions/{session.pk}/roster/"),
    ("clinician", "/sessions/sign-in-sheets/"),
    ("clinician", f"/participants/{person.code}/"),
    ("clinician", f"/participants/{person.code}/review-packet/"),
    ("clinician", "/participants/"), ("clinician", "/participants/?at_risk=on"),
    ("clinician", "/follow-ups/"), ("director", "/authorizations/ending/"),
    ("director", "/programs/"), ("director", f"/programs/tracks/{track.pk}/"),
    ("director", "/reports/"), ("director", "/reports/census/"),
    ("director", "/reports/staff-load/"), ("director", "/reports/billing/"),
    ("director", "/reports/billing/export/csv/"), ("director", "/reports/outcomes/"),
    ("director", "/reports/access/"), ("director", "/reports/attendance/"),
    ("participant", "/portal/"), ("participant", "/portal/progress/"),
    ("participant", "/portal/reminders/"), ("participant", "/portal/calendar/"),
    ("participant", "/portal/my-record/"),
    ("admin", "/admin/"), ("admin", "/admin/participants/participant/"),
    ("admin", "/admin/participants/enrollment/"), ("admin", "/admin/iop_sessions/therapysession/"),
    ("admin", "/admin/iop_sessions/attendance/"), ("admin", "/admin/authorizations/authorization/"),
]
clients = {}
statuses = {}
for who, url in pages:
    if who not in clients:
        clients[who] = sign_in(Client(raise_request_exception=False), users.get(username=who))
    statuses[f"{who} {url}"] = clients[who].get(url).status_code
print(json.dumps(statuses))
"""


@pytest.mark.e2e
def test_demo_clinic_seeds_and_its_pages_answer_on_sqlite(tmp_path):
    env = newcomer_env(tmp_path)
    for command in (["migrate", "--noinput", "-v", "0"], ["seed_demo"]):
        done = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]

    done = subprocess.run([sys.executable, "-c", PAGES_SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    statuses = json.loads(done.stdout.strip().splitlines()[-1])
    assert statuses and {page: status for page, status in statuses.items() if status != 200} == {}
