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
from staff.access import site_ids_for
# A session of today at the clinician's sites (after midnight UTC, the first of "today" could
# be another site's, which the clinician may not open).
session = TherapySession.objects.filter(
    local_date=timezone.localdate(),
    site_id__in=site_ids_for(users.get(username="clinician"))).order_by("starts_at").first()
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
    ("director", f"/reports/attendance/?clinician={users.get(username='clinician').pk}"),
    ("director", f"/reports/attendance/?program={track.program_id}"),
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

# Then the writes a first visit makes, through the SQLite row triggers (tallies, week hours,
# billing days): from the roster, one visit changed to absent, one to late with its minutes,
# and the rest of the session marked present.
from sessions.models import Attendance
from django.db.models import Count
held = (TherapySession.objects
        .filter(site_id__in=site_ids_for(users.get(username="clinician")),
                starts_at__lte=timezone.now(), status="scheduled", attendances__status="present")
        .annotate(present=Count("attendances")).filter(present__gte=2)
        .order_by("-starts_at").first())
row = (Attendance.objects.filter(session=held, status="present")
       .select_related("participant").order_by("pk").first())
marker = clients["clinician"]
statuses["mark absent"] = marker.post(
    f"/sessions/{row.session_id}/roster/{row.pk}/", {"status": "absent", "note": ""}).status_code
late = Attendance.objects.filter(session_id=row.session_id, status="present").exclude(pk=row.pk).first()
statuses["mark late"] = marker.post(f"/sessions/{row.session_id}/roster/{late.pk}/",
                                    {"status": "late", "minutes": "30", "note": ""}).status_code
statuses["rest present"] = marker.post(
    f"/sessions/{row.session_id}/roster/rest-present/").status_code
row.refresh_from_db()
late.refresh_from_db()
statuses["after: status"] = [row.status, late.status, late.minutes_attended]
statuses["after: expected"] = Attendance.objects.filter(session_id=row.session_id,
                                                        status="expected").count()
for who, url in [("clinician", f"/sessions/{row.session_id}/roster/"),
                 ("clinician", f"/participants/{row.participant.code}/"), ("clinician", "/"),
                 ("clinician", "/follow-ups/"), ("director", "/reports/attendance/"),
                 ("director", "/reports/billing/")]:
    statuses[f"after: {who} {url}"] = clients[who].get(url).status_code
print(json.dumps(statuses))
"""


@pytest.mark.e2e
def test_demo_clinic_seeds_and_its_pages_answer_on_sqlite(tmp_path):
    """And marking a visit absent and the rest present from the roster works there."""
    env = newcomer_env(tmp_path)
    for command in (["migrate", "--noinput", "-v", "0"], ["seed_demo"]):
        done = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]

    done = subprocess.run([sys.executable, "-c", PAGES_SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    statuses = json.loads(done.stdout.strip().splitlines()[-1])
    assert [statuses.pop(f"{step}") for step in ("mark absent", "mark late", "rest present")] \
        == [302, 302, 302]
    assert statuses.pop("after: status") == ["absent", "late", 30]
    assert statuses.pop("after: expected") == 0
    assert statuses and {page: status for page, status in statuses.items() if status != 200} == {}
