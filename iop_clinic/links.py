"""Absolute links for messages and feeds: the one public base URL (`PUBLIC_BASE_URL`) + a path."""
from django.conf import settings


def public_url(path: str) -> str:
    """`path` (from `reverse`) as an absolute URL on the clinic's public address.

    Never built from the request's Host header: a link in an email must point at the clinic
    whoever asked for it, and whichever host or port the request came in on.
    """
    return settings.PUBLIC_BASE_URL.rstrip("/") + "/" + path.lstrip("/")
