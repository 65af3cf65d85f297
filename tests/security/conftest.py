"""Helpers for the security tests: authenticator codes and a verified login."""
import datetime as dt

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories

START = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"


@pytest.fixture
def frozen_now(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def totp_device_for():
    def make(user) -> TOTPDevice:
        return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return make


@pytest.fixture
def recovery_code_for():
    def make(user, code: str = "abcd2345") -> str:
        device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
        StaticToken.objects.create(device=device, token=code)
        return code
    return make


@pytest.fixture
def verified_login(client, totp_device_for):
    """Log `user` in and pass the second factor through the verify page, as a person would."""
    def login(user):
        device = TOTPDevice.objects.filter(user=user).first() or totp_device_for(user)
        client.force_login(user)
        response = client.post("/account/two-factor/verify/",
                               {"token": current_code(device), "next": "/admin/"})
        assert response.status_code == 302, response.content
        return client
    return login


@pytest.fixture
def superuser(db):
    return factories.UserFactory(is_staff=True, is_superuser=True)
