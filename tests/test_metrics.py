"""/metrics: Prometheus text a scraper with the token can read and parse, refused to anyone
else, naming nobody; and, under the production server, counting the requests of every worker."""
import datetime as dt
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from iop_clinic.vitals import vitals_count_task_failure, vitals_record_run
from reminders.models import Reminder
from reminders.sweeper import SWEEP_VITALS_NAME
from tests import factories

TOKEN = "t" * 40


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from Prometheus text, via prometheus_client."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def get() -> dict:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        return samples(response.content.decode())

    return get


def make_reminder(participant, *, status: str, due_ago: dt.timedelta = dt.timedelta(minutes=1),
                  visit_ago: dt.timedelta = dt.timedelta(0)):
    now = timezone.now()
    return Reminder.objects.create(
        participant=participant, site=participant.home_site, visit_date=(now - visit_ago).date(),
        kind="same_day", channel="sms", status=status, due_at=now - due_ago,
        send_before=now + dt.timedelta(hours=3), sent_at=now if status == "sent" else None)


@pytest.mark.django_db
def test_it_does_not_exist_without_a_token_configured(client):
    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
                                           TOKEN])
def test_it_refuses_a_scrape_without_the_token(client, settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"iop_" not in response.content
    # Nor in the query string, where it would land in proxy logs.
    assert client.get(f"/metrics?token={TOKEN}").status_code == 401


@pytest.mark.django_db
def test_it_counts_reminders_by_status_and_shows_the_outbox_numbers(scrape):
    participant = factories.ParticipantFactory()
    make_reminder(participant, status="failed")
    make_reminder(factories.ParticipantFactory(), status="sent")
    make_reminder(factories.ParticipantFactory(), status="pending", due_ago=dt.timedelta(minutes=7))
    # About a visit a month ago: out of the gauge's 7 days (the table only grows).
    make_reminder(factories.ParticipantFactory(), status="sent", visit_ago=dt.timedelta(days=30))
    vitals_record_run(name=SWEEP_VITALS_NAME)

    found = scrape()

    assert found[("iop_reminders", (("status", "failed"),))] == 1
    assert found[("iop_reminders", (("status", "sent"),))] == 1
    assert found[("iop_reminders", (("status", "expired"),))] == 0
    assert found[("iop_reminders_failed_recent", ())] == 1
    assert 420 <= found[("iop_reminders_due_lag_seconds", ())] < 480
    assert found[("iop_reminder_sweeper_age_seconds", ())] < 60
    assert found[("iop_reminders_outbox_degraded", ())] == 1  # the due one waits over 5 minutes


@pytest.mark.django_db
def test_it_leaves_out_the_sweeper_age_until_a_sweep_is_on_record(scrape):
    found = scrape()

    assert ("iop_reminder_sweeper_age_seconds", ()) not in found
    assert found[("iop_reminders_outbox_degraded", ())] == 1


@pytest.mark.django_db
def test_it_counts_task_failures_from_the_workers_signal(scrape, eager_celery, monkeypatch):
    from iop_clinic.celery_app import app

    def broken(**kwargs):
        raise RuntimeError("planning broke")

    monkeypatch.setattr("reminders.tasks.reminders_plan", broken)
    app.conf.task_eager_propagates = False  # as in a worker: the error ends the task, no more
    before = scrape()[("iop_celery_task_failures_total", (("task", "reminders.plan"),))]
    assert app.tasks["reminders.plan"].delay([1]).failed()  # Celery's task_failure counts it
    vitals_count_task_failure(task="reminders.plan")  # as another worker would

    assert scrape()[("iop_celery_task_failures_total", (("task", "reminders.plan"),))] == before + 2


@pytest.mark.django_db
def test_it_counts_requests_by_method_and_status(scrape, client):
    key = ("iop_http_requests_total", (("method", "GET"), ("status", "404")))
    before = scrape().get(key, 0)
    for _ in range(3):
        client.get("/no-such-page")

    found = scrape()
    assert found[key] == before + 3
    assert found[("iop_http_request_duration_seconds_count", ())] >= 3


@pytest.mark.django_db
def test_it_names_no_one(client, settings):
    settings.METRICS_TOKEN = TOKEN
    participant = factories.ParticipantFactory(first_name="Quenby", last_name="Marchetti",
                                               email="quenby@mail.example.com",
                                               phone="+15555550177")
    make_reminder(participant, status="failed")
    client.get(f"/portal/?q={participant.first_name}")

    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()

    for personal in ("Quenby", "Marchetti", "quenby@", "5555550177", str(participant.code)):
        assert personal not in text


# --- Under the production server: several gunicorn workers, one answer -------------------------
@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_adds_up_every_gunicorn_workers_requests_when_scraped_over_http(tmp_path):
    from tests.reminders.processes import free_port, wait_for
    from tests.test_production_profile import answers, get, production_env

    metrics_dir = tmp_path / "metrics"  # as an operator may name it; emptied at start
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left from an earlier run")
    env = production_env(tmp_path / "static") | {"METRICS_TOKEN": TOKEN,
                                                 "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                   cwd=django_settings.BASE_DIR, env=env, check=True, timeout=120)
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "iop_clinic/gunicorn.conf.py",
             "--workers", "3", "--bind", f"127.0.0.1:{port}", "iop_clinic.wsgi"],
            cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        wait_for(lambda: answers(port) or server.poll() is not None, timeout=60,
                 what="gunicorn to listen")
        assert server.poll() is None, log_path.read_text()
        base = f"http://127.0.0.1:{port}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(f"{base}/metrics")
        assert refused.value.code == 401

        # Each request on a new connection: the three workers share them as they accept.
        for _ in range(30):
            assert get(f"{base}/accounts/login/").status == 200
        text = get(f"{base}/metrics", Authorization=f"Bearer {TOKEN}").read().decode()
        counting = {path.stem.split("_")[-1] for path in metrics_dir.glob("counter_*.db")}
    finally:
        server.terminate()
        server.wait(timeout=30)

    # The pages were shared out (three workers took them in one run of this test, each with a
    # file of its own), and the earlier run's file was gone before the first worker started.
    assert len(counting) >= 2 and "1" not in counting, counting
    found = samples(text)
    # Whichever worker answered the scrape, it counted the 30 pages of all three, and the
    # refused scrape (the scrape itself is counted once answered).
    assert found[("iop_http_requests_total", (("method", "GET"), ("status", "200")))] == 30
    assert found[("iop_http_requests_total", (("method", "GET"), ("status", "401")))] == 1
    assert ("iop_reminders", (("status", "pending"),)) in found
    log = log_path.read_text()
    assert log.count("Booting worker") >= 3


def test_a_token_too_short_to_be_random_stops_the_start(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=django_settings.BASE_DIR, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "iop_clinic.settings.local",
             "METRICS_TOKEN": "short", "VAR_DIR": str(tmp_path), "PYTHONPATH": str(django_settings.BASE_DIR)})

    assert result.returncode != 0 and "METRICS_TOKEN must be at least 32" in result.stderr
