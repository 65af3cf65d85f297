"""Neutral reminder text: first name at most, date and time, the site's alias, address and
call-back number, and how to opt out. Nothing else reaches the templates, so nothing else (a
program name, a session's kind or topic, a clinician, a diagnosis) can leak into a message.

Every message is rendered when it is sent, in the recipient's language (`in_language`): the
participant's own unless the caller names another (a family contact's), so a replan or a
language change never leaves a text in the wrong language waiting in the outbox.
"""
import functools
import re
import zoneinfo
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from iop_clinic.formatting import clinic_format
from participants.models import Participant
from programs.models import Site

from reminders.channels.sms import sms_segments, to_gsm7
from reminders.models import ReminderChannel

# "a las 6:00 p.m.." -> "p.m.": a time's own period also ends the sentence.
_ABBREVIATION_THEN_PERIOD = re.compile(r"(\b[ap]\.\s?m\.)\.")
SMS_LIMIT = 160  # GSM-7 septets in one segment (sms_segments knows UCS-2's 70)
DEFAULT_LANGUAGE = "en"

# Words that would reveal what the appointment is for. Our templates never use them (nor
# "clinic" or "session"); a site alias or address that does makes delivery fail loudly
# (reason not_neutral) instead of disclosing treatment. "Clinic" and "health" stay allowed in
# an alias: they say nothing about which care.
# The lookahead on the first letters of the words below changes no match: it only spares
# the regex trying every word at each word boundary (half of its time on every message).
REVEALING = re.compile(
    r"\b(?=[abcdgimoprst])(recover\w*|addict\w*|substance\w*|rehab\w*|detox\w*|therap\w*|iop|group\w*|"
    r"counsel\w*|treatment\w*|sober\w*|sobriety|alcohol\w*|drug\w*|opioid\w*|methadone|"
    r"suboxone|psychiatr\w*|mental|behavio\w*|outpatient|intensive|diagnos\w*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Message:
    subject: str  # blank for SMS
    body: str
    sender_name: str


def message_language(language: str | None) -> str:
    """`language` if we have it (settings.LANGUAGES), else English."""
    return language if language in dict(settings.LANGUAGES) else DEFAULT_LANGUAGE


@contextmanager
def in_language(language: str | None) -> Iterator[str]:
    """Render what follows in `language` (a participant's or a contact's; unknown: English):
    words, day and month names, date and time formats."""
    code = message_language(language)
    with translation.override(code):
        yield code


def _relative(day: str, days_ahead: int) -> str:
    if days_ahead == 0:
        return _("today, %(day)s") % {"day": day}
    if days_ahead == 1:
        return _("tomorrow, %(day)s") % {"day": day}
    return _("on %(day)s") % {"day": day}


def _when(moment: datetime, zone: zoneinfo.ZoneInfo, now: datetime) -> Mapping[str, str]:
    """Day and time in the active language's formats (iop_clinic/formats/<language>)."""
    return _when_in(moment, zone, now.astimezone(zone).date(), translation.get_language())


# A batch's reminders are mostly about a few group sessions: their words for the day and time
# are the same for everyone in that group (about a tenth of a reminder's CPU on the worker).
# Keyed by everything they depend on; formats and catalogues only change with the settings.
@functools.lru_cache(maxsize=1024)
def _when_in(moment: datetime, zone: zoneinfo.ZoneInfo, today: date,
             language: str | None) -> Mapping[str, str]:
    local = moment.astimezone(zone)
    short = dateformat.format(local, clinic_format("MESSAGE_DAY_FORMAT"))
    long = dateformat.format(local, clinic_format("MESSAGE_LONG_DAY_FORMAT"))
    time = dateformat.format(local, clinic_format("TIME_FORMAT"))
    # Relative to when it is sent, not to the kind: a day-before reminder moved out of quiet
    # hours may go out two evenings before.
    days_ahead = (local.date() - today).days
    # "at 1:00 PM" / "a la 1:00 p.m." but "a las 6:00 p.m.": the hour decides, as a count does.
    at_time = ngettext("at %(time)s", "at %(time)s", local.hour % 12 or 12) % {"time": time}
    return MappingProxyType({
        "when": _relative(short, days_ahead),
        "long_when": _relative(long, days_ahead),
        "date": short,
        "time": time,
        "at_time": at_time,
        "zone_name": local.tzname() or "",
    })


@receiver(setting_changed)
def _forget_when(*, setting, **kwargs) -> None:
    if setting in {"FORMAT_MODULE_PATH", "LANGUAGE_CODE", "LANGUAGES", "LOCALE_PATHS"}:
        _when_in.cache_clear()


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
                 now: datetime | None = None, language: str | None = None) -> Message:
    with in_language(language or participant.language):
        context = _context(participant=participant, site=site, first_start=first_start, now=now)
        subject = render_to_string("emails/reminder_subject.txt", context).strip()
        body = render_to_string("emails/reminder_body.txt", context)
    return Message(subject=" ".join(subject.split()), body=body, sender_name=context["alias"])


def render_sms(*, participant: Participant, site: Site, kind: str, first_start: datetime,
               now: datetime | None = None, ask_reply: bool = False,
               language: str | None = None) -> Message:
    """One segment, always: drop the address, then shorten the first name (or drop it),
    and as a last resort shorten the alias. The date, time, call-back number and opt-out stay."""
    with in_language(language or participant.language):
        context = _context(participant=participant, site=site, first_start=first_start, now=now)
        return fit_sms({**context, "ask_reply": ask_reply}, template="emails/reminder_sms.txt")


def fits_one_segment(body: str) -> bool:
    """One segment: 160 GSM-7 septets (extension characters count two), or 70 UCS-2 units
    when any character is outside GSM-7."""
    return sms_segments(body) == 1


def fit_sms(context: dict, *, template: str, keep_address: bool = False) -> Message:
    """Render an SMS template into one segment: drop the address, then shorten the first
    name (or drop it), and as a last resort shorten the alias. `keep_address` (a visit that
    now takes place elsewhere: where is the news): the first name, then the alias down to 12
    characters, go before the address.

    The names we fill in are spelt in GSM-7 (to_gsm7), and so are the templates' own words in
    every language (tests/reminders/test_languages.py), so a text stays a 160-character GSM-7
    segment; should one ever need UCS-2, it is measured as such (70), not as GSM-7."""
    context = {key: to_gsm7(value) if isinstance(value, str) else value
               for key, value in context.items()}
    name, alias = context["first_name"], context["alias"]
    candidates = [(name, context["address"], alias)]
    if keep_address:
        candidates += [(name[:cut].rstrip(), context["address"], alias)
                       for cut in range(len(name), -1, -1)]
        candidates += [("", context["address"], alias[:cut].rstrip())
                       for cut in range(len(alias), min(len(alias), 12) - 1, -1)]
    candidates += [(name[:cut].rstrip(), "", alias) for cut in range(len(name), -1, -1)]
    candidates += [("", "", alias[:cut].rstrip()) for cut in range(len(alias), -1, -1)]
    for first_name, address, shown_alias in candidates:
        body = _ABBREVIATION_THEN_PERIOD.sub(r"\1", " ".join(render_to_string(template, {
            **context, "first_name": first_name, "address": address, "alias": shown_alias,
        }).split()))
        if fits_one_segment(body):
            return Message(subject="", body=body, sender_name=alias)
    raise ValueError("the SMS template alone exceeds one segment")


def render(*, channel: str, participant: Participant, site: Site, kind: str,
           first_start: datetime, now: datetime | None = None, ask_reply: bool = False,
           language: str | None = None) -> Message:
    """`ask_reply` (SMS only): end with "Reply 1 to confirm, 2 if you can't come".
    `language`: the recipient's, when it is not the participant (a family contact)."""
    if channel == ReminderChannel.SMS:
        return render_sms(participant=participant, site=site, kind=kind,
                          first_start=first_start, now=now, ask_reply=ask_reply,
                          language=language)
    return render_email(participant=participant, site=site, kind=kind, first_start=first_start,
                        now=now, language=language)


def revealing_words(message: Message) -> list[str]:
    """Words in the message that would reveal treatment (empty when the message is neutral)."""
    return REVEALING.findall(" ".join([message.subject, message.body, message.sender_name]))
