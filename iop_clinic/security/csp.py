"""django-csp's middleware with the policy text built once a process instead of on every
response.

csp.middleware.CSPMiddleware turns settings.CONTENT_SECURITY_POLICY into the header's text on
every response (about 50-70 µs: copying, sorting and joining each directive) although only the
nonce differs from one response to the next. Here the text is built once with a marker where
the nonce goes, and each response gets it with its own nonce: the same header, byte for byte
(tests/security/test_csp_cache.py). A response that a view gave its own policy
(@csp_update, @csp_replace, @csp, or their report-only forms) goes through django-csp as
before; so do the exemptions (@csp_exempt, EXCLUDE_URL_PREFIXES, a header already set). Only
text built from settings is kept; a test that changes the settings gets it built again.
"""
from __future__ import annotations

from functools import cache

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# Stands for the nonce in the cached text; it can't occur in a policy built from settings.
_NONCE_MARK = "\x00csp-nonce\x00"
# Where a view's decorators leave a policy of its own for one response.
_OWN_POLICY = ("_csp_config", "_csp_update", "_csp_replace",
               "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")


@cache
def _policy_text(*, report_only: bool) -> tuple[str, str]:
    """The policy built from settings: (with the nonce's marker, without a nonce)."""
    return (build_policy(nonce=_NONCE_MARK, report_only=report_only),
            build_policy(nonce=None, report_only=report_only))


@receiver(setting_changed)
def _forget_policy(*, setting, **kwargs) -> None:
    if setting in {"CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY"}:
        _policy_text.cache_clear()


class CachedPolicyCSPMiddleware(CSPMiddleware):
    def process_response(self, request, response):
        if any(hasattr(response, name) for name in _OWN_POLICY):
            return super().process_response(request, response)
        # From here on as CSPMiddleware.process_response, the policy's text aside.
        if response.status_code in (500, 404) and settings.DEBUG:
            return response
        nonce = getattr(request, "_csp_nonce", None)
        for header, report_only, exempt, setting in (
                (HEADER, False, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
                (HEADER_REPORT_ONLY, True, "_csp_exempt_ro",
                 "CONTENT_SECURITY_POLICY_REPORT_ONLY")):
            with_nonce, without_nonce = _policy_text(report_only=report_only)
            text = with_nonce.replace(_NONCE_MARK, nonce) if nonce else without_nonce
            if not text or header in response or getattr(response, exempt, False) is not False:
                continue
            policy = getattr(settings, setting, None) or {}
            if not request.path_info.startswith(tuple(policy.get("EXCLUDE_URL_PREFIXES", None)
                                                      or ())):
                response[header] = text
        if nonce is None:  # a nonce asked for from now on would not be in the header
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
