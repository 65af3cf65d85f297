"""The private calendar feed: neutral iCalendar events a phone can subscribe to without signing in.

Nothing in it may reveal treatment (42 CFR Part 2): every event is an "Appointment" at the
site's neutral alias (and its street address only if the participant turned that on), with no
description, kind, topic or clinician. It carries the visits ahead and those of the last
FEED_PAST_DAYS days (portal/selectors.py): a phone keeps what it already has, and a leaked link shows less.
"""
import uuid
from datetime import datetime, timedelta

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from icalendar import Calendar, Event

from participants.models import Participant

from .selectors import FEED_PAST_DAYS, PortalState, Visit

EVENT_TITLE = _("Appointment")  # in the participant's language; the calendar's name is the alias
# Namespace for event UIDs: stable per (participant, session), and opaque.
_UID_NAMESPACE = uuid.UUID("3a1f6f0e-5c2b-4f57-9a51-8b0c3f3b2d11")


def event_uid(*, participant: Participant, session_id: int) -> str:
    return f"{uuid.uuid5(_UID_NAMESPACE, f'{participant.code}:{session_id}')}@calendar"


def _last_modified(visit: Visit):
    changed = visit.session.updated_at
    marked = visit.attendance.marked_at
    return max(changed, marked) if marked else changed


def feed_render(*, state: PortalState, visits: list[Visit], now: datetime) -> bytes:
    with translation.override(state.participant.language):
        return _feed_render(state=state, visits=visits, now=now)


def _feed_render(*, state: PortalState, visits: list[Visit], now: datetime) -> bytes:
    participant = state.participant
    since = now - timedelta(days=FEED_PAST_DAYS)
    calendar = Calendar()
    calendar.add("prodid", "-//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", participant.home_site.public_alias)
    calendar.add("x-published-ttl", "PT1H")
    for visit in visits:
        session = visit.session
        if session.ends_at < since:
            continue
        site = session.site
        event = Event()
        event.add("uid", event_uid(participant=participant, session_id=session.pk))
        event.add("summary", str(EVENT_TITLE))
        event.add("dtstart", session.starts_at)
        event.add("dtend", session.ends_at)
        event.add("dtstamp", _last_modified(visit))
        event.add("last-modified", _last_modified(visit))
        # Seconds since 2020 grow with every change and stay well inside a 32-bit integer.
        event.add("sequence", max(0, int(_last_modified(visit).timestamp()) - 1_577_836_800))
        address = site.address if participant.calendar_shows_address else ""
        event.add("location", ", ".join(p for p in (site.public_alias, address) if p))
        event.add("status", "CANCELLED" if not visit.is_expected else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if not visit.is_expected else "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()
