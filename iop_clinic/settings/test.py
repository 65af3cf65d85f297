"""The test suite: fast hashing, in-memory email, plain static storage."""
import os
import re

from django.core.exceptions import ImproperlyConfigured


def _redis_database_of_this_worker() -> None:
    """Under pytest-xdist each worker (gw0, gw1, ...) uses the next Redis database after
    REDIS_URL's, so one worker's purge of the broker queue or flush of its Redis never takes
    another's tasks or keys. Set in the environment, before the base settings read it, so the
    Celery workers and web servers a test starts inherit the same database."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("REDIS_URL", "")
    if not (worker.startswith("gw") and url):
        return
    match = re.fullmatch(r"(redis://[^/]*)(?:/(\d*))?", url)
    if match is None:
        raise ImproperlyConfigured("REDIS_URL for the tests must be redis://host:port[/db]")
    database = (int(match.group(2) or 0) + int(worker[2:])) % 16
    os.environ["REDIS_URL"] = f"{match.group(1)}/{database}"


_redis_database_of_this_worker()

from .base import *  # noqa: E402,F401,F403
from .base import env  # noqa: E402

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="test-only-secret-key-not-for-production")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Each test starts with an empty cache (tests/conftest.py), which only memory gives cheaply;
# tests of the Redis cache switch CACHES themselves.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
          "vitals": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                     "LOCATION": "vitals"}}
# A test that watches beat and a worker in other processes shares their vitals through a Redis
# of its own: TEST_VITALS_REDIS_URL, set for those processes and for the test.
if env.str("TEST_VITALS_REDIS_URL", default=""):
    CACHES["vitals"] = {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": env.str("TEST_VITALS_REDIS_URL"), "KEY_PREFIX": "iop:vitals"}
# Never a real provider, whatever a developer's .env says. Tests that watch a Celery worker in
# another process set TEST_SMS_BACKEND=reminders.channels.sms.FileBackend (and SMS_FILE_PATH).
_TEST_SMS_BACKENDS = ("reminders.channels.sms.InMemoryBackend", "reminders.channels.sms.FileBackend")
SMS_BACKEND = env.str("TEST_SMS_BACKEND", default=_TEST_SMS_BACKENDS[0])
if SMS_BACKEND not in _TEST_SMS_BACKENDS:
    raise ImproperlyConfigured(f"TEST_SMS_BACKEND must be one of {', '.join(_TEST_SMS_BACKENDS)}.")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Serve static files straight from the finders; no collectstatic needed here.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Never a scrape endpoint or an error report from a developer's .env; tests switch them on.
METRICS_TOKEN = ""
SENTRY_DSN = ""
