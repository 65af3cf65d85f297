"""Email through Django's email framework, with failures sorted into "retry" and "give up".

Which server is used is Django's business (EMAIL_BACKEND / EMAIL_URL): SMTP in production,
the console on a laptop, locmem in tests. This module only builds a neutral message and
translates SMTP outcomes into the channel errors the reminder sender understands.
"""
import functools
import logging
import smtplib
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email

from .base import ChannelError, PermanentChannelError, TransientChannelError

logger = logging.getLogger(__name__)


def message_id_key(message_id: str) -> str:
    """The unique part of a Message-ID ("<key@domain>"), for logs; search SMTP logs with it."""
    return message_id.strip().strip("<>").partition("@")[0]


@functools.lru_cache(maxsize=8)
def _sending_address(default_from_email: str) -> tuple[str, str | None]:
    """The address of DEFAULT_FROM_EMAIL and its domain (for Message-IDs), keyed by the
    setting's value. Parsed once: parseaddr was a fifth of building each reminder's email."""
    address = parseaddr(default_from_email)[1]
    return address, address.rpartition("@")[2] or None


def send_email_message(
    *, to: str, subject: str, body: str, sender_name: str, html_body: str | None = None
) -> str:
    """Send one email from "sender_name <DEFAULT_FROM_EMAIL>" and return its Message-ID.

    `sender_name` must already be neutral (a site's public alias): it is what the recipient,
    and anyone glancing at their inbox, sees.
    """
    try:
        validate_email(to)
    except ValidationError:
        raise PermanentChannelError("invalid_address") from None
    from_address, domain = _sending_address(settings.DEFAULT_FROM_EMAIL)
    # Collapsing whitespace keeps a stray newline in a site alias from breaking the header.
    from_header = formataddr((" ".join(sender_name.split()), from_address))
    message_id = make_msgid(domain=domain)
    message = EmailMultiAlternatives(
        subject=subject, body=body, from_email=from_header, to=[to],
        headers={"Message-ID": message_id},
    )
    if html_body is not None:
        message.attach_alternative(html_body, "text/html")
    try:
        sent = message.send(fail_silently=False)
    except ValueError:
        # Django's BadHeaderError: a newline in the subject. Sending it again will not help.
        raise PermanentChannelError("invalid_header") from None
    except (smtplib.SMTPException, OSError) as exc:
        error = classify_smtp_error(exc)
        logger.warning("email: not sent, reason=%s (%s)", error.reason,
                       "will retry" if isinstance(error, TransientChannelError) else "permanent")
        raise error from None
    if not sent:
        raise TransientChannelError("not_sent")
    # Only the Message-ID's unique left part: the right part is our own sending domain, and the
    # whole "<id@domain>" looks like an email address, which the log-redaction filter masks. The
    # filter is right not to spare angle-bracketed addresses ("Name <person@example.com>").
    logger.info("email: sent message_id=%s", message_id_key(message_id))
    return message_id


def classify_smtp_error(exc: BaseException) -> ChannelError:
    """Map an smtplib/socket failure to a channel error with a short reason code.

    Only the recipient's own server saying no for good (5xx to RCPT or DATA) is permanent.
    A 5xx to our greeting, login or sender address is our configuration's fault: retrying
    after an operator fixes it should still deliver the reminder.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentChannelError(f"recipient_refused_{max(codes)}")
        return TransientChannelError(f"recipient_deferred_{min(codes) if codes else 0}")
    if isinstance(exc, smtplib.SMTPDataError):
        if 500 <= exc.smtp_code < 600:
            return PermanentChannelError(f"rejected_{exc.smtp_code}")
        return TransientChannelError(f"deferred_{exc.smtp_code}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        logger.error("email: the SMTP server refused our login")
        return TransientChannelError("smtp_auth_failed")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        logger.error("email: the SMTP server refused our sender address")
        return TransientChannelError(f"sender_refused_{exc.smtp_code}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return TransientChannelError(f"smtp_{exc.smtp_code}")
    if isinstance(exc, smtplib.SMTPException):
        return TransientChannelError("smtp_error")
    if isinstance(exc, TimeoutError):
        return TransientChannelError("timeout")
    return TransientChannelError("connection_failed")
