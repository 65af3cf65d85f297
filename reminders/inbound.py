"""Inbound text messages: the opt-out, opt-in and help keywords carriers require us to honour.

An opt-out takes effect at once for every participant with that number, then one neutral
confirmation goes out through the SMS backend (so it is sent and logged like any other message).
Texts from numbers we don't know, and texts that are not keywords, get no reply at all: a
reply would tell a stranger which clinic that number belongs to.

Two-way SMS: a reminder may end "Reply 1 to confirm, 2 if you can't come". A reply that is just
"1" or "2" (any spacing or punctuation) answers the newest such reminder whose visit has not
begun: the participant's expected rows that day show the answer on the roster, and "2" opens a
follow-up for their clinician (sessions/services/confirmations.py). A digit with nothing to
answer gets a short neutral reply. What "2" opens is the program's choice
(`Program.cant_come_reply`): a follow-up (the reply says "We will call you") or an
excused-absence request the clinician decides (the reply says an answer will follow). The digits never collide with the carrier keywords, and an
opt-out word anywhere beside them still opts out.
"""
import enum
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from participants.models import ConsentChannel, ConsentSource, Contact, Participant
from participants.services import consent_give, consent_revoke
from participants.services_contacts import contact_sms_consent_set
from programs.models import Site

from sessions.models import AttendanceConfirmation
from sessions.services.confirmations import Confirmed, attendance_confirm

from reminders.channels import ChannelError, SmsMessage, get_sms_backend
from reminders.channels.sms import to_gsm7
from reminders.models import VISIT_REMINDER_KINDS, Reminder, ReminderChannel, ReminderStatus
from reminders.replan import reminders_replan_on_commit

logger = logging.getLogger(__name__)


class Keyword(enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    CONFIRM = "confirm"
    CANT_COME = "cant_come"
    NONE = "none"


OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "QUIT", "END", "CANCEL", "UNSUBSCRIBE", "REVOKE",
                           "OPTOUT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def keyword_of(text: str) -> Keyword:
    """Which keyword a text carries, ignoring case, width, spacing and punctuation.

    Opt-out and help match on the first word ("Stop texting me" opts out: when in doubt we
    stop). Opt-in must be the whole message, so "Yes, see you then" re-subscribes nobody.
    """
    # NFKC first: a phone may send full-width "ＳＴＯＰ" or "１", which must count as the
    # ASCII words they look like (an opt-out missed is a text sent against someone's will).
    tokens = re.findall(r"[A-Z]+|[0-9]+", unicodedata.normalize("NFKC", text).upper())
    words = [token for token in tokens if not token.isdigit()]
    if tokens and not words and len(tokens) == 1:
        return {"1": Keyword.CONFIRM, "2": Keyword.CANT_COME}.get(tokens[0], Keyword.NONE)
    if not words:
        return Keyword.NONE
    if any(word in OPT_OUT_WORDS for word in words) and len(words) == 1:
        return Keyword.OPT_OUT  # "1 STOP", "2. stop": the opt-out wins over the answer
    if words[0] in OPT_OUT_WORDS or words[:2] == ["OPT", "OUT"]:
        return Keyword.OPT_OUT
    if words[0] in HELP_WORDS:
        return Keyword.HELP
    if len(tokens) == 1 and words[0] in OPT_IN_WORDS:
        return Keyword.OPT_IN
    return Keyword.NONE


def reply_text(*, keyword: Keyword, site: Site, excuse_requested: bool = False) -> str:
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
    if keyword is Keyword.CONFIRM:
        return f"{alias}: Thank you, see you then."
    if keyword is Keyword.CANT_COME and excuse_requested:
        return f"{alias}: Thank you for letting us know. We will send you our answer."
    if keyword is Keyword.CANT_COME:
        return f"{alias}: Thank you for letting us know. We will call you."
    raise ValueError(f"no reply for {keyword}")


@dataclass(frozen=True)
class InboundOutcome:
    keyword: Keyword
    participant_ids: tuple[int, ...]
    reply_id: str | None  # the provider's id for our reply, when one was sent
    contact_ids: tuple[int, ...] = ()


def reply_unmatched_text(*, site: Site) -> str:
    """A 1 or 2 with no open question: short, neutral, and how to reach a person."""
    return f"{to_gsm7(site.public_alias)}: We could not match your reply. Please call {site.phone}."


def _answer(participants: list[Participant], keyword: Keyword) -> Confirmed:
    """Record the answer on the newest reminder that asked and whose visit has not begun."""
    now = timezone.now()
    asked = (Reminder.objects.filter(
        participant__in=participants, channel=ReminderChannel.SMS, asks_reply=True,
        kind__in=VISIT_REMINDER_KINDS, status=ReminderStatus.SENT, send_before__gt=now,
    ).select_related("participant").order_by("-sent_at").first())
    if asked is None:
        return Confirmed(rows=0)
    zone = asked.participant.zone
    start = datetime.combine(asked.visit_date, datetime.min.time(), tzinfo=zone)
    answer = (AttendanceConfirmation.CONFIRMED if keyword is Keyword.CONFIRM
              else AttendanceConfirmation.CANT_COME)
    return attendance_confirm(participant_id=asked.participant_id, starts_from=start,
                              starts_until=start + timedelta(days=1), answer=answer)


def sms_inbound_receive(*, from_number: str, to_number: str, text: str) -> InboundOutcome:
    """Act on one inbound text from `from_number` to our number `to_number`."""
    keyword = keyword_of(text)
    from_number = from_number.strip()
    participants = list(
        Participant.objects.filter(phone=from_number).select_related("home_site").order_by("-pk")
    ) if from_number else []
    # Family contacts with that number: a STOP or START is theirs too. A number several people
    # share (a participant and a contact) is opted out for all of them: STOP is about the
    # phone, and when in doubt we stop.
    contacts = list(
        Contact.objects.filter(phone=from_number, removed_at__isnull=True)
        .select_related("participant__home_site").order_by("-pk")
    ) if from_number else []
    ids = tuple(p.pk for p in participants)
    contact_ids = tuple(c.pk for c in contacts)
    if keyword is Keyword.NONE or not (participants or contacts) or (
            not participants and keyword in (Keyword.CONFIRM, Keyword.CANT_COME)):
        # Contacts are never asked to reply 1 or 2: a digit from one gets no answer.
        return InboundOutcome(keyword=keyword, participant_ids=ids, reply_id=None,
                              contact_ids=contact_ids)

    if contacts and keyword in (Keyword.OPT_OUT, Keyword.OPT_IN):
        contact_sms_consent_set(contact_ids=list(contact_ids), given=keyword is Keyword.OPT_IN)
    if participants and keyword in (Keyword.OPT_OUT, Keyword.OPT_IN):
        with transaction.atomic():
            for participant in participants:
                if keyword is Keyword.OPT_OUT:
                    consent_revoke(participant=participant, channel=ConsentChannel.SMS,
                                   source=ConsentSource.SMS_KEYWORD)
                else:
                    consent_give(participant=participant, channel=ConsentChannel.SMS,
                                 source=ConsentSource.SMS_KEYWORD)
            reminders_replan_on_commit(participant_ids=ids)

    body, excuse_requested = None, False
    if keyword in (Keyword.CONFIRM, Keyword.CANT_COME):
        confirmed = _answer(participants, keyword)
        excuse_requested = confirmed.excuse_requested
        if not confirmed.rows:
            body = reply_unmatched_text(site=participants[0].home_site)

    # Sent after the consent change has committed: a provider outage must not undo an opt-out.
    # The newest participant record's site speaks for a number that several people share.
    site = participants[0].home_site if participants else contacts[0].participant.home_site
    body = body or reply_text(keyword=keyword, site=site, excuse_requested=excuse_requested)
    reply = SmsMessage(to=from_number, body=body, sender=to_number.strip())
    try:
        with get_sms_backend() as backend:
            reply_id = backend.send(reply)
    except ChannelError as exc:
        logger.warning("sms inbound: %s reply not sent, reason=%s", keyword.value, exc.reason)
        reply_id = None
    return InboundOutcome(keyword=keyword, participant_ids=ids, reply_id=reply_id,
                          contact_ids=contact_ids)
