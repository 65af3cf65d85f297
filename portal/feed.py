"""The private calendar feed: neutral iCalendar events a phone can subscribe to without signing in.

Nothing in it may reveal treatment (42 CFR Part 2): every event is an "Appointment" at the
site's neutral alias (and its street address only if the participant turned that on), with no
description, kind, topic or clinician. It carries the visits ahead and those of the last
FEED_PAST_DAYS days (portal/selectors.py): a phone keeps what it already has, and a leaked link shows less.
"""
import uuid
from datetime import UTC, datetime, timedelta

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from icalendar import vText
from icalendar.parser import Contentline

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


def _text(value: str) -> str:
    """iCalendar TEXT escaping, by icalendar's own property type."""
    return vText(value).to_ical().decode("utf-8")


def _utc(moment: datetime) -> str:
    """A UTC DATE-TIME as icalendar writes one (no fraction of a second)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def feed_render(*, state: PortalState, visits: list[Visit], now: datetime) -> bytes:
    """The feed's text, written line by line: the same bytes icalendar's Calendar and Event
    objects gave (tests/portal/test_feed.py compares them), at a tenth of their cost a visit;
    the feed is what every subscribed phone polls. Properties in icalendar's canonical order,
    TEXT escaped and lines folded by icalendar's own helpers. Text in the participant's
    language."""
    with translation.override(state.participant.language):
        return _feed_render(state=state, visits=visits, now=now)


def _feed_render(*, state: PortalState, visits: list[Visit], now: datetime) -> bytes:
    participant = state.participant
    since = now - timedelta(days=FEED_PAST_DAYS)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Appointments//EN",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             "X-WR-CALNAME:" + _text(participant.home_site.public_alias),
             "X-PUBLISHED-TTL:PT1H"]
    for visit in visits:
        session = visit.session
        if session.ends_at < since:
            continue
        site = session.site
        changed = _last_modified(visit)
        address = site.address if participant.calendar_shows_address else ""
        expected = visit.is_expected
        lines += [
            "BEGIN:VEVENT",
            "SUMMARY:" + _text(str(EVENT_TITLE)),
            "DTSTART:" + _utc(session.starts_at),
            "DTEND:" + _utc(session.ends_at),
            "DTSTAMP:" + _utc(changed),
            "UID:" + _text(event_uid(participant=participant, session_id=session.pk)),
            # Seconds since 2020 grow with every change and stay well inside a 32-bit integer.
            f"SEQUENCE:{max(0, int(changed.timestamp()) - 1_577_836_800)}",
            "LAST-MODIFIED:" + _utc(changed),
            "LOCATION:" + _text(", ".join(p for p in (site.public_alias, address) if p)),
            "STATUS:" + ("CONFIRMED" if expected else "CANCELLED"),
            "TRANSP:" + ("OPAQUE" if expected else "TRANSPARENT"),
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return b"".join(Contentline(line).to_ical() + b"\r\n" for line in lines)
