"""Sign-in lockout (django-axes) helpers: the username it counts, and whether a user is locked."""
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# django-axes keeps usernames in 255-character columns; the longest username we issue is 150.
AXES_USERNAME_MAX_LENGTH = 255


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username django-axes counts failures for, cut to fit its columns.

    A longer one belongs to no account, so cutting it changes no one's count; without the cut,
    writing the failure raised a database error and the sign-in page answered 500.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    if isinstance(username, str):
        return username[:AXES_USERNAME_MAX_LENGTH]
    return username


def user_is_locked_out(request: HttpRequest, user) -> bool:
    """True while `user`'s username is locked by failed password sign-ins."""
    return not AxesProxyHandler.is_allowed(request, credentials={"username": user.get_username()})


def lockout_response(request: HttpRequest) -> HttpResponse:
    """The page django-axes shows a locked-out password sign-in, for other ways in."""
    return render(request, settings.AXES_LOCKOUT_TEMPLATE,
                  {"cooloff_timedelta": get_cool_off(request)},
                  status=settings.AXES_HTTP_RESPONSE_CODE)
