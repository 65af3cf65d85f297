"""What the background processes tell the web processes: when periodic work last ran and how
many tasks failed, kept where every process can read it (the "vitals" cache).

The cache alias is Redis when there is one (every process on every machine shares it) and files
under VAR_DIR otherwise (the processes `make run` starts on one machine share those). A lost
value (Redis restarted empty) reads as "never ran" until the next run writes it again, at most
one sweep interval later.
"""
import logging
import time

from django.core.cache import caches

logger = logging.getLogger(__name__)

ALIAS = "vitals"
_RAN = "ran:{}"
_FAILURES = "task_failures:{}"


def _cache():
    return caches[ALIAS]


def vitals_record_run(*, name: str, at: float | None = None) -> None:
    """Remember that the periodic work `name` has just run (seconds since the epoch)."""
    try:
        _cache().set(_RAN.format(name), time.time() if at is None else at, timeout=None)
    except Exception:  # monitoring must never stop the work it watches
        logger.warning("vitals: could not record a run of %s", name, exc_info=True)


def vitals_last_run(*, name: str) -> float | None:
    """When `name` last ran (seconds since the epoch), or None if no run is on record."""
    value = _cache().get(_RAN.format(name))
    return float(value) if value is not None else None


def vitals_count_task_failure(*, task: str) -> None:
    """One more failure of the Celery task `task` (atomic in Redis; best effort in files)."""
    key = _FAILURES.format(task)
    try:
        cache = _cache()
        cache.add(key, 0, timeout=None)
        cache.incr(key)
    except Exception:  # monitoring must never stop the work it watches
        logger.warning("vitals: could not count a failure of %s", task, exc_info=True)


def vitals_task_failures(*, tasks: list[str]) -> dict[str, int]:
    """Failures counted so far per task name (one cache round trip); 0 for those never failed."""
    found = _cache().get_many([_FAILURES.format(task) for task in tasks])
    return {task: int(found.get(_FAILURES.format(task), 0)) for task in tasks}
