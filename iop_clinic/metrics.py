"""GET /metrics in Prometheus text format: requests counted by a light middleware, Celery task
failures counted by the workers in the vitals cache, and what the apps register (the outbox's
numbers, read from the database when scraped).

Guarded by a bearer token (METRICS_TOKEN): without one configured the page does not exist (404),
and a scrape without the right token is refused (401). Nothing here names a person: labels are
HTTP methods, status codes, task names and reminder statuses.

Several gunicorn workers: each counts its own requests. With PROMETHEUS_MULTIPROC_DIR set
(iop_clinic/gunicorn.conf.py sets it) prometheus_client keeps every process's counters in
memory-mapped files there and a scrape, answered by any one worker, adds them all up; without
it (runserver, tests) the one process's counters are the answer.
"""
import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from .celery_app import app as celery_app
from .vitals import vitals_task_failures

logger = logging.getLogger(__name__)

_requests_registry = CollectorRegistry()
REQUESTS = Counter("iop_http_requests", "HTTP requests answered, by method and status code.",
                   ["method", "status"], registry=_requests_registry)
REQUEST_SECONDS = Histogram(
    "iop_http_request_duration_seconds", "Time from the request reaching Django to its answer.",
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0), registry=_requests_registry)
# Anything else a client sends is counted as "other", so a scanner cannot grow the label set.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """Counts every answer (first in MIDDLEWARE, so it sees those of the other middleware too).
    Costs two in-memory increments a request (a memory-mapped file write in multiprocess mode):
    no database, no network."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        REQUEST_SECONDS.observe(time.perf_counter() - started)
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(method=method, status=str(response.status_code)).inc()
        return response


# The shell names no app: an app with numbers to show registers a collector in its ready().
_collectors: dict[str, object] = {}


def metrics_collector_register(name: str, collector) -> None:
    """`collector` has a collect() yielding prometheus_client metric families."""
    _collectors[name] = collector


class _AppCollectors:
    def collect(self) -> Iterable[Metric]:
        for name, collector in _collectors.items():
            try:
                # Listed first: a collector that fails halfway yields nothing, not half.
                yield from list(collector.collect())
            except Exception:  # one broken collector must not hide the others' numbers
                logger.warning("metrics: the %s collector failed", name, exc_info=True)


class _TaskFailures:
    def collect(self) -> Iterable[Metric]:
        names = sorted(name for name in celery_app.tasks if not name.startswith("celery."))
        family = CounterMetricFamily(
            "iop_celery_task_failures", "Celery tasks that ended in an error, by task, counted "
            "by the workers since the vitals store was last emptied.", labels=["task"])
        try:
            counts = vitals_task_failures(tasks=names)
        except Exception:  # the vitals store is Redis: down, it has no number to give
            logger.warning("metrics: could not read task failures", exc_info=True)
            return
        for name in names:
            family.add_metric([name], counts[name])
        yield family


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_requests_registry)
    registry.register(_TaskFailures())
    registry.register(_AppCollectors())
    return registry


def _authorized(request: HttpRequest) -> bool:
    expected = f"Bearer {settings.METRICS_TOKEN}".encode()
    supplied = request.headers.get("Authorization", "").encode()
    return hmac.compare_digest(supplied, expected)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        raise Http404("No metrics token is configured.")
    if not _authorized(request):
        response = HttpResponse("A bearer token is required.\n", status=401,
                                content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
