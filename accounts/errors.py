"""Error pages (400, 403, 404, 500) in the layout of whoever asks, each with a way back."""
import logging

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .access import is_portal_user, is_staff_member

logger = logging.getLogger(__name__)

PAGES = {
    400: (_("Bad request"), _("The page could not understand what was sent. Please try again.")),
    403: (_("Not allowed"), _("Your account does not give access to this page.")),
    404: (_("Page not found"), _("There is nothing at this address.")),
    500: (_("Something went wrong"),
          _("The page could not be shown. The problem has been logged; please try again in a "
            "moment.")),
}


def _face(request: HttpRequest) -> str:
    """"portal" for participants (and any /portal/ address), "staff" for staff, else "visitor"."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        if is_portal_user(user):
            return "portal"
        if is_staff_member(user):
            return "staff"
    return "portal" if request.path.startswith("/portal/") else "visitor"


def _language(request: HttpRequest, face: str) -> str:
    """A signed-in participant's own language (the reverse one-to-one is already loaded by
    is_portal_user); otherwise what the language middleware chose for this address."""
    if face == "portal" and is_portal_user(request.user):
        return request.user.participant.language
    return translation.get_language()


def error_page(request: HttpRequest, status: int) -> HttpResponse:
    face = _face(request)
    with translation.override(_language(request, face)):
        return _error_page(request, status, face)


def _error_page(request: HttpRequest, status: int, face: str) -> HttpResponse:
    title, message = PAGES[status]
    context = {"status": status, "title": title, "message": message, "face": face}
    try:
        html = render_to_string(f"errors/{face}.html", context, request=request)
    except Exception:  # an error page must never fail: fall back to the plainest one
        logger.exception("error page %s could not be rendered", status)
        html = render_to_string("errors/plain.html", context)
    return HttpResponse(html, status=status)


def bad_request(request, exception=None):
    return error_page(request, 400)


def permission_denied(request, exception=None):
    return error_page(request, 403)


def page_not_found(request, exception=None):
    return error_page(request, 404)


def server_error(request):
    try:
        return error_page(request, 500)
    except Exception:
        return HttpResponseServerError(render_to_string("errors/plain.html", {
            "status": 500, "title": PAGES[500][0], "message": PAGES[500][1]}))
