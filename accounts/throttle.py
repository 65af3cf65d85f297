"""How often anyone may ask for an emailed sign-in link: a few an hour per address and client."""
import logging

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600


def _key(kind: str, value: str) -> str:
    # Keyed digests: the cache never holds an address or a client's IP address.
    digest = salted_hmac(f"portal.sign-in-link.{kind}", value).hexdigest()
    return f"portal:sign-in-link:{kind}:{digest}"


def _count(key: str) -> int:
    """This request's number in the key's hour (a fixed window from its first request)."""
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        return 1


def sign_in_link_allowed(*, address: str, client: str) -> bool:
    """Count a request for a link to `address` from `client`; True while both are under their
    hourly limits (PORTAL_SIGN_IN_LINKS_PER_ADDRESS_HOUR, ..._PER_CLIENT_HOUR).

    Both are counted whether or not the address is anyone's, so the limit itself says nothing.
    With the cache down nothing is sent: the answer is the same, and mail-bombing stays shut.
    """
    try:
        per_address = _count(_key("address", address.lower()))
        per_client = _count(_key("client", client))
    except Exception:
        logger.exception("sign-in link throttle unavailable; nothing sent")
        return False
    return (per_address <= settings.PORTAL_SIGN_IN_LINKS_PER_ADDRESS_HOUR
            and per_client <= settings.PORTAL_SIGN_IN_LINKS_PER_CLIENT_HOUR)
