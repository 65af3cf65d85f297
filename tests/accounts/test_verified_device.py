"""The verified device of a request (accounts.middleware.VerifiedDeviceMiddleware) is read
through a statement compiled once a process: the device django-otp's own lookup finds, and a
device deleted or unconfirmed stops counting at the user's next request."""
from urllib.parse import unquote

import pytest
from django.forms.models import model_to_dict
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.middleware import device_from_persistent_id

pytestmark = pytest.mark.django_db

VERIFY = "/account/two-factor/verify/"
SETUP = "/account/two-factor/setup/"


@pytest.mark.parametrize("others", [0, 12])
def test_it_finds_the_device_django_otp_finds(director, clinician, totp_device_for,
                                               recovery_code_for, others):
    for _ in range(others):
        totp_device_for(clinician)
    totp = totp_device_for(director)
    recovery_code_for(director)
    static = StaticDevice.objects.get(user=director)

    for device in (totp, static):
        found = device_from_persistent_id(device.persistent_id)
        expected = Device.from_persistent_id(device.persistent_id)
        assert type(found) is type(expected)
        assert model_to_dict(found) == model_to_dict(expected)
        assert found.persistent_id == device.persistent_id


@pytest.mark.parametrize("persistent_id", [
    "otp_totp.totpdevice/999999", "otp_totp.totpdevice/x", "otp_totp.nosuch/1",
    "nosuchapp.totpdevice/1", "garbage", "a.b.c/1",
])
def test_it_finds_nothing_where_django_otp_finds_nothing(persistent_id, director):
    assert Device.from_persistent_id(persistent_id) is None
    assert device_from_persistent_id(persistent_id) is None


def test_a_model_that_is_no_device_is_no_device(director):
    # django-otp's own lookup fails with AttributeError here (a 500); this one finds nothing.
    assert device_from_persistent_id(f"accounts.user/{director.pk}") is None


def _verified_admin_page(client, user, verified_login):
    verified_login(user)
    assert client.get("/admin/").status_code == 200


def test_a_deleted_device_stops_counting_at_the_next_request(client, superuser, verified_login):
    _verified_admin_page(client, superuser, verified_login)

    TOTPDevice.objects.filter(user=superuser).delete()
    response = client.get("/admin/")

    assert response.status_code == 302
    assert unquote(response["Location"]) == f"{SETUP}?next=/admin/"


def test_an_unconfirmed_device_stops_counting_at_the_next_request(client, superuser,
                                                                  verified_login):
    _verified_admin_page(client, superuser, verified_login)

    TOTPDevice.objects.filter(user=superuser).update(confirmed=False)
    response = client.get("/admin/")

    assert response.status_code == 302  # no confirmed device left: set one up again
    assert unquote(response["Location"]) == f"{SETUP}?next=/admin/"


def test_another_users_device_does_not_verify(client, superuser, director, verified_login,
                                              totp_device_for):
    _verified_admin_page(client, superuser, verified_login)
    someone_elses = totp_device_for(director)
    session = client.session
    session["otp_device_id"] = someone_elses.persistent_id
    session.save()

    response = client.get("/admin/")

    assert response.status_code == 302  # the superuser's own device is still there: verify
    assert unquote(response["Location"]) == f"{VERIFY}?next=/admin/"


def test_a_page_reads_the_user_object_itself_with_its_verified_device(client, superuser,
                                                                     verified_login):
    """Past the log-off check, request.user is the user read for this request, not the lazy
    stand-ins of Django and django-otp: the same user, with django-otp's device and
    `is_verified`, read afresh at the next request."""
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

    anonymous = client.get("/admin/login/").wsgi_request.user
    assert type(anonymous) is AnonymousUser and not anonymous.is_verified()

    _verified_admin_page(client, superuser, verified_login)
    first = client.get("/admin/").wsgi_request.user
    assert type(first) is User and first.pk == superuser.pk
    assert first.is_verified() and first.otp_device.user_id == superuser.pk

    User.objects.filter(pk=superuser.pk).update(first_name="Renamed")
    second = client.get("/admin/").wsgi_request.user
    assert second is not first and second.first_name == "Renamed" and second.is_verified()
