"""Neutral notice text: a change (what the participant knew, and that it is cancelled or its new
day, time and place) or "there is an answer to your request". The same few facts as a reminder,
nothing about the session, never the decision itself; a seat offer says only that a place is
open and by when to answer."""
from datetime import datetime

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from iop_clinic.links import public_url
from participants.models import Participant
from programs.models import Site

from reminders.models import ReminderChannel
from .messages import Message, _context, _when, fit_sms


def render_notice(*, channel: str, participant: Participant, site: Site, previous_start: datetime,
                  new_start: datetime | None, now: datetime | None = None) -> Message:
    """`new_start` None: cancelled. `site` is where the visit now is (or was, if cancelled)."""
    now = now or timezone.now()
    context = _context(participant=participant, site=site,
                       first_start=new_start or previous_start, now=now)
    was = _when(previous_start, participant.zone, now)
    context.update(was_date=was["date"], was_time=was["time"], cancelled=new_start is None)
    if channel == ReminderChannel.SMS:
        return fit_sms(context, template="emails/notice_sms.txt")
    subject = render_to_string("emails/notice_subject.txt", context)
    body = render_to_string("emails/notice_body.txt", context)
    return Message(subject=" ".join(subject.split()), body=body, sender_name=context["alias"])


def render_excuse_notice(*, channel: str, participant: Participant, site: Site,
                         first_start: datetime, now: datetime | None = None) -> Message:
    context = _context(participant=participant, site=site, first_start=first_start,
                       now=now or timezone.now())
    if channel == ReminderChannel.SMS:
        return fit_sms(context, template="emails/excuse_notice_sms.txt")
    subject = render_to_string("emails/excuse_notice_subject.txt", context)
    body = render_to_string("emails/excuse_notice_body.txt", context)
    return Message(subject=" ".join(subject.split()), body=body, sender_name=context["alias"])


def render_offer_notice(*, channel: str, participant: Participant, site: Site,
                        answer_by: datetime, now: datetime | None = None) -> Message:
    """"A place is open for you; please answer by <day, time>": by signing in (portal account)
    or calling. Nothing says what the place is in."""
    context = _context(participant=participant, site=site, first_start=answer_by,
                       now=now or timezone.now())
    context["portal"] = participant.user_id is not None
    context["link"] = public_url(reverse("portal-home")) if context["portal"] else ""
    if channel == ReminderChannel.SMS:
        return fit_sms(context, template="emails/offer_sms.txt")
    subject = render_to_string("emails/offer_subject.txt", context)
    body = render_to_string("emails/offer_body.txt", context)
    return Message(subject=" ".join(subject.split()), body=body, sender_name=context["alias"])
