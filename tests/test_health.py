import pytest
from django.db import connection

from iop_clinic.celery_app import app
from iop_clinic.health import HealthSignal, health_check_register, worker_ok
from iop_clinic.vitals import vitals_record_run
from reminders.sweeper import SWEEP_VITALS_NAME

SERVICES = ("status", "database", "broker", "worker")


def services(body: dict) -> dict:
    """The services' part of the body (the reminder checks have tests of their own)."""
    return {key: body[key] for key in SERVICES}


@pytest.fixture(autouse=True)
def _fresh_worker_ping():
    worker_ok.forget()
    yield
    worker_ok.forget()


@pytest.fixture
def broker_url():
    """Point the Celery app at a broker for one test, then back."""
    keys = ("broker_url", "broker_read_url", "broker_write_url")
    old = {key: app.conf[key] for key in keys}

    def point(url: str) -> None:
        app.conf.update({key: url for key in keys})  # celery 5.6 resolves the read/write URLs

    yield point
    app.conf.update(old)


@pytest.mark.django_db
def test_it_reports_degraded_while_no_worker_answers(client, settings):
    settings.HEALTHZ_WORKER_PING_TIMEOUT = 0.3

    # The pages still work, so a load balancer keeps this process; monitoring reads the body.
    vitals_record_run(name=SWEEP_VITALS_NAME)  # the sweeper is fine: only the worker is not
    response = client.get("/healthz")

    assert response.status_code == 200
    assert services(response.json()) == {"status": "degraded", "database": "ok", "broker": "ok",
                                         "worker": "down"}


@pytest.mark.django_db
def test_it_answers_503_when_the_broker_is_down(client, broker_url):
    broker_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    response = client.get("/healthz")

    # No outbox numbers either: the sweeper's heartbeat lives with the broker.
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "down",
                               "worker": "down"}


@pytest.mark.e2e
@pytest.mark.redis
@pytest.mark.django_db
def test_it_reports_ok_while_a_worker_answers_and_remembers_it_briefly(client, settings, tmp_path):
    from tests.reminders.processes import CELERY, running, service_env, wait_for

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs REDIS_URL: a worker must share the web's broker")
    (tmp_path / "logs").mkdir()
    env = service_env(database_name=connection.settings_dict["NAME"],
                      redis_url=settings.CELERY_BROKER_URL, sms_dir=tmp_path / "sms")
    with running(env, tmp_path / "logs") as processes:
        # Its own queue, so it runs no task another test left in this Redis; pings still reach it.
        worker = processes.start("worker", [CELERY, "-A", "iop_clinic", "worker", "--pool=solo",
                                            "--loglevel=INFO", "-Q", f"healthz-{tmp_path.name}", "-n", "healthz@%h",
                                            "--without-gossip", "--without-mingle"])
        wait_for(lambda: b"ready." in processes.log("worker"), timeout=60, what="the worker")
        settings.HEALTHZ_WORKER_PING_CACHE_SECONDS = 300
        vitals_record_run(name=SWEEP_VITALS_NAME)
        response = client.get("/healthz")
        assert response.status_code == 200
        assert services(response.json()) == {"status": "ok", "database": "ok", "broker": "ok",
                                             "worker": "ok"}
        processes.kill(worker)

        # Within the cache time the last answer stands: one ping per process per interval.
        assert client.get("/healthz").json()["worker"] == "ok"
        settings.HEALTHZ_WORKER_PING_CACHE_SECONDS = 0
        settings.HEALTHZ_WORKER_PING_TIMEOUT = 0.3
        wait_for(lambda: client.get("/healthz").json()["status"] == "degraded", timeout=10,
                 what="healthz to notice the worker is gone")


@pytest.mark.redis
@pytest.mark.django_db
def test_it_keeps_one_broker_connection_across_checks(client):
    import redis
    from django.conf import settings

    server = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.get("/healthz")
    before = server.info("stats")["total_connections_received"]

    for _ in range(5):
        assert client.get("/healthz").json()["broker"] == "ok"

    assert server.info("stats")["total_connections_received"] - before == 0


@pytest.mark.redis
@pytest.mark.django_db
def test_it_notices_a_broker_that_went_away_after_a_check(client, tmp_path, broker_url):
    from tests.reminders.processes import PrivateRedis

    broker = PrivateRedis(tmp_path)
    broker.start()
    broker_url(broker.url)
    try:
        assert client.get("/healthz").json()["broker"] == "ok"
        broker.kill()
        gone = client.get("/healthz")
        broker.restart()
        back = client.get("/healthz")
    finally:
        broker.kill()

    assert gone.status_code == 503 and gone.json()["broker"] == "down"
    assert back.status_code == 200 and back.json()["broker"] == "ok"


@pytest.mark.django_db
def test_it_calls_a_check_that_cannot_look_unknown_and_degraded(client, monkeypatch):
    from iop_clinic import health

    monkeypatch.setattr(health, "worker_ok", lambda: True)
    monkeypatch.setattr(health, "_checks", {})
    health_check_register("fine", lambda: [HealthSignal("fine", "ok", {"fine_number": 3})])
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["fine"] == "ok" and body["fine_number"] == 3

    def broken():
        raise RuntimeError("cannot read")

    health_check_register("broken", broken)
    body = client.get("/healthz").json()

    assert body["status"] == "degraded" and body["broken"] == "unknown"
