"""Who must use a second factor, and the pieces of enrolment that write nothing."""
import base64

import qrcode
import qrcode.image.svg
from django.http import HttpRequest
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

# Cached in the session at login so the gate costs no query on each page.
REQUIRED_SESSION_KEY = "security.two_factor_required"
PENDING_KEY_SESSION_KEY = "security.two_factor_pending_key"
RECOVERY_CODES_SESSION_KEY = "security.two_factor_new_recovery_codes"


def user_must_use_two_factor(user) -> bool:
    """Program directors (and superusers), anyone with admin access, and anyone who has
    enrolled a device: once enrolled, a password alone no longer opens the account."""
    if not user.is_authenticated:
        return False
    return user.is_staff or user.is_director or user_has_device(user)


def remember_two_factor_requirement(request: HttpRequest, user) -> None:
    request.session[REQUIRED_SESSION_KEY] = user_must_use_two_factor(user)


def two_factor_required(request: HttpRequest) -> bool:
    if REQUIRED_SESSION_KEY not in request.session:
        remember_two_factor_requirement(request, request.user)
    return request.session[REQUIRED_SESSION_KEY]


def unsaved_totp_device(*, user, key_hex: str) -> TOTPDevice:
    """The device being enrolled, not saved until the user proves their app shows its codes."""
    return TOTPDevice(user=user, name="Authenticator app", key=key_hex, confirmed=False)


def totp_secret_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps accept it when typed in, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(data: str) -> str:
    """An inline SVG QR code, rendered here: the secret never leaves the server."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    return svg.removeprefix("<?xml version='1.0' encoding='UTF-8'?>\n")
