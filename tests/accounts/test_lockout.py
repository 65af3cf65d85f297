"""Lockout (django-axes): five wrong passwords for one username lock it, whatever the address."""
import datetime as dt

import pytest
from axes.models import AccessAttempt, AccessFailureLog

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADDRESSES = [f"192.0.2.{n}" for n in range(1, 7)]  # TEST-NET-1: documentation addresses


def attempt(client, user, password, address):
    return client.post(LOGIN, {"username": user.username, "password": password,
                               "next": "/account/two-factor/recovery-codes/"},
                       REMOTE_ADDR=address)


def test_it_locks_a_username_after_five_failures_from_five_addresses(client, clinician,
                                                                     frozen_now):
    for address in ADDRESSES[:4]:
        assert attempt(client, clinician, "wrong-password", address).status_code == 200
    # The fifth failure is answered with the lockout already.
    assert attempt(client, clinician, "wrong-password", ADDRESSES[4]).status_code == 429

    response = attempt(client, clinician, "correct-horse-battery", ADDRESSES[5])

    assert response.status_code == 429
    assert b"too many login attempts" in response.content
    assert "_auth_user_id" not in client.session
    # The lockout leaves an audit record: who, from where, when.
    assert AccessFailureLog.objects.filter(username=clinician.username).count() >= 5
    assert AccessFailureLog.objects.filter(username=clinician.username, locked_out=True).exists()


def test_it_lets_the_owner_in_after_the_cool_off(client, clinician, frozen_now):
    for address in ADDRESSES[:5]:
        attempt(client, clinician, "wrong-password", address)
    assert attempt(client, clinician, "correct-horse-battery", ADDRESSES[0]).status_code == 429

    frozen_now.shift(dt.timedelta(minutes=31))
    response = attempt(client, clinician, "correct-horse-battery", ADDRESSES[0])

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(clinician.pk)
    assert not AccessAttempt.objects.filter(username=clinician.username).exists()


def test_it_does_not_lock_other_usernames(client, clinician, front_desk, frozen_now):
    for address in ADDRESSES[:5]:
        attempt(client, clinician, "wrong-password", address)

    assert attempt(client, front_desk, "correct-horse-battery", ADDRESSES[0]).status_code == 302


def test_it_keeps_counting_below_the_limit(client, clinician, frozen_now):
    for address in ADDRESSES[:4]:
        attempt(client, clinician, "wrong-password", address)

    assert attempt(client, clinician, "correct-horse-battery", ADDRESSES[4]).status_code == 302


def test_it_covers_the_admin_login_too(client, superuser, frozen_now):
    for address in ADDRESSES[:5]:
        client.post("/admin/login/", {"username": superuser.username, "password": "nope"},
                    REMOTE_ADDR=address)

    response = client.post("/admin/login/", {"username": superuser.username,
                                             "password": "correct-horse-battery"},
                           REMOTE_ADDR=ADDRESSES[5])

    assert response.status_code == 429


def test_it_reads_the_limit_and_cool_off_from_settings(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == dt.timedelta(minutes=30)
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username"]


def test_it_explains_the_lockout_on_a_page(client, clinician, frozen_now):
    for address in ADDRESSES[:5]:
        response = attempt(client, clinician, "wrong-password", address)

    assert response.status_code == 429
    assert b"Account locked" in response.content
    assert b"program director" in response.content
    assert clinician.username.encode() not in response.content
