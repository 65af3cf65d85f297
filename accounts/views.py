"""Sign-in and sign-out, and the two-factor pages: enrol an app, verify after login, recovery codes."""
from urllib.parse import urlencode

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from accounts.access import post_login_redirect

from . import services
from .forms import TokenForm
from .twofactor import (
    PENDING_KEY_SESSION_KEY,
    RECOVERY_CODES_SESSION_KEY,
    REQUIRED_SESSION_KEY,
    qr_code_svg,
    totp_secret_base32,
    unsaved_totp_device,
)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return "/"


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    # Replacing a device needs the current one first; otherwise a stolen password could
    # enrol the thief's phone.
    if user_has_device(request.user) and not request.user.is_verified():
        return redirect("two_factor_verify")
    key_hex = request.session.get(PENDING_KEY_SESSION_KEY)
    if key_hex is None:
        key_hex = request.session[PENDING_KEY_SESSION_KEY] = random_hex(20)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = services.two_factor_enrol(user=request.user, key_hex=key_hex,
                                                      token=form.cleaned_data["token"])
        except ValidationError as exc:
            form.add_error("token", exc)
        else:
            del request.session[PENDING_KEY_SESSION_KEY]
            otp_login(request, device)
            request.session[REQUIRED_SESSION_KEY] = True
            request.session[RECOVERY_CODES_SESSION_KEY] = codes
            query = urlencode({"next": _next_url(request)})
            return redirect(f"{reverse('two_factor_recovery_codes')}?{query}")
    device = unsaved_totp_device(user=request.user, key_hex=key_hex)
    return render(request, "accounts/two_factor_setup.html", {
        "form": form, "qr_svg": qr_code_svg(device.config_url),
        "secret": totp_secret_base32(device), "next": _next_url(request),
    })


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    if not user_has_device(request.user):
        return redirect("two_factor_setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.two_factor_check(user=request.user,
                                               token=form.cleaned_data["token"])
        except ValidationError as exc:
            form.add_error("token", exc)
        else:
            otp_login(request, device)
            return redirect(_next_url(request))
    return render(request, "accounts/two_factor_verify.html",
                  {"form": form, "next": _next_url(request)})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    """Shows freshly made recovery codes once; a verified user may make a new set."""
    if request.method == "POST":
        if not request.user.is_verified():
            return redirect("two_factor_verify")
        codes = services.recovery_codes_regenerate(user=request.user)
    else:
        codes = request.session.pop(RECOVERY_CODES_SESSION_KEY, None)
    has_app = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
    return render(request, "accounts/two_factor_recovery_codes.html", {
        "codes": codes, "has_app": has_app, "next": _next_url(request),
        "can_regenerate": request.user.is_verified(),
    })


class SignInView(auth_views.LoginView):
    """One sign-in page for staff and participants; each lands in their own part."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return post_login_redirect(self.request.user)


class SignOutView(auth_views.LogoutView):
    pass
