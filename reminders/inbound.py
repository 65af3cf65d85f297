"""Inbound text messages: the opt-out, opt-in and help keywords carriers require us to honour.

An opt-out takes effect at once for every participant with that number, then one neutral
confirmation goes out through the SMS backend (so it is sent and logged like any other message).
Texts from numbers we don't know, and texts that are not keywords, get no reply at all: a
reply would tell a stranger which clinic that number belongs to.
"""
import enum
import logging
import re
from dataclasses import dataclass

from django.db import transaction

from participants.models import ConsentChannel, ConsentSource, Participant
from participants.services import consent_give, consent_revoke
from programs.models import Site

from reminders.channels import ChannelError, SmsMessage, get_sms_backend
from reminders.channels.sms import to_gsm7
from reminders.replan import reminders_replan_on_commit

logger = logging.getLogger(__name__)


class Keyword(enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    NONE = "none"


OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "QUIT", "END", "CANCEL", "UNSUBSCRIBE", "REVOKE",
                           "OPTOUT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def keyword_of(text: str) -> Keyword:
    """Which keyword a text carries, ignoring case, spacing and punctuation.

    Opt-out and help match on the first word ("Stop texting me" opts out: when in doubt we
    stop). Opt-in must be the whole message, so "Yes, see you then" re-subscribes nobody.
    """
    words = re.findall(r"[A-Z]+", text.upper())
    if not words:
        return Keyword.NONE
    if words[0] in OPT_OUT_WORDS or words[:2] == ["OPT", "OUT"]:
        return Keyword.OPT_OUT
    if words[0] in HELP_WORDS:
        return Keyword.HELP
    if len(words) == 1 and words[0] in OPT_IN_WORDS:
        return Keyword.OPT_IN
    return Keyword.NONE


def reply_text(*, keyword: Keyword, site: Site) -> str:
    """The neutral reply: the site's public alias and call-back number, nothing about care.

    With the longest alias (60) and number (16) the model allows, each stays within one
    160-character GSM-7 segment.
    """
    alias = to_gsm7(site.public_alias)
    if keyword is Keyword.OPT_OUT:
        return f"{alias}: You will no longer receive text messages. Reply START to resume."
    if keyword is Keyword.OPT_IN:
        return f"{alias}: You will receive text messages again. Reply STOP to opt out."
    if keyword is Keyword.HELP:
        return f"{alias}: Appointment reminders. For help call {site.phone}. Reply STOP to opt out."
    raise ValueError(f"no reply for {keyword}")


@dataclass(frozen=True)
class InboundOutcome:
    keyword: Keyword
    participant_ids: tuple[int, ...]
    reply_id: str | None  # the provider's id for our reply, when one was sent


def sms_inbound_receive(*, from_number: str, to_number: str, text: str) -> InboundOutcome:
    """Act on one inbound text from `from_number` to our number `to_number`."""
    keyword = keyword_of(text)
    from_number = from_number.strip()
    participants = list(
        Participant.objects.filter(phone=from_number).select_related("home_site").order_by("-pk")
    ) if from_number else []
    ids = tuple(p.pk for p in participants)
    if keyword is Keyword.NONE or not participants:
        return InboundOutcome(keyword=keyword, participant_ids=ids, reply_id=None)

    if keyword in (Keyword.OPT_OUT, Keyword.OPT_IN):
        with transaction.atomic():
            for participant in participants:
                if keyword is Keyword.OPT_OUT:
                    consent_revoke(participant=participant, channel=ConsentChannel.SMS,
                                   source=ConsentSource.SMS_KEYWORD)
                else:
                    consent_give(participant=participant, channel=ConsentChannel.SMS,
                                 source=ConsentSource.SMS_KEYWORD)
            reminders_replan_on_commit(participant_ids=ids)

    # Sent after the consent change has committed: a provider outage must not undo an opt-out.
    # The newest participant record's site speaks for a number that several people share.
    body = reply_text(keyword=keyword, site=participants[0].home_site)
    reply = SmsMessage(to=from_number, body=body, sender=to_number.strip())
    try:
        with get_sms_backend() as backend:
            reply_id = backend.send(reply)
    except ChannelError as exc:
        logger.warning("sms inbound: %s reply not sent, reason=%s", keyword.value, exc.reason)
        reply_id = None
    return InboundOutcome(keyword=keyword, participant_ids=ids, reply_id=reply_id)
