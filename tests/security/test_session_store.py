"""Sessions read through the cache (iop_clinic/security/session_store.py): no query to read
one, a sign-out that holds, and a Redis that can't be reached costs speed, not sign-ins."""
import datetime as dt
import os
import uuid

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from iop_clinic.security.session_store import CACHED_SECONDS, SessionStore

pytestmark = pytest.mark.django_db

STAFF_PAGE = "/account/two-factor/recovery-codes/"  # any page that needs a login
UNREACHABLE_REDIS = {"default": {
    "BACKEND": "iop_clinic.redis_cache.RedisCache",
    "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing listens there
    "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}


@pytest.fixture(autouse=True)
def _cached_sessions(settings):
    settings.SESSION_ENGINE = "iop_clinic.security.session_store"


def saved_session(**data) -> str:
    store = SessionStore()
    store.update(data)
    store.save()
    return store.session_key


def test_it_reads_a_saved_session_without_a_query(django_assert_num_queries):
    key = saved_session(who="someone")
    with django_assert_num_queries(0):
        assert SessionStore(key)["who"] == "someone"


def test_it_keeps_the_database_as_the_record():
    key = saved_session(who="someone")
    assert Session.objects.get(session_key=key).get_decoded() == {"who": "someone"}


def test_it_signs_out_for_good(client, clinician):
    client.force_login(clinician)
    assert client.get(STAFF_PAGE).status_code == 200
    stolen = client.cookies["sessionid"].value

    client.post(reverse("logout"))

    client.cookies["sessionid"] = stolen
    response = client.get(STAFF_PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_lets_a_copy_outlive_its_session_by_minutes_at_most(frozen_now):
    key = saved_session(who="someone")
    # A sign-out whose removal from the cache failed, or raced with a save.
    Session.objects.filter(session_key=key).delete()
    assert SessionStore(key).get("who") == "someone"

    frozen_now.shift(dt.timedelta(seconds=CACHED_SECONDS + 1))

    assert SessionStore(key).get("who") is None


def test_it_never_copies_a_session_into_the_cache_when_reading_it(django_assert_num_queries):
    from django.core.cache import cache

    key = saved_session(who="someone")
    cache.clear()  # Redis restarted, say

    assert SessionStore(key)["who"] == "someone"  # from the database, which still holds it
    with django_assert_num_queries(1):
        assert SessionStore(key)["who"] == "someone"  # and again: a sign-out may be racing


def test_it_signs_in_and_out_while_redis_is_unreachable(client, clinician, settings, caplog):
    settings.CACHES = UNREACHABLE_REDIS
    client.force_login(clinician)

    assert client.get(STAFF_PAGE).status_code == 200
    client.post(reverse("logout"))
    assert client.get(STAFF_PAGE).status_code == 302
    assert "the cache could not be read" in caplog.text


@pytest.mark.redis
def test_it_keeps_signed_in_pages_working_through_one_redis_client(
        client, clinician, settings, django_assert_num_queries):
    """The Redis cache of the settings (iop_clinic/redis_cache.py) reuses one client for every
    call: sessions still read without a query, and a sign-out still holds."""
    import redis
    from django.core.cache import cache

    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {"default": {"BACKEND": "iop_clinic.redis_cache.RedisCache",
                                   "LOCATION": os.environ["REDIS_URL"], "KEY_PREFIX": prefix}}
    client.force_login(clinician)
    key = client.cookies["sessionid"].value
    try:
        for _ in range(2):
            assert client.get(STAFF_PAGE).status_code == 200
        with django_assert_num_queries(0):
            assert SessionStore(key).get("_auth_user_id") == str(clinician.pk)
        assert cache._cache.get_client() is cache._cache.get_client(write=True)

        client.post(reverse("logout"))

        client.cookies["sessionid"] = key
        assert client.get(STAFF_PAGE).status_code == 302
    finally:
        keys = redis.Redis.from_url(os.environ["REDIS_URL"]).keys(f"{prefix}:*")
        cache.delete_many([k.decode().split(":", 2)[2] for k in keys])
