"""Sign-in edges: an overlong username, the lockout's wording, the lockout on emailed links,
and the participant's absolute session limit."""
import datetime as dt
from urllib.parse import unquote

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from participants.models import PortalLinkPurpose
from participants import portal_accounts as portal_services
from tests import factories

pytestmark = pytest.mark.django_db

ADDRESSES = [f"192.0.2.{n}" for n in range(1, 7)]  # TEST-NET-1: documentation addresses


# --- A username longer than anything stored -------------------------------------------------

@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
@pytest.mark.parametrize("length", [256, 300, 5000])
def test_it_answers_an_overlong_username_as_a_failed_sign_in(client, url, length):
    client.raise_request_exception = False

    response = client.post(url, {"username": "x" * length, "password": "nope"})

    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Counted like any other failure, under the first 255 characters django-axes keeps.
    assert AccessAttempt.objects.filter(username="x" * 255).exists()


def test_it_still_locks_an_overlong_username(client, frozen_now):
    for address in ADDRESSES[:5]:
        response = client.post("/accounts/login/", {"username": "y" * 400, "password": "nope"},
                               REMOTE_ADDR=address)

    assert response.status_code == 429


# --- The lockout's words --------------------------------------------------------------------

def lock(client, user):
    for address in ADDRESSES[:5]:
        response = client.post("/accounts/login/", {"username": user.username,
                                                    "password": "wrong-password"},
                               REMOTE_ADDR=address)
    assert response.status_code == 429
    return response


def test_it_says_how_long_the_lockout_lasts_in_minutes(client, clinician, frozen_now):
    text = lock(client, clinician).content.decode()

    assert "in 30 minutes" in text
    assert "PT30M" not in text


# --- Emailed sign-in links and the lockout --------------------------------------------------

@pytest.fixture
def participant(site):
    user = factories.UserFactory()
    return factories.ParticipantFactory(home_site=site, user=user, email="robin@mail.example.com")


def sign_in_link(participant) -> str:
    token = portal_services._link_create(participant=participant,
                                         purpose=PortalLinkPurpose.SIGN_IN,
                                         lifetime=dt.timedelta(minutes=30), by=None)
    return reverse("portal-sign-in", args=[token])


def test_it_refuses_an_emailed_link_while_the_password_is_locked(client, participant,
                                                                 frozen_now):
    lock(client, participant.user)
    url = sign_in_link(participant)

    response = client.post(url)

    assert response.status_code == 429
    assert "Account locked" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The link is not spent: it works once the lockout is over, if still within its lifetime.
    frozen_now.shift(dt.timedelta(minutes=29))
    assert client.post(url).status_code == 429
    AccessAttempt.objects.all().delete()  # a director's "unlock"
    assert client.post(url).status_code == 302
    assert client.session["_auth_user_id"] == str(participant.user.pk)


def test_it_lets_an_emailed_link_in_when_not_locked(client, participant, frozen_now):
    response = client.post(sign_in_link(participant))

    assert response.status_code == 302 and response.url == reverse("portal-home")


# --- Participants' absolute session limit ---------------------------------------------------

def test_it_signs_a_participant_out_twelve_hours_after_login_however_busy(client, participant,
                                                                          frozen_now):
    client.force_login(participant.user)
    page = reverse("portal-home")
    for _ in range(11 * 2 + 1):  # a page every 30 minutes for 11 h 30 min
        frozen_now.shift(dt.timedelta(minutes=30))
        assert client.get(page).status_code == 200

    frozen_now.shift(dt.timedelta(minutes=30))
    response = client.get(page)

    assert response.status_code == 302
    assert unquote(response["Location"]) == f"/accounts/login/?next={page}"
    assert "_auth_user_id" not in client.session


def test_it_reads_the_participant_limit_from_settings(client, participant, frozen_now, settings):
    settings.PARTICIPANT_ABSOLUTE_TIMEOUT_HOURS = 1
    client.force_login(participant.user)
    frozen_now.shift(dt.timedelta(minutes=50))
    assert client.get(reverse("portal-home")).status_code == 200

    frozen_now.shift(dt.timedelta(minutes=10))

    assert client.get(reverse("portal-home")).status_code == 302
