"""Refuses, with 400, any request whose query string or form fields hold a NUL byte."""
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

NUL = "\x00"


def _has_nul(data) -> bool:
    return any(NUL in key or any(NUL in value for value in values)
               for key, values in data.lists())


class RejectNulBytesMiddleware:
    """No field of ours can hold a NUL, and PostgreSQL refuses one in any text it is sent, so a
    NUL that reached a filter or a form raised a 500; stop it at the door for every page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # request.POST holds only form-encoded and multipart fields; other bodies stay unread.
        if _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST)):
            return HttpResponseBadRequest("Bad request.", content_type="text/plain")
        return self.get_response(request)
