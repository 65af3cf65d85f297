"""Request middleware of accounts: the verified device, automatic log-off and the two-factor
gate."""
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.contrib.auth import logout
from django.db import connections, router
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import LazyObject, cached_property, empty
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device

from accounts.access import is_portal_user
from accounts.backends import legacy_backend_session
from accounts.twofactor import two_factor_required
from iop_clinic.compiled import compile_once

# Session keys. Epoch seconds keep the JSON session serializer happy.
LOGIN_AT = "security.login_at"
LAST_SEEN = "security.last_seen"
USER_KIND = "security.user_kind"
STAFF, PARTICIPANT = "staff", "participant"

# Writing the session on every request would cost a write per page; a minute of slack in the
# idle clock is harmless next to a 30-minute limit.
LAST_SEEN_WRITE_INTERVAL = timedelta(seconds=60)


def user_kind(user) -> str:
    return PARTICIPANT if is_portal_user(user) else STAFF


def mark_session_started(request: HttpRequest, user) -> None:
    """Start the log-off clocks; called when a user logs in."""
    now = int(timezone.now().timestamp())
    request.session[LOGIN_AT] = now
    request.session[LAST_SEEN] = now
    request.session[USER_KIND] = user_kind(user)


def expiry_reason(session, *, now: datetime) -> str | None:
    """Why this session must end now ("idle" or "absolute"), or None while it may go on."""
    login_at, last_seen = session.get(LOGIN_AT), session.get(LAST_SEEN)
    if login_at is None or last_seen is None:
        return None
    now_ts = now.timestamp()
    if session.get(USER_KIND) == PARTICIPANT:
        idle = timedelta(minutes=settings.PARTICIPANT_IDLE_TIMEOUT_MINUTES)
        absolute = timedelta(hours=settings.PARTICIPANT_ABSOLUTE_TIMEOUT_HOURS)
    else:
        idle = timedelta(minutes=settings.STAFF_IDLE_TIMEOUT_MINUTES)
        absolute = timedelta(hours=settings.STAFF_ABSOLUTE_TIMEOUT_HOURS)
    if now_ts - last_seen >= idle.total_seconds():
        return "idle"
    if now_ts - login_at >= absolute.total_seconds():
        return "absolute"
    return None


def redirect_to_login(request: HttpRequest) -> HttpResponse:
    url = resolve_url(settings.LOGIN_URL)
    target = request.get_full_path() if request.method == "GET" else "/"
    url = f"{url}?{urlencode({'next': target})}"
    if request.headers.get("HX-Request"):
        # htmx would swap the login page into a fragment; ask it to load the page instead.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


# The device id the device query is compiled with, replaced by the real one when it runs.
_ANY_DEVICE = -1


@cache
def _device_statement(alias: str, vendor: str, model: type[Device]):
    """`model.objects.filter(id=...).first()` as django-otp's Device.from_persistent_id runs it,
    compiled once a process (iop_clinic.compiled)."""
    compiler = model.objects.using(alias).filter(id=_ANY_DEVICE).order_by("pk")[:1].query \
        .get_compiler(using=alias)
    return compile_once(compiler, {_ANY_DEVICE: "device"}, what="verified device", model=model)


def device_from_persistent_id(persistent_id: str) -> Device | None:
    """What `Device.from_persistent_id(persistent_id)` returns: the device, read from the
    database now (a deleted device is None), or None for an id that names no device model."""
    try:
        model_label, device_id = persistent_id.rsplit("/", 1)
        app_label, model_name = model_label.split(".")
        model = apps.get_model(app_label, model_name)
        device_id = int(device_id)
    except (ValueError, LookupError):
        return None
    if not issubclass(model, Device):
        return None
    alias = router.db_for_read(model)
    found = _device_statement(alias, connections[alias].vendor, model).objects(
        {"device": device_id}, limit=1)
    return found[0] if found else None


class VerifiedDeviceMiddleware(OTPMiddleware):
    """django-otp's middleware (`request.user.otp_device`, `user.is_verified()`), with the
    session's device read through a statement compiled once a process: compiling the ORM's
    query cost more CPU than running it, on every page of everyone who has verified a second
    factor. The device is still read from the database on each request, when the user is first
    read, and django-otp still drops it unless it belongs to this user and is confirmed: a
    device deleted or unconfirmed (in the admin, or by resetting two-factor) stops counting at
    that user's next request, which the two-factor gate then sends to verify again."""

    def _device_from_persistent_id(self, persistent_id: str):
        return device_from_persistent_id(self._normalize_persistent_id(persistent_id))


def read_user(user):
    """The user object itself behind request.user's lazy stand-ins (Django's and django-otp's,
    one inside the other), reading it now as the first attribute read would. Each later read
    of request.user (a page reads it a few hundred times: roles, menus, the access checks) then
    skips two proxies; the object is the same one, read for this request."""
    while isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    return user


class SessionTimeoutMiddleware:
    """Automatic log-off: staff after STAFF_IDLE_TIMEOUT_MINUTES idle or
    STAFF_ABSOLUTE_TIMEOUT_HOURS after login; participants after PARTICIPANT_IDLE_TIMEOUT_MINUTES
    idle or PARTICIPANT_ABSOLUTE_TIMEOUT_HOURS after login. The request that arrives after the
    limit logs out and goes to the login page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Before anything reads request.user (this is where it is first read): a session from
        # before accounts.backends.UserBackend names Django's backend, which is no longer listed.
        legacy_backend_session(request.session)
        request.user = read_user(request.user)
        if request.user.is_authenticated:
            now = timezone.now()
            session = request.session
            if LOGIN_AT not in session:
                # A session from before this middleware existed: start its clocks now.
                mark_session_started(request, request.user)
            elif expiry_reason(session, now=now):
                logout(request)
                return redirect_to_login(request)
            elif now.timestamp() - session[LAST_SEEN] >= LAST_SEEN_WRITE_INTERVAL.total_seconds():
                session[LAST_SEEN] = int(now.timestamp())
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """Sends a user who must use a second factor, and has not in this session, to verify it
    (or to set it up when they have no device yet) before any other page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def exempt_paths(self) -> tuple[str, ...]:
        return (
            reverse("two_factor_setup"), reverse("two_factor_verify"),
            reverse("two_factor_recovery_codes"), resolve_url(settings.LOGIN_URL),
            reverse("logout"), reverse("admin:login"), reverse("admin:logout"), "/healthz",
            "/" + settings.STATIC_URL.lstrip("/"),
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (user.is_authenticated and not user.is_verified()
                and not request.path.startswith(self.exempt_paths)
                and two_factor_required(request)):
            from django_otp import user_has_device

            name = "two_factor_verify" if user_has_device(user) else "two_factor_setup"
            return HttpResponseRedirect(
                f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}"
            )
        return self.get_response(request)
