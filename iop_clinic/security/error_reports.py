"""Optional error reports to Sentry, switched on by SENTRY_DSN alone, carrying no personal data.

Two layers, because a regular expression cannot recognise a name:
1. What could name someone is never collected: no user, cookies or client address
   (send_default_pii=False), no request bodies (intake forms carry names), no local variables of
   stack frames (a participant object prints as its name), no query strings or Referer (a search
   for a name), no tracing. `scrub_event` removes these again, should an integration add them.
2. Every string left in the event (exception messages, log breadcrumbs, URLs) passes through the
   logs' own redaction (iop_clinic/security/logging.py: email addresses and phone numbers).
A name written by our own code into an exception message would still pass, as it would into a
log line; the project's rule is that neither ever carries one.
"""
from typing import Any

from .logging import redact_contact_details

# Headers that say nothing about who asked; all others (Cookie, Authorization, Referer,
# X-Forwarded-For, ...) are dropped.
_SAFE_HEADERS = frozenset({"accept", "accept-language", "content-length", "content-type", "host",
                           "user-agent", "x-forwarded-proto"})
_REQUEST_KEYS_DROPPED = ("data", "cookies", "query_string", "env")


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_contact_details(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value


def _frames(event: dict) -> list[dict]:
    frames = []
    for holder in ("exception", "threads"):
        for value in (event.get(holder) or {}).get("values") or []:
            frames.extend((value.get("stacktrace") or {}).get("frames") or [])
    return frames


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry's before_send: the event without personal data (see the module's docstring)."""
    event.pop("user", None)
    request = event.get("request")
    if isinstance(request, dict):
        for key in _REQUEST_KEYS_DROPPED:
            request.pop(key, None)
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {name: value for name, value in headers.items()
                                  if name.lower() in _SAFE_HEADERS}
    for frame in _frames(event):
        frame.pop("vars", None)
    for crumb in (event.get("breadcrumbs") or {}).get("values") or []:
        crumb.pop("data", None)  # SQL parameters, HTTP query strings of outgoing calls
    return _redacted(event)


def error_reports_options(*, dsn: str, environment: str) -> dict:
    """The arguments of sentry_sdk.init (a function of its own so tests can add a transport)."""
    return {
        "dsn": dsn,
        "environment": environment,
        # sentry-sdk 2.75 marks send_default_pii deprecated in favour of data_collection but
        # still honours it (and then adds its own key denylist scrubber as well); scrub_event
        # removes the same data whichever option a later SDK reads.
        "send_default_pii": False,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "traces_sample_rate": 0.0,
        "before_send": scrub_event,
    }


def error_reports_start(*, dsn: str, environment: str) -> None:
    import sentry_sdk

    sentry_sdk.init(**error_reports_options(dsn=dsn, environment=environment))
