"""Two-factor sign-in (django-otp): required for directors and the admin site."""
import datetime as dt
from urllib.parse import unquote

import pytest
from django.contrib import admin
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.twofactor import PENDING_KEY_SESSION_KEY

from tests.auth import sign_in

from .conftest import current_code

pytestmark = pytest.mark.django_db

SETUP = "/account/two-factor/setup/"
VERIFY = "/account/two-factor/verify/"
RECOVERY = "/account/two-factor/recovery-codes/"


def test_it_sends_a_director_without_a_device_to_set_one_up(client, director):
    client.force_login(director)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert unquote(response["Location"]) == f"{SETUP}?next=/admin/"


def test_it_lets_a_clinician_without_a_device_through(client, clinician):
    client.force_login(clinician)

    assert client.get(RECOVERY).status_code == 200


def test_it_enrols_an_authenticator_app_with_a_qr_code(client, director, frozen_now):
    client.force_login(director)

    page = client.get(SETUP)
    assert page.status_code == 200
    assert b"<svg" in page.content and b"<path" in page.content
    key_hex = client.session[PENDING_KEY_SESSION_KEY]
    assert page.context["secret"].replace(" ", "")  # the key, for typing in by hand
    assert not TOTPDevice.objects.filter(user=director).exists()  # nothing saved until confirmed

    wrong = client.post(SETUP, {"token": "000000"})
    assert wrong.status_code == 200
    assert b"doesn&#x27;t match" in wrong.content
    assert not TOTPDevice.objects.filter(user=director).exists()

    device = TOTPDevice(key=key_hex)
    response = client.post(SETUP, {"token": current_code(device), "next": "/admin/"})

    assert response.status_code == 302
    assert response["Location"].startswith(RECOVERY)
    assert TOTPDevice.objects.get(user=director).confirmed
    codes_page = client.get(response["Location"])
    codes = codes_page.context["codes"]
    assert len(codes) == 10
    for code in codes:
        assert code.encode() in codes_page.content
    # Shown once only.
    again = client.get(RECOVERY)
    assert again.context["codes"] is None
    assert codes[0].encode() not in again.content


def test_it_asks_a_director_with_a_device_for_a_code(client, director, totp_device_for):
    totp_device_for(director)
    client.force_login(director)

    response = client.get("/admin/")

    assert unquote(response["Location"]) == f"{VERIFY}?next=/admin/"


def test_it_refuses_a_wrong_code_and_accepts_the_right_one(client, director, totp_device_for,
                                                           frozen_now):
    device = totp_device_for(director)
    client.force_login(director)

    wrong = client.post(VERIFY, {"token": "123456", "next": RECOVERY})
    assert wrong.status_code == 200
    assert b"isn&#x27;t valid" in wrong.content
    assert client.get("/admin/").status_code == 302

    frozen_now.shift(dt.timedelta(seconds=30))  # past django-otp's throttle after one failure
    right = client.post(VERIFY, {"token": current_code(device), "next": RECOVERY})

    assert right.status_code == 302
    assert right["Location"] == RECOVERY
    assert client.get(RECOVERY).status_code == 200


def test_it_refuses_the_same_app_code_twice(client, director, totp_device_for, frozen_now):
    device = totp_device_for(director)
    code = current_code(device)
    client.force_login(director)
    assert client.post(VERIFY, {"token": code}).status_code == 302
    client.logout()

    client.force_login(director)

    assert client.post(VERIFY, {"token": code}).status_code == 200


def test_it_accepts_a_recovery_code_once(client, director, totp_device_for, recovery_code_for,
                                         frozen_now):
    totp_device_for(director)
    code = recovery_code_for(director)
    client.force_login(director)

    assert client.post(VERIFY, {"token": code.upper(), "next": RECOVERY}).status_code == 302
    assert not StaticToken.objects.filter(token=code).exists()
    client.logout()
    client.force_login(director)

    frozen_now.shift(dt.timedelta(minutes=1))
    response = client.post(VERIFY, {"token": code, "next": RECOVERY})

    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_it_keeps_a_stolen_password_from_replacing_the_device(client, director, totp_device_for):
    totp_device_for(director)
    client.force_login(director)

    assert client.get(SETUP)["Location"].startswith(VERIFY)


def test_it_shows_the_admin_only_after_a_second_factor(client, superuser, verified_login):
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 302

    verified_login(superuser)

    assert client.get("/admin/").status_code == 200


def test_it_asks_for_the_code_on_the_admin_login_page(client, superuser, totp_device_for,
                                                      frozen_now):
    device = totp_device_for(superuser)
    data = {"username": superuser.username, "password": "correct-horse-battery",
            "next": "/admin/"}

    without_code = client.post("/admin/login/", data)
    assert without_code.status_code == 200
    assert "_auth_user_id" not in client.session

    with_code = client.post("/admin/login/", {**data, "otp_device": device.persistent_id,
                                               "otp_token": current_code(device)})

    assert with_code.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_it_uses_an_otp_admin_site_under_the_usual_name():
    from django_otp.admin import OTPAdminSite

    assert isinstance(admin.site, OTPAdminSite)
    assert admin.site.name == "admin"


@pytest.mark.urls("tests.security.urls")
def test_it_offers_other_tests_a_verified_login(client, director, superuser):
    from tests.security.helpers import force_login_verified

    client.force_login(director)
    assert client.get("/test/staff-page/").status_code == 302
    force_login_verified(client, director)
    assert client.get("/test/staff-page/").status_code == 200

    force_login_verified(client, superuser)
    assert client.get("/admin/").status_code == 200


def test_it_offers_to_print_and_copy_fresh_codes_without_inline_script(client, director,
                                                                      settings):
    settings.CLINIC_NAME = "Riverbend Health"
    sign_in(client, director)

    page = client.post(RECOVERY, {"next": "/"}).content.decode()

    assert "data-print" in page and 'data-copy-text="recovery-codes"' in page
    assert 'id="copy-status"' in page and 'role="status"' in page
    assert "/static/js/paper.js" in page
    assert "<script>" not in page and "onclick" not in page
    # On paper: the clinic's neutral name above the codes, never the product's.
    assert '<p class="print-only print-brand">Riverbend Health</p>' in page


def test_it_offers_neither_button_when_no_codes_are_shown(client, director):
    sign_in(client, director)

    page = client.get(RECOVERY).content.decode()

    assert "data-print" not in page and "data-copy-text" not in page
