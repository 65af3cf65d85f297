"""What every delivery channel shares: the message shape and the two kinds of failure.

A caller only needs to know whether trying again later can help. Reasons are short codes
("invalid_number", "http_503"), never provider text: providers echo phone numbers and
addresses in their error messages, and these reasons end up in logs and on reminder rows.
"""
from dataclasses import dataclass, field


class ChannelError(Exception):
    """A message was not delivered to the provider. `reason` is a short code without PII."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        # Seconds the provider asked us to wait (HTTP Retry-After), when it said so.
        self.retry_after = retry_after


class TransientChannelError(ChannelError):
    """Trying again later may succeed: timeouts, refused connections, 429, 5xx, SMTP 4xx."""


class PermanentChannelError(ChannelError):
    """Trying again will fail the same way: invalid or opted-out number, hard bounce."""


@dataclass(frozen=True)
class SmsMessage:
    """One text message.

    `sender` is the number (or provider sender id) the message comes from; leave it blank for
    the configured SMS_FROM_NUMBER. Replies to an inbound text use the number it was sent to.
    The recipient and body are left out of repr() so a message in a log line or a traceback
    does not disclose who is being contacted or what about.
    """

    to: str = field(repr=False)
    body: str = field(repr=False)
    sender: str = ""
