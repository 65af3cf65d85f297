"""A logging filter that masks email addresses, phone numbers and the secret tokens of link
paths (calendar feed, invitation, sign-in link, seat-offer link) before a record is written.

Attached to every handler (the security.E002 check insists), so it also covers records that
propagate from third-party loggers. It rewrites the formatted message, the exception text and
the stack text; the record's args are dropped once merged, so no handler can format them again.
"""
import logging
import re

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
TOKEN_MASK = "[token]"

# "@" may arrive percent-encoded (%40) in a logged URL, e.g. runserver's request lines.
# Every repeat is bounded (RFC 5321: a local part of at most 64 characters, labels of at most
# 63), so the work at each position of the text is bounded and the scan is linear: with
# unbounded runs an 8,000-character Host header took seconds, a 60 kB query string a minute.
# A local part longer than 64 (no valid address has one) is masked from its last 64 on.
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]{1,64}(?:@|%40)"
    r"[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}\.[A-Za-z]{2,24}"
)
# E.164 (+15555550123) and the usual US ways of writing a number: (555) 555-0123,
# 555-555-0123, 555.555.0123, 555 555 0123, optionally with a leading 1 or +1. A bare run of
# ten digits is left alone: it is far more often an id or an epoch timestamp than a phone.
_PHONE = re.compile(
    r"(?<![\w+%])(?:"
    r"(?:\+|%2[Bb])[1-9]\d{7,14}"
    r"|(?:\+?1[\s.\-]?)?\(\d{3}\)\s?\d{3}[\s.\-]\d{4}"
    r"|(?:\+?1[\s.\-])?\d{3}[\s.\-]\d{3}[\s.\-]\d{4}"
    r")(?!\w)"
)


# A link path whose last segment is a bearer secret: Django logs "Not Found: <path>" for a
# revoked feed address, and a logged token would let whoever reads the log use it. The URL
# patterns that take a `token` (tests/security/test_log_redaction.py walks them) end here.
_LINK_TOKEN = re.compile(r"(/(?:feed|invitation|sign-in|o)/)[A-Za-z0-9_\-]{1,256}")


# Message-IDs look like addresses but name no one: Django's make_msgid() gives
# <timestamp.pid.random@host>. Logged so a message can be traced at the mail server; nobody's
# address has a local part of three or more dot-separated runs of digits.
_MESSAGE_ID_LOCAL_PART = re.compile(r"\d+(?:\.\d+){2,}")


def _mask_email(match: re.Match) -> str:
    local_part = re.split(r"@|%40", match.group(0), maxsplit=1)[0]
    return match.group(0) if _MESSAGE_ID_LOCAL_PART.fullmatch(local_part) else EMAIL_MASK


def redact_contact_details(text: str) -> str:
    """Return `text` with email addresses, phone numbers and link tokens replaced by
    placeholders.

    Linear in the length of `text`: every pattern it scans with has bounded repeats."""
    text = _LINK_TOKEN.sub(lambda match: match.group(1) + TOKEN_MASK, text)
    return _PHONE.sub(PHONE_MASK, _EMAIL.sub(_mask_email, text))


class RedactContactDetailsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        record.msg = redact_contact_details(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_contact_details(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_contact_details(record.stack_info)
        return True
