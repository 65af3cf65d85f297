"""Readable admin names for the third-party apps behind sign-in: two-factor and lockout."""
from axes.apps import AppConfig as AxesConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as OTPStaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as OTPTOTPConfig


class RecoveryCodesConfig(OTPStaticConfig):
    default = False
    verbose_name = _("Two-step sign-in: recovery codes")


class AuthenticatorAppsConfig(OTPTOTPConfig):
    default = False
    verbose_name = _("Two-step sign-in: authenticator apps")


class LockoutConfig(AxesConfig):
    default = False
    verbose_name = _("Sign-in attempts and lockouts")
