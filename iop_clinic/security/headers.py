"""Security headers that name no domain model: Permissions-Policy from settings."""
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import cached_property


class PermissionsPolicyMiddleware:
    """Sends Permissions-Policy from settings.PERMISSIONS_POLICY (feature -> allowed origins)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def header_value(self) -> str:
        def allowlist(origins: list[str]) -> str:
            return "(" + " ".join(
                origin if origin in ("self", "*") else f'"{origin}"' for origin in origins
            ) + ")"

        return ", ".join(f"{feature}={allowlist(origins)}"
                         for feature, origins in settings.PERMISSIONS_POLICY.items())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.header_value)
        return response
