"""/healthz notices a stopped beat: a real worker and beat on a private Redis, beat killed, the
sweeper's heartbeat ages past the limit, and /healthz says "degraded" while the worker still
answers; beat started again, it says "ok"."""
import pytest
from celery import Celery

from iop_clinic.health import worker_ok

from .processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shared_vitals(settings, redis_server):
    """This process reads the vitals the worker writes: both use the private Redis."""
    settings.CACHES = {**settings.CACHES, "vitals": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_server.url,
        "KEY_PREFIX": "iop:vitals"}}
    return {"TEST_VITALS_REDIS_URL": redis_server.url}


def test_it_reports_degraded_once_beat_stops_and_ok_once_it_is_back(
        stack, redis_server, shared_vitals, client, settings, monkeypatch):
    processes, _sms_dir = stack
    # A sweep a second; three seconds without one is a stall (180 s in production). The web
    # process asks the worker at every check, so the worker's answer is always current.
    settings.HEALTHZ_SWEEPER_STALE_SECONDS = 3
    settings.HEALTHZ_WORKER_PING_CACHE_SECONDS = 0
    # The web side's Celery app on the private Redis: a fresh one, since the project's app
    # keeps a producer pool made for the first broker it used in this test run.
    monkeypatch.setattr("iop_clinic.health.celery_app",
                        Celery("iop_clinic", broker=redis_server.url, set_as_current=False))
    worker_ok.forget()
    processes.worker("worker", **shared_vitals)
    beat = processes.beat("beat", REMINDER_SWEEP_INTERVAL_SECONDS="1", **shared_vitals)

    def healthz_says(status: str):
        """The body once /healthz answers `status` (falsy until then)."""
        body = client.get("/healthz").json()
        return body if body["status"] == status else None

    body = wait_for(lambda: healthz_says("ok"), timeout=60, what="beat and the worker to sweep")
    assert body["sweeper"] == "ok" and body["sweeper_seconds_since_run"] < 3

    processes.kill(beat)
    body = wait_for(lambda: healthz_says("degraded"), timeout=30,
                    what="healthz to notice beat has stopped")
    assert body["sweeper"] == "stale" and body["sweeper_seconds_since_run"] >= 3
    assert body["worker"] == "ok"  # the worker is up: the sweeper's silence is beat's

    processes.beat("beat-again", REMINDER_SWEEP_INTERVAL_SECONDS="1", **shared_vitals)
    wait_for(lambda: healthz_says("ok"), timeout=60, what="healthz to see beat back")
    worker_ok.forget()
