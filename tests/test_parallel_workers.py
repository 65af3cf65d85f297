"""`make test` runs the suite in two pytest-xdist workers; each must have a Redis database of its
own, or one worker's purge of the Celery queue would drop the tasks another's test just queued."""
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from iop_clinic.settings.test import _redis_database_of_this_worker

SHOW_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({"broker": settings.CELERY_BROKER_URL,
                  "cache": settings.CACHES["default"].get("LOCATION", "")}))
"""


def settings_seen_by(worker: str, redis_url: str) -> dict:
    """The settings a fresh process of the test suite reads as `worker`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update({"DJANGO_SETTINGS_MODULE": "iop_clinic.settings.test", "REDIS_URL": redis_url,
                "PYTEST_XDIST_WORKER": worker})
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + SHOW_SETTINGS],
                          cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout)


def test_the_second_worker_sends_its_celery_tasks_to_the_next_redis_database():
    assert settings_seen_by("gw1", "redis://127.0.0.1:6379/9")["broker"] == "redis://127.0.0.1:6379/10"
    assert settings_seen_by("gw0", "redis://127.0.0.1:6379/9")["broker"] == "redis://127.0.0.1:6379/9"


@pytest.mark.parametrize(("worker", "url", "expected"), [
    ("gw3", "redis://127.0.0.1:6379", "redis://127.0.0.1:6379/3"),  # no database: 0
    ("gw2", "redis://:secret@cache:6380/14", "redis://:secret@cache:6380/0"),  # 16 wraps to 0
    ("", "redis://127.0.0.1:6379/9", "redis://127.0.0.1:6379/9"),  # not under xdist
])
def test_each_worker_number_moves_the_database_by_as_many(monkeypatch, worker, url, expected):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setenv("REDIS_URL", url)
    _redis_database_of_this_worker()
    assert os.environ["REDIS_URL"] == expected


def test_a_redis_url_it_cannot_read_stops_the_workers(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("REDIS_URL", "rediss://cache:6379/2?ssl_cert_reqs=none")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        _redis_database_of_this_worker()
