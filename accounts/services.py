"""Writes for two-factor enrolment and verification (django-otp devices)."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import verify_token
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .twofactor import unsaved_totp_device


def _clean_token(token: str) -> str:
    return "".join(token.split())


def two_factor_enrol(*, user, key_hex: str, token: str) -> tuple[TOTPDevice, list[str]]:
    """Save the authenticator-app device once `token` shows the app holds `key_hex`, with a
    fresh set of recovery codes; returns the device and the codes (to be shown once).

    A device that existed before is replaced, so losing a phone and enrolling again leaves
    no second secret behind.
    """
    device = unsaved_totp_device(user=user, key_hex=key_hex)
    token = _clean_token(token)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if not (token.isdigit() and totp.verify(int(token), tolerance=device.tolerance)):
        raise ValidationError(
            _("That code doesn't match. Check your phone's clock and type the current code."),
            code="bad_token",
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        device.confirmed = True
        device.last_t = totp.t()
        device.save()
        codes = recovery_codes_regenerate(user=user)
    return device, codes


def recovery_codes_regenerate(*, user) -> list[str]:
    """Replace the user's recovery codes with new single-use ones and return them (to be
    shown once)."""
    codes = [StaticToken.random_token() for _ in range(settings.TWO_FACTOR_RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def two_factor_check(*, user, token: str) -> Device:
    """The device that accepts `token`: an app code (digits), or a recovery code, which is then
    used up. Wrong codes slow further tries down (django-otp's throttling per device)."""
    token = _clean_token(token).lower()
    device_class = TOTPDevice if token.isdigit() else StaticDevice
    device = None
    for candidate in device_class.objects.devices_for_user(user, confirmed=True):
        device = verify_token(user, candidate.persistent_id, token)
        if device is not None:
            break
    if device is None:
        raise ValidationError(_("That code isn't valid. Try the current code, or a recovery code."),
                              code="bad_token")
    return device
