"""Guards every page shares: no NUL byte reaches a view, signed-in pages are never cached, and
the admin neither crashes on nor shows an authenticator device's secret."""
import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import Role
from tests import factories
from tests.auth import sign_in

pytestmark = pytest.mark.django_db


# --- NUL bytes ------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "/admin/reminders/reminder/?status__exact=%00",
    "/admin/participants/participant/?q=a%00b",
    "/participants/?q=%00",
    "/?date=2026-03-02%00",
    "/accounts/login/?next=%00",
    "/portal/sign-in-link/?x%00=1",
])
def test_it_answers_400_to_a_nul_byte_in_any_query_string(admin_client, url):
    admin_client.raise_request_exception = False

    assert admin_client.get(url).status_code == 400


@pytest.mark.parametrize("data", [
    {"username": "someone\x00", "password": "x"},
    {"username": "someone", "password": "x\x00"},
    {"user\x00name": "someone", "password": "x"},
])
def test_it_answers_400_to_a_nul_byte_in_any_form_field(client, data):
    client.raise_request_exception = False

    assert client.post("/accounts/login/", data).status_code == 400
    assert client.post("/portal/sign-in-link/", {"email": "a\x00@example.com"}).status_code == 400


def test_it_refuses_a_nul_byte_in_a_staff_form_and_saves_nothing(site):
    from participants.models import Participant

    client = sign_in(Client(), factories.StaffFactory(role=Role.FRONT_DESK, sites=[site]))

    response = client.post(reverse("participant_intake"),
                           {"first_name": "Nul\x00", "last_name": "Byte", "record_number": "X1"})

    assert response.status_code == 400
    assert not Participant.objects.exists()


def test_it_lets_ordinary_requests_through(admin_client):
    assert admin_client.get("/admin/reminders/reminder/?status__exact=sent").status_code == 200
    assert Client().post("/accounts/login/", {"username": "x", "password": "y"}).status_code == 200


# --- Cache-Control --------------------------------------------------------------------------

STAFF_PAGES = ["home", "calendar", "participant_search", "followup_list", "program_list",
               "closure_list", "two_factor_recovery_codes"]


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_it_sends_no_store_on_every_signed_in_staff_page(client, director, name):
    sign_in(client, director)

    response = client.get(reverse(name))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_it_sends_no_store_on_a_chart_and_its_admin(director, admin_client, site):
    participant = factories.ParticipantFactory(home_site=site)
    client = sign_in(Client(), director)

    for response in (client.get(reverse("participant_chart", args=[participant.code])),
                     client.get(reverse("participant_edit", args=[participant.code])),
                     admin_client.get(f"/admin/participants/participant/{participant.pk}/change/")):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]


def test_it_leaves_anonymous_pages_and_a_page_s_own_choice_alone(client, director):
    anonymous = client.get(reverse("home"))
    assert anonymous.status_code == 302 and not anonymous.has_header("Cache-Control")
    sign_in(client, director)
    # The page's own header stays (never_cache adds no-store already, and more).
    response = client.get(reverse("portal-sign-in-link"))
    assert "must-revalidate" in response["Cache-Control"]


# --- Admin: authenticator devices -----------------------------------------------------------

@pytest.mark.parametrize("view", ["config", "qrcode"])
def test_it_answers_404_for_a_missing_device(admin_client, view):
    admin_client.raise_request_exception = False

    assert admin_client.get(f"/admin/otp_totp/totpdevice/999999/{view}/").status_code == 404


@pytest.mark.parametrize("view", ["config", "qrcode"])
def test_it_never_shows_a_device_secret_in_the_admin(admin_client, clinician, view):
    device = TOTPDevice.objects.create(user=clinician, name="Authenticator app", confirmed=True)

    qr_view = admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/{view}/")
    change = admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    listing = admin_client.get("/admin/otp_totp/totpdevice/")

    assert qr_view.status_code == 404
    assert change.status_code == 200 and listing.status_code == 200
    for response in (change, listing):
        text = response.content.decode()
        assert device.key not in text
        assert "qrcode" not in text and "/config/" not in text
