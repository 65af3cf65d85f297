"""Stand-in until the channels branch merges: email through Django's configured backend."""
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid

from .base import PermanentChannelError, TransientChannelError


def send_email_message(*, to: str, subject: str, body: str, sender_name: str) -> str:
    message_id = make_msgid(domain="reminders.invalid")
    message = EmailMessage(
        subject=subject, body=body, from_email=f"{sender_name} <{settings.DEFAULT_FROM_EMAIL}>",
        to=[to], headers={"Message-ID": message_id},
    )
    try:
        message.send()
    except OSError as exc:
        raise TransientChannelError("smtp_unavailable") from exc
    except ValueError as exc:
        raise PermanentChannelError("invalid_address") from exc
    return message_id
