"""Neutral reminder text: first name at most, date and time, the site's alias, address and
call-back number, and how to opt out. Nothing else reaches the templates, so nothing else (a
program name, a session's kind or topic, a clinician, a diagnosis) can leak into a message.
"""
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.template.loader import render_to_string
from django.utils import timezone

from participants.models import Participant
from programs.models import Site

from reminders.channels.sms import gsm7_length, to_gsm7
from reminders.models import ReminderChannel

SMS_LIMIT = 160

# Words that would reveal what the appointment is for. Our templates never use them (nor
# "clinic" or "session"); a site alias or address that does makes delivery fail loudly
# (reason not_neutral) instead of disclosing treatment. "Clinic" and "health" stay allowed in
# an alias: they say nothing about which care.
REVEALING = re.compile(
    r"\b(recover\w*|addict\w*|substance\w*|rehab\w*|detox\w*|therap\w*|iop|group\w*|"
    r"counsel\w*|treatment\w*|sober\w*|sobriety|alcohol\w*|drug\w*|opioid\w*|methadone|"
    r"suboxone|psychiatr\w*|mental|behavio\w*|outpatient|intensive|diagnos\w*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Message:
    subject: str  # blank for SMS
    body: str
    sender_name: str


def _when(moment: datetime, zone: zoneinfo.ZoneInfo, now: datetime) -> dict[str, str]:
    local = moment.astimezone(zone)
    hour = local.hour % 12 or 12
    short, long = f"{local:%a %b} {local.day}", f"{local:%A, %B} {local.day}"
    # Relative to when it is sent, not to the kind: a day-before reminder moved out of quiet
    # hours may go out two evenings before.
    days_ahead = (local.date() - now.astimezone(zone).date()).days
    relative = {0: "today, ", 1: "tomorrow, "}.get(days_ahead, "on ")
    return {
        "when": relative + short,
        "long_when": relative + long,
        "date": short,
        "time": f"{hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}",
        "zone_name": local.tzname() or "",
    }


def _context(*, participant: Participant, site: Site, first_start: datetime,
             now: datetime | None) -> dict:
    return {
        "first_name": participant.first_name.strip(),
        "alias": site.public_alias.strip(),
        "address": site.address.strip(),
        "phone": site.phone,
        **_when(first_start, participant.zone, now or timezone.now()),
    }


def render_email(*, participant: Participant, site: Site, kind: str, first_start: datetime,
                 now: datetime | None = None) -> Message:
    context = _context(participant=participant, site=site, first_start=first_start, now=now)
    subject = render_to_string("emails/reminder_subject.txt", context).strip()
    body = render_to_string("emails/reminder_body.txt", context)
    return Message(subject=" ".join(subject.split()), body=body, sender_name=context["alias"])


def render_sms(*, participant: Participant, site: Site, kind: str, first_start: datetime,
               now: datetime | None = None, ask_reply: bool = False) -> Message:
    """One GSM-7 segment, always: drop the address, then shorten the first name (or drop it),
    and as a last resort shorten the alias. The date, time, call-back number and opt-out stay."""
    context = _context(participant=participant, site=site, first_start=first_start, now=now)
    return fit_sms({**context, "ask_reply": ask_reply}, template="emails/reminder_sms.txt")


def fit_sms(context: dict, *, template: str) -> Message:
    """Render an SMS template into one GSM-7 segment: drop the address, then shorten the first
    name (or drop it), and as a last resort shorten the alias."""
    context = {key: to_gsm7(value) if isinstance(value, str) else value
               for key, value in context.items()}
    name, alias = context["first_name"], context["alias"]
    candidates = [(name, context["address"], alias)]
    candidates += [(name[:cut].rstrip(), "", alias) for cut in range(len(name), -1, -1)]
    candidates += [("", "", alias[:cut].rstrip()) for cut in range(len(alias), -1, -1)]
    for first_name, address, shown_alias in candidates:
        body = " ".join(render_to_string(template, {
            **context, "first_name": first_name, "address": address, "alias": shown_alias,
        }).split())
        if gsm7_length(body) <= SMS_LIMIT:
            return Message(subject="", body=body, sender_name=alias)
    raise ValueError("the SMS template alone exceeds one segment")


def render(*, channel: str, participant: Participant, site: Site, kind: str,
           first_start: datetime, now: datetime | None = None, ask_reply: bool = False) -> Message:
    """`ask_reply` (SMS only): end with "Reply 1 to confirm, 2 if you can't come"."""
    if channel == ReminderChannel.SMS:
        return render_sms(participant=participant, site=site, kind=kind,
                          first_start=first_start, now=now, ask_reply=ask_reply)
    return render_email(participant=participant, site=site, kind=kind, first_start=first_start,
                        now=now)


def revealing_words(message: Message) -> list[str]:
    """Words in the message that would reveal treatment (empty when the message is neutral)."""
    return REVEALING.findall(" ".join([message.subject, message.body, message.sender_name]))
