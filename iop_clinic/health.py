"""GET /healthz: is the database answering, the broker, at least one worker, and do the checks
the apps registered (the reminder outbox's) find their numbers within limits?"""
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery_app import app as celery_app

logger = logging.getLogger(__name__)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any failure to talk to the database is "down"
        logger.warning("healthz: database check failed", exc_info=True)
        return False


# One broker connection per thread, kept between checks: a load balancer asks every few
# seconds, and connecting each time cost more than the rest of the check. Each check still
# talks to the broker (a Redis PING), so a broker that went away is reported at once.
_broker = threading.local()


def _broker_connection():
    url = celery_app.conf.broker_write_url or celery_app.conf.broker_url
    conn = getattr(_broker, "connection", None)
    if conn is not None and getattr(_broker, "url", None) != url:
        _broker_forget()
        conn = None
    if conn is None:
        conn = celery_app.connection_for_write()
        conn.ensure_connection(max_retries=1, timeout=2)
        _broker.connection, _broker.url = conn, url
    return conn


def _broker_forget() -> None:
    conn = getattr(_broker, "connection", None)
    _broker.connection = None
    if conn is not None:
        try:
            conn.release()
        except Exception:  # already broken; nothing more to release
            logger.debug("healthz: releasing a broken broker connection failed", exc_info=True)


def broker_ok() -> bool:
    try:
        conn = _broker_connection()
        if conn.transport_cls == "redis" or conn.transport.driver_type == "redis":
            conn.default_channel.client.ping()
        else:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # any failure to reach the broker is "down"
        logger.warning("healthz: broker check failed", exc_info=True)
        _broker_forget()
        return False


class WorkerPing:
    """Whether a worker answered a broadcast ping, remembered for a few seconds per process.

    A ping is a broadcast every worker must answer, and with no worker up it costs the whole
    timeout (1 s) of the request; probes come every few seconds from each load balancer and
    monitor. So one web process pings at most once per HEALTHZ_WORKER_PING_CACHE_SECONDS (10 s
    by default: a dead worker shows within that, far inside the claim timeout that decides when
    its reminders are retried)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answer: bool | None = None
        self._asked_at = 0.0

    def __call__(self) -> bool:
        with self._lock:
            ttl = settings.HEALTHZ_WORKER_PING_CACHE_SECONDS
            if self._answer is None or time.monotonic() - self._asked_at >= ttl:
                self._answer = self._ping()
                self._asked_at = time.monotonic()
            return self._answer

    def forget(self) -> None:
        with self._lock:
            self._answer = None

    @staticmethod
    def _ping() -> bool:
        try:
            # limit=1: return as soon as one worker answers instead of waiting out the timeout.
            return bool(celery_app.control.ping(timeout=settings.HEALTHZ_WORKER_PING_TIMEOUT,
                                                limit=1))
        except Exception:  # no broker, no answer: the broker check reports the cause
            logger.warning("healthz: worker ping failed", exc_info=True)
            return False


worker_ok = WorkerPing()


@dataclass(frozen=True)
class HealthSignal:
    """One thing a monitor watches: "ok" or a word for what is wrong, and its numbers."""

    name: str
    state: str
    numbers: dict[str, int | float | None]

    @property
    def ok(self) -> bool:
        return self.state == "ok"


# The shell names no app: each app that has something to watch registers a check in its
# AppConfig.ready(). A check reads the database, so it runs only while the database answers.
_checks: dict[str, Callable[[], list[HealthSignal]]] = {}


def health_check_register(name: str, check: Callable[[], list[HealthSignal]]) -> None:
    _checks[name] = check


def registered_signals() -> list[HealthSignal]:
    """Every registered check's signals; a check that raises reads as "unknown" (degraded)."""
    signals = []
    for name, check in _checks.items():
        try:
            signals.extend(check())
        except Exception:  # a check that cannot look must not look healthy
            logger.warning("healthz: the %s check failed", name, exc_info=True)
            signals.append(HealthSignal(name, "unknown", {}))
    return signals


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """503 when the database or the broker is down: this process cannot serve. 200 "degraded"
    when the workers are silent or a registered check is out of its limits (the sweeper has
    not run, due reminders wait, failures pile up): pages still work (a load balancer must keep
    sending traffic), but reminders are late or lost, which monitoring must see in the body,
    with the number behind each verdict."""
    checks = {"database": database_ok(), "broker": broker_ok()}
    checks["worker"] = worker_ok() if checks["broker"] else False
    body: dict = {name: "ok" if up else "down" for name, up in checks.items()}
    signals = registered_signals() if checks["database"] and checks["broker"] else []
    for signal in signals:
        body[signal.name] = signal.state
        body.update(signal.numbers)
    if not (checks["database"] and checks["broker"]):
        status, code = "unavailable", 503
    elif checks["worker"] and all(signal.ok for signal in signals):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    return JsonResponse({"status": status, **body}, status=code)
