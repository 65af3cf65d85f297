"""Sends Cache-Control: no-store on every response to a signed-in user that sets none itself."""
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class NoStoreWhenSignedInMiddleware:
    """A signed-in page may show health information; no browser or proxy cache may keep it.

    Pages that choose their own Cache-Control (never_cache, the calendar feed) keep it; static
    files never reach here (WhiteNoise answers them further up).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response
