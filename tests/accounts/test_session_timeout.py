"""Automatic log-off: staff after 30 idle minutes or 12 hours in all; participants after an
idle hour. The next request after the limit lands on the login page, with the way back."""
import datetime as dt
from urllib.parse import unquote

import pytest

from accounts.roles import Role
from tests import factories

pytestmark = pytest.mark.django_db

STAFF_PAGE = "/account/two-factor/recovery-codes/"  # any page that needs a login


def assert_sent_to_login(response, next_url: str = STAFF_PAGE):
    assert response.status_code == 302
    assert unquote(response["Location"]) == f"/accounts/login/?next={next_url}"


def test_it_keeps_an_active_clinician_signed_in(client, clinician, frozen_now):
    client.force_login(clinician)
    for _ in range(4):
        frozen_now.shift(dt.timedelta(minutes=25))
        assert client.get(STAFF_PAGE).status_code == 200


def test_it_signs_out_a_clinician_after_thirty_idle_minutes(client, clinician, frozen_now):
    client.force_login(clinician)
    assert client.get(STAFF_PAGE).status_code == 200

    frozen_now.shift(dt.timedelta(minutes=30, seconds=1))
    response = client.get(STAFF_PAGE)

    assert_sent_to_login(response)
    assert "_auth_user_id" not in client.session
    assert_sent_to_login(client.get(STAFF_PAGE))  # still signed out, not signed in again


def test_it_signs_out_staff_twelve_hours_after_login_however_busy(client, clinician, frozen_now):
    client.force_login(clinician)
    for _ in range(11 * 4 + 3):  # a request every 15 minutes for 11 h 45 min
        frozen_now.shift(dt.timedelta(minutes=15))
        assert client.get(STAFF_PAGE).status_code == 200

    frozen_now.shift(dt.timedelta(minutes=15))

    assert_sent_to_login(client.get(STAFF_PAGE))


def test_it_gives_participants_an_idle_hour(client, frozen_now):
    participant = factories.ParticipantFactory(user=factories.UserFactory())
    client.force_login(participant.user)

    frozen_now.shift(dt.timedelta(minutes=45))
    assert client.get(STAFF_PAGE).status_code == 200
    frozen_now.shift(dt.timedelta(minutes=60, seconds=1))

    assert_sent_to_login(client.get(STAFF_PAGE))


def test_it_reads_the_limits_from_settings(client, clinician, frozen_now, settings):
    settings.STAFF_IDLE_TIMEOUT_MINUTES = 5
    client.force_login(clinician)

    frozen_now.shift(dt.timedelta(minutes=5))

    assert_sent_to_login(client.get(STAFF_PAGE))


def test_it_asks_htmx_to_load_the_login_page_rather_than_swap_it_in(client, clinician,
                                                                    frozen_now):
    client.force_login(clinician)
    frozen_now.shift(dt.timedelta(hours=1))

    response = client.get(STAFF_PAGE, headers={"HX-Request": "true"})

    assert response["HX-Redirect"].startswith("/accounts/login/?next=")
    assert "_auth_user_id" not in client.session


def test_it_lets_the_signed_out_user_sign_in_again_and_return(client, frozen_now):
    user = factories.StaffFactory(role=Role.CLINICIAN)
    client.force_login(user)
    frozen_now.shift(dt.timedelta(hours=1))
    login_url = client.get(STAFF_PAGE)["Location"]

    response = client.post(login_url, {"username": user.username,
                                       "password": "correct-horse-battery",
                                       "next": STAFF_PAGE})

    assert response.status_code == 302
    assert response["Location"] == STAFF_PAGE
    assert client.get(STAFF_PAGE).status_code == 200
