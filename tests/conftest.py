"""Shared fixtures: personas, the clinic they work in, the real-service gates, the browser."""
import os

import pytest
from django.db import connection

from accounts.roles import Role

from . import factories
from .auth import sign_in

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _service_missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(config, items):
    # Real-process and browser tests run last, after the fast feedback.
    slow = {"e2e", "browser"}
    items.sort(key=lambda item: any(item.get_closest_marker(m) for m in slow))


@pytest.fixture(autouse=True)
def _require_marked_services(request):
    if request.node.get_closest_marker("postgres"):
        if "DATABASE_URL" not in os.environ or not os.environ["DATABASE_URL"].startswith("postgres"):
            _service_missing("this test needs PostgreSQL: set DATABASE_URL=postgres://...")
        if request.node.get_closest_marker("django_db") or "db" in request.fixturenames:
            assert connection.vendor == "postgresql"
    if request.node.get_closest_marker("redis"):
        url = os.environ.get("REDIS_URL", "")
        if not url:
            _service_missing("this test needs Redis: set REDIS_URL=redis://...")
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            _service_missing(f"Redis at REDIS_URL does not answer: {exc}")
    if request.node.get_closest_marker("browser"):
        if not os.path.exists(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")):
            _service_missing("this test needs Chromium at /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with no counters (the sign-in-link throttle, the vitals) left by another."""
    from django.core.cache import cache, caches
    from django.core.cache.backends.locmem import LocMemCache

    def empty() -> None:
        cache.clear()
        # And no sweeper heartbeat or task failure counted by another test. Only the in-memory
        # one: clear() on a Redis cache would empty that whole Redis database.
        if isinstance(caches["vitals"], LocMemCache):
            caches["vitals"].clear()

    empty()
    yield
    empty()


@pytest.fixture
def eager_celery():
    """Tasks run in the calling process, so an in-process test sees the whole chain.

    The project's app by name, not Celery's `current_app`: any Celery() a test makes becomes
    the current app, and eager mode set there left the project's tasks going to the broker."""
    from iop_clinic.celery_app import app

    conf = app.conf
    before = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = before


@pytest.fixture(autouse=True)
def sms_outbox():
    """Texts sent through the in-memory SMS backend (the test settings' default) in this test."""
    from reminders.channels.sms import outbox

    outbox.clear()
    yield outbox
    outbox.clear()


@pytest.fixture
def replans(monkeypatch):
    """The participant ids whose reminders a change asks to re-plan, call by call.

    Services announce changes by signal; the reminders app answers through
    `reminders.replan.reminders_replan_on_commit`, looked up at call time, so this sees them all.
    """
    from reminders import replan

    calls: list[list[int]] = []
    monkeypatch.setattr(replan, "reminders_replan_on_commit",
                        lambda *, participant_ids: calls.append(sorted(participant_ids)))
    return calls


# --- Personas ----------------------------------------------------------------------------

@pytest.fixture
def site(db):
    return factories.SiteFactory(time_zone="America/New_York")


@pytest.fixture
def other_site(db):
    return factories.SiteFactory(time_zone="America/Los_Angeles")


@pytest.fixture
def director(site):
    return factories.StaffFactory(role=Role.DIRECTOR, sites=[site])


@pytest.fixture
def clinician(site):
    return factories.StaffFactory(role=Role.CLINICIAN, sites=[site])


@pytest.fixture
def front_desk(site):
    return factories.StaffFactory(role=Role.FRONT_DESK, sites=[site])


@pytest.fixture
def outsider_clinician(other_site):
    return factories.StaffFactory(role=Role.CLINICIAN, sites=[other_site])


@pytest.fixture
def admin_user(db):
    return factories.UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's admin_client, signed in past the admin site's second factor."""
    return sign_in(client, admin_user)


# --- The browser -------------------------------------------------------------------------

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def chromium():
    """Debian's headless Chromium driven by Playwright (which cannot download its own here).

    Playwright's sync API runs an event loop in this thread while the test's ORM calls and
    pytest-django's live server stay synchronous Django code, hence DJANGO_ALLOW_ASYNC_UNSAFE.
    """
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield browser
        browser.close()
