"""Webhooks our SMS provider calls. Each request must carry the provider's signature.

The signature is Twilio's scheme: base64(HMAC-SHA1(auth token, full URL + every POST field
name and value, sorted by name)), in the X-Twilio-Signature header. No signature, no effect:
anyone on the internet can reach this URL, and an unsigned STOP for a stranger's number must
not change their consent.
"""
import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, QueryDict
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from reminders.inbound import sms_inbound_receive

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
# We reply through the SMS backend, not in TwiML, so every reply is sent and logged the same way.
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def compute_signature(*, url: str, params: QueryDict, auth_token: str) -> str:
    payload = url + "".join(
        name + value for name in sorted(params) for value in sorted(set(params.getlist(name)))
    )
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> Iterable[str]:
    """The URL as given, without its port, and with the scheme's default port.

    The provider signs the URL as configured in its console; proxies and load balancers add
    or drop ":443" on the way, so like Twilio's own validator we accept either spelling.
    """
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    yield url
    yield urlunsplit(parts._replace(netloc=prefix + host))
    if default_port:
        yield urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default_port}"))


def signed_url(request: HttpRequest) -> str:
    base = settings.SMS_WEBHOOK_BASE_URL
    if base:
        return base.rstrip("/") + request.get_full_path()
    return request.build_absolute_uri()


def signature_is_valid(request: HttpRequest) -> bool:
    token = settings.SMS_AUTH_TOKEN
    if not token:
        logger.error("sms webhook: SMS_AUTH_TOKEN is not set, so no request can be verified")
        return False
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not given:
        return False
    matches = [
        hmac.compare_digest(
            compute_signature(url=url, params=request.POST, auth_token=token).encode(),
            given.encode(),
        )
        for url in _url_variants(signed_url(request))
    ]
    return any(matches)


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """A participant texted our number: act on STOP/START/HELP keywords, ignore the rest."""
    if not signature_is_valid(request):
        logger.warning("sms webhook: refused a request without a valid signature")
        return HttpResponseForbidden()
    outcome = sms_inbound_receive(
        from_number=request.POST.get("From", ""),
        to_number=request.POST.get("To", ""),
        text=request.POST.get("Body", ""),
    )
    logger.info(
        "sms webhook: message_sid=%s keyword=%s known_number=%s reply_sid=%s",
        request.POST.get("MessageSid", "-")[:64], outcome.keyword.value,
        "yes" if outcome.participant_ids or outcome.contact_ids else "no",
        outcome.reply_id or "-",
    )
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
