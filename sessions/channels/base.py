"""Stand-in until the channels branch merges: the message shape and the two kinds of failure."""
from dataclasses import dataclass, field


class ChannelError(Exception):
    """A message was not delivered. `reason` is a short code without PII."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class TransientChannelError(ChannelError):
    """Trying again later may succeed."""


class PermanentChannelError(ChannelError):
    """Trying again will fail the same way."""


@dataclass(frozen=True)
class SmsMessage:
    to: str = field(repr=False)
    body: str = field(repr=False)
    sender: str = ""
