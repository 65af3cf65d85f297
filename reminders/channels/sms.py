"""SMS backends, chosen by the SMS_BACKEND setting the way EMAIL_BACKEND chooses Django's.

    backend = get_sms_backend()
    provider_id = backend.send(SmsMessage(to="+15555550123", body="...", sender=""))

ConsoleBackend prints (development), FileBackend writes one file per message (tests that span
processes), InMemoryBackend appends to `outbox` (the test suite), HttpBackend talks to a
Twilio-style messages API (production). Logs carry provider ids and status codes only.
"""
from __future__ import annotations

import json
import logging
import math
import os
import sys
import threading
import time
import unicodedata
import uuid
from pathlib import Path
from typing import Any, TextIO

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

from .base import PermanentChannelError, SmsMessage, TransientChannelError

logger = logging.getLogger(__name__)

# Messages "sent" through InMemoryBackend, oldest first. Like django.core.mail.outbox, but the
# list is only ever cleared in place, so `from reminders.channels.sms import outbox` stays valid.
outbox: list[SmsMessage] = []


def get_sms_backend(backend: str | None = None, **kwargs: Any) -> BaseSmsBackend:
    """An instance of the configured backend (or of the dotted path given)."""
    klass = import_string(backend or settings.SMS_BACKEND)
    return klass(**kwargs)


def _local_message_id() -> str:
    # Shaped like a provider's message sid so code and admin pages treat every backend alike.
    return f"SM{uuid.uuid4().hex}"


class BaseSmsBackend:
    def __init__(self, **kwargs: Any) -> None:
        pass

    def send(self, message: SmsMessage) -> str:
        """Hand the message to the provider and return its message id, or raise a ChannelError."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; a backend may be reused for many messages before this."""

    def __enter__(self) -> BaseSmsBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ConsoleBackend(BaseSmsBackend):
    """Development only: prints each message, number and text included, to stdout."""

    def __init__(self, *, stream: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def send(self, message: SmsMessage) -> str:
        message_id = _local_message_id()
        with self._lock:
            self.stream.write(
                f"SMS {message_id} from {message.sender or settings.SMS_FROM_NUMBER or '-'} "
                f"to {message.to}\n{message.body}\n{'-' * 79}\n"
            )
            self.stream.flush()
        return message_id


class InMemoryBackend(BaseSmsBackend):
    """Keeps messages in `reminders.channels.sms.outbox` for tests in the same process."""

    def send(self, message: SmsMessage) -> str:
        outbox.append(message)
        return _local_message_id()


class FileBackend(BaseSmsBackend):
    """Writes one JSON file per message into SMS_FILE_PATH.

    Each file is written under a temporary name and renamed into place, so another process
    reading the folder (a test watching a Celery worker) never sees half a message.
    """

    def __init__(self, *, file_path: str | os.PathLike | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.file_path = Path(file_path or settings.SMS_FILE_PATH)

    def send(self, message: SmsMessage) -> str:
        if settings.SMS_FILE_LATENCY_MS:
            time.sleep(settings.SMS_FILE_LATENCY_MS / 1000)  # the provider's round trip
        self.file_path.mkdir(parents=True, exist_ok=True)
        message_id = _local_message_id()
        record = {
            "id": message_id,
            "to": message.to,
            "from": message.sender or settings.SMS_FROM_NUMBER,
            "body": message.body,
            "created_at": timezone.now().isoformat(),
        }
        # A sortable name: nanoseconds first, so a directory listing reads in sending order.
        final = self.file_path / f"{time.time_ns():020d}-{message_id}.json"
        temporary = self.file_path / f".{message_id}.tmp"
        # 0600: these files hold phone numbers and message text.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        os.replace(temporary, final)
        return message_id


def file_outbox(file_path: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """The messages FileBackend has written, oldest first, as dicts (id, to, from, body)."""
    folder = Path(file_path or settings.SMS_FILE_PATH)
    if not folder.is_dir():
        return []
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]


# Provider error codes that no retry can fix (Twilio's numbering), as short reason codes.
PERMANENT_PROVIDER_CODES = {
    21211: "invalid_number",
    21614: "not_a_mobile_number",
    21610: "opted_out",
    21612: "unreachable_number",
    21408: "region_not_enabled",
}


class HttpBackend(BaseSmsBackend):
    """A Twilio-style REST API: POST {base}/Accounts/{sid}/Messages.json, HTTP basic auth."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        account_sid: str | None = None,
        auth_token: str | None = None,
        from_number: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.base_url = (settings.SMS_API_BASE_URL if base_url is None else base_url).rstrip("/")
        self.account_sid = settings.SMS_ACCOUNT_SID if account_sid is None else account_sid
        self.auth_token = settings.SMS_AUTH_TOKEN if auth_token is None else auth_token
        self.from_number = settings.SMS_FROM_NUMBER if from_number is None else from_number
        self.timeout = settings.SMS_HTTP_TIMEOUT if timeout is None else timeout
        missing = [name for name, value in [
            ("SMS_API_BASE_URL", self.base_url), ("SMS_ACCOUNT_SID", self.account_sid),
            ("SMS_AUTH_TOKEN", self.auth_token), ("SMS_FROM_NUMBER", self.from_number),
        ] if not value]
        if missing:
            raise ImproperlyConfigured(f"The SMS HttpBackend needs {', '.join(missing)}.")
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/Accounts/{self.account_sid}/Messages.json"

    def send(self, message: SmsMessage) -> str:
        try:
            response = self._session.post(
                self.messages_url,
                data={"To": message.to, "From": message.sender or self.from_number,
                      "Body": message.body},
                auth=(self.account_sid, self.auth_token),
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise self._transient("timeout") from None
        except requests.ConnectionError:
            raise self._transient("connection_failed") from None
        except requests.RequestException:
            raise self._transient("request_failed") from None
        return self._message_id_from(response)

    def _message_id_from(self, response: requests.Response) -> str:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            payload = {}
        if 200 <= status < 300:
            sid = payload.get("sid")
            if not isinstance(sid, str) or not sid:
                # The provider may have queued the message; a retry could send it twice.
                logger.error("sms http: %s response without a message sid", status)
                raise PermanentChannelError("unreadable_provider_response")
            logger.info("sms http: accepted sid=%s status=%s", sid, payload.get("status", "?"))
            return sid
        if status == 429:
            raise self._transient("rate_limited", retry_after=_retry_after(response))
        if status >= 500:
            raise self._transient(f"http_{status}", retry_after=_retry_after(response))
        if status in (401, 403):
            # Wrong credentials are an operator's mistake, not the participant's: keep the
            # reminder retryable so it still goes out once the token is fixed.
            logger.error("sms http: provider refused our credentials (%s)", status)
            raise TransientChannelError("provider_auth_failed")
        if 400 <= status < 500:
            code = payload.get("code")
            if isinstance(code, int) and not isinstance(code, bool):
                reason = PERMANENT_PROVIDER_CODES.get(code, f"provider_code_{code}")
            else:
                reason = f"http_{status}"
            logger.warning("sms http: rejected, reason=%s", reason)
            raise PermanentChannelError(reason)
        raise self._transient(f"http_{status}")

    @staticmethod
    def _transient(reason: str, *, retry_after: float | None = None) -> TransientChannelError:
        logger.warning("sms http: temporary failure, reason=%s", reason)
        return TransientChannelError(reason, retry_after=retry_after)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date, or nonsense: let the caller's own backoff decide
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


# --- Segment arithmetic ------------------------------------------------------------------
# GSM 03.38: one 160-character segment holds only these characters; anything else switches the
# whole message to UCS-2 with 70 characters a segment (and each segment costs money).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")  # two septets each (escape + character)
GSM7 = GSM7_BASIC | GSM7_EXTENDED


def is_gsm7(text: str) -> bool:
    # A set's issuperset walks the string in C: delivery asks this of every message it sends.
    return GSM7.issuperset(text)


def _gsm7_units(text: str) -> int:
    """Septets of a text known to be GSM-7."""
    if GSM7_EXTENDED.isdisjoint(text):
        return len(text)
    return len(text) + sum(1 for ch in text if ch in GSM7_EXTENDED)


def gsm7_length(text: str) -> int:
    """Septets needed; raises ValueError for text outside GSM-7 (it would need UCS-2)."""
    if not is_gsm7(text):
        raise ValueError("not GSM-7")
    return _gsm7_units(text)


# Characters one segment holds, alone and as part of a longer (concatenated) message, whose
# header takes 7 septets (GSM-7) or 3 UTF-16 units (UCS-2) of every part.
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def _units(ch: str, gsm7: bool) -> int:
    if gsm7:
        return 2 if ch in GSM7_EXTENDED else 1
    return len(ch.encode("utf-16-le")) // 2  # 2 for a character outside the BMP (an emoji)


def sms_parts(text: str) -> list[str]:
    """The text as the network splits it: one part if it fits a single segment, else parts of
    at most 153 septets (GSM-7) or 67 UTF-16 units (UCS-2, as soon as one character is outside
    GSM-7). A two-septet GSM-7 character or a UTF-16 surrogate pair is never split."""
    gsm7 = is_gsm7(text)
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm7 else (UCS2_SINGLE, UCS2_PART)
    units = _gsm7_units(text) if gsm7 else len(text.encode("utf-16-le")) // 2
    if units <= single:
        return [text]
    parts, current, used = [], [], 0
    for ch in text:
        units = _units(ch, gsm7)
        if used + units > part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += units
    parts.append("".join(current))
    return parts


def sms_segments(text: str) -> int:
    """How many segments the text is billed and delivered as."""
    return len(sms_parts(text))


# Typographic characters that sneak into names and have a plain GSM-7 twin.
_GSM7_LOOKALIKES = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                    "\u2014": "-", "\u2026": "...", "\u00a0": " "}


def to_gsm7(text: str) -> str:
    """The text with each non-GSM-7 character replaced by its nearest GSM-7 spelling.

    For names we put into messages (a site alias): one curly apostrophe would otherwise turn
    the whole message into UCS-2 and split it into several segments.
    """
    if is_gsm7(text):
        return text  # nearly always: nothing to replace
    out = []
    for ch in text:
        ch = _GSM7_LOOKALIKES.get(ch, ch)
        if is_gsm7(ch):
            out.append(ch)
        else:
            # Accents dropped, but GSM-7's own letters kept: "Ǽ" becomes "Æ", not "?".
            plain = "".join(c for c in unicodedata.normalize("NFKD", ch)
                            if not unicodedata.combining(c))
            out.append(plain if plain and is_gsm7(plain) else "?")
    return "".join(out)
