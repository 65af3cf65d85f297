"""Gunicorn settings for production: `gunicorn -c iop_clinic/gunicorn.conf.py iop_clinic.wsgi`.

Every value can be moved from the environment. Sync workers: each request holds one worker, so
a slow request blocks only its own worker, and the timeout below kills a worker stuck longer.
"""
import gc
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {value!r}") from None
    if number < 1:
        raise SystemExit(f"{name} must be at least 1, got {number}")
    return number


bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# (2 x cores) + 1 is gunicorn's own rule of thumb for sync workers.
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
# A request still running after this many seconds gets its worker killed and replaced.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Keep-alive behind a proxy on the same host or network.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Replace each worker after a while, jittered so they do not all restart at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Heartbeat files in memory, not on a possibly slow disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Load the app before forking: less memory, and a broken configuration stops the master at once.
preload_app = True
# No access log by default: request paths include the calendar-feed token, a credential.
# Errors go to stderr, where the process manager collects them.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The proxy in front sets X-Forwarded-Proto (see SECURE_PROXY_SSL_HEADER); trust it from here.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")


# /metrics: every worker counts its requests in memory-mapped files in one folder and a scrape,
# whichever worker answers it, adds them all up (prometheus_client's multiprocess mode). The
# variable must be set before the app (and prometheus_client) is loaded, so here. A folder of
# this master's own unless the operator names one; either way emptied at start, so counters
# begin at 0 with each start of the server (Prometheus' rate() expects such resets).
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="iop-clinic-metrics-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)


def on_starting(server):
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    # A replaced worker's counts stay in its files (a counter never goes down); this drops
    # only its live-gauge files, of which we have none today.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def when_ready(server):
    # Before the first fork: what each worker would otherwise redo on its first requests, at
    # start and after every max_requests recycle (iop_clinic/warmup.py). No database, no Redis.
    if server.cfg.preload_app:
        from iop_clinic.warmup import warm

        server.log.info("Warmed before forking: %s", warm())
        # What the master holds now lives as long as the workers: out of the collector's sight,
        # a worker's full collections neither walk it nor copy its memory pages (Python's gc
        # documentation advises freeze() before fork for this).
        gc.collect()
        gc.freeze()


def post_fork(server, worker):
    # preload_app imported Django in the master; make sure no database connection opened there
    # is shared by the forked workers.
    from django.db import connections

    connections.close_all()
