"""Neutral notice text: a change (what the participant knew, and that it is cancelled or its new
day, time and place) or "there is an answer to your request". The same few facts as a reminder,
nothing about the session, never the decision itself; a seat offer says only that a place is
open, by when to answer and where (a link and the call-back number); a portal invitation, that
an account is ready and the set-password link.

Each renders in the recipient's language (`language`, else the participant's), at send time.

Links that carry a secret token are rendered here with a placeholder of the same length
(delivery mints the token when it sends, and keeps the text with the link left out)."""
from datetime import datetime

from django.template.loader import render_to_string
from django.utils import timezone

from participants.models import Participant
from programs.models import Site

from reminders.models import ReminderChannel
from .messages import Message, _context, _when, fit_sms, in_language


def _email(template: str, context: dict) -> Message:
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    body = render_to_string(f"emails/{template}_body.txt", context)
    return Message(subject=" ".join(subject.split()), body=body, sender_name=context["alias"])


def render_notice(*, channel: str, participant: Participant, site: Site, previous_start: datetime,
                  new_start: datetime | None, now: datetime | None = None,
                  language: str | None = None, place_changed: bool = False) -> Message:
    """`new_start` None: cancelled. `site` is where the visit now is (or was, if cancelled).
    `place_changed`: it now takes place at another site, so a text keeps the new address
    before the first name."""
    now = now or timezone.now()
    with in_language(language or participant.language):
        context = _context(participant=participant, site=site,
                           first_start=new_start or previous_start, now=now)
        was = _when(previous_start, participant.zone, now)
        context.update(was_date=was["date"], was_time=was["time"], was_at_time=was["at_time"],
                       cancelled=new_start is None, same_time=new_start == previous_start)
        if channel == ReminderChannel.SMS:
            return fit_sms(context, template="emails/notice_sms.txt",
                           keep_address=place_changed and new_start is not None)
        return _email("notice", context)


def render_excuse_notice(*, channel: str, participant: Participant, site: Site,
                         first_start: datetime, now: datetime | None = None,
                         language: str | None = None) -> Message:
    with in_language(language or participant.language):
        context = _context(participant=participant, site=site, first_start=first_start,
                           now=now or timezone.now())
        if channel == ReminderChannel.SMS:
            return fit_sms(context, template="emails/excuse_notice_sms.txt")
        return _email("excuse_notice", context)


def signs_in(participant: Participant) -> bool:
    """Whether the person can sign in to the portal (a login, not turned off): then an offer
    sends them there; otherwise to a one-time page."""
    return participant.user_id is not None and participant.user.is_active


def render_offer_notice(*, channel: str, participant: Participant, site: Site,
                        answer_by: datetime, link: str, now: datetime | None = None,
                        language: str | None = None) -> Message:
    """"A place is open for you; please answer by <day, time>" at `link` (the portal's offer
    page, or a one-time page) or by calling. Nothing says what the place is in. A text whose
    link cannot fit one segment says "call" only."""
    with in_language(language or participant.language):
        context = _context(participant=participant, site=site, first_start=answer_by,
                           now=now or timezone.now())
        context.update(portal=signs_in(participant), link=link)
        if channel == ReminderChannel.SMS:
            try:
                return fit_sms(context, template="emails/offer_sms.txt")
            except ValueError:
                return fit_sms({**context, "link": ""}, template="emails/offer_sms.txt")
        return _email("offer", context)


def render_invitation(*, participant: Participant, site: Site, link: str, days: int,
                      now: datetime | None = None, language: str | None = None) -> Message:
    """"You can now see your appointments online. Choose a password here: <link>"."""
    now = now or timezone.now()
    with in_language(language or participant.language):
        context = {**_context(participant=participant, site=site, first_start=now, now=now),
                   "link": link, "days": days}
        return _email("portal_invitation", context)
