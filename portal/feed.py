"""The private calendar feed: neutral iCalendar events a phone can subscribe to without signing in.

Nothing in it may reveal treatment (42 CFR Part 2): every event is an "Appointment" at the
site's neutral alias (and its street address only if the participant turned that on), with no
description, kind, topic or clinician. It carries the visits ahead and those of the last
FEED_PAST_DAYS days (portal/selectors.py): a phone keeps what it already has, and a leaked link shows less.
"""
import hashlib
import uuid
from datetime import UTC, datetime

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from icalendar import vText
from icalendar.parser import Contentline

from participants.models import Participant

from .selectors import FeedEvent

EVENT_TITLE = _("Appointment")  # in the participant's language; the calendar's name is the alias
# Namespace for event UIDs: stable per (participant, session), and opaque.
_UID_NAMESPACE = uuid.UUID("3a1f6f0e-5c2b-4f57-9a51-8b0c3f3b2d11")
# SEQUENCE counts seconds since 2020: it grows with every change and stays inside 32 bits.
_SEQUENCE_EPOCH = 1_577_836_800


def event_uid(*, participant: Participant, session_id: int) -> str:
    return f"{uuid.uuid5(_UID_NAMESPACE, f'{participant.code}:{session_id}')}@calendar"


# The hex digit of a UUID's variant nibble (10xx) for each hex digit a hash gives there.
_VARIANT = "89ab89ab89ab89ab"


def _uids(participant: Participant):
    """event_uid for one participant's sessions: uuid.uuid5's SHA-1 of the namespace and the
    name, its version and variant bits set and written as str(UUID) writes them, without
    building a UUID object for each event (that was a fifth of the feed's time). The namespace
    and the participant's part of the name are hashed into a copy once a feed.
    tests/portal/test_feed_text.py compares it with event_uid."""
    start = hashlib.sha1(_UID_NAMESPACE.bytes + f"{participant.code}:".encode(),
                         usedforsecurity=False)

    def uid(session_id: int) -> str:
        sha = start.copy()
        sha.update(str(session_id).encode())
        h = sha.hexdigest()
        return (f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[int(h[16], 16)]}{h[17:20]}-"
                f"{h[20:32]}@calendar")
    return uid


def _content_line(name: str, text: str) -> str:
    """A property with a TEXT value, escaped and folded by icalendar's own helpers, CRLF ended.

    Only for the values that can hold escapable characters or run past 75 octets: the alias,
    the address and the title. They are the same for every event of a feed, so each is
    written once a feed, not once an event."""
    return Contentline(f"{name}:{vText(text).to_ical().decode('utf-8')}").to_ical().decode(
        "utf-8") + "\r\n"


def _utc(moment: datetime) -> str:
    """A UTC DATE-TIME as icalendar writes one (no fraction of a second): ASCII, 16 octets."""
    m = moment.astimezone(UTC)
    # %-formatting: half the time of the same f-string's six format specs.
    return "%04d%02d%02dT%02d%02d%02dZ" % (m.year, m.month, m.day, m.hour, m.minute, m.second)


def feed_render(*, participant: Participant, events: list[FeedEvent]) -> bytes:
    """The feed's text: the same bytes icalendar's Calendar and Event objects gave
    (tests/portal/test_feed_address.py and test_feed_text.py compare them), properties in
    icalendar's canonical order. Text in the participant's language.

    Every line but the TEXT ones above is plain ASCII under 75 octets with nothing to escape
    (a date-time, a UUID, a number, a keyword), so it is written as it is: escaping and
    folding each line of each event through icalendar was most of the feed's time."""
    with translation.override(participant.language):
        summary = _content_line("SUMMARY", str(EVENT_TITLE))
    locations: dict[tuple[str, str], str] = {}
    shows_address = participant.calendar_shows_address
    uid_of = _uids(participant)
    out = ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Appointments//EN\r\n"
           "CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n",
           _content_line("X-WR-CALNAME", participant.home_site.public_alias),
           "X-PUBLISHED-TTL:PT1H\r\n"]
    for event in events:
        place = (event.site_alias, event.site_address if shows_address else "")
        location = locations.get(place)
        if location is None:
            location = locations[place] = _content_line(
                "LOCATION", ", ".join(p for p in place if p))
        changed = event.changed
        stamp = _utc(changed)
        uid = uid_of(event.session_id)
        state = ("STATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\n" if event.is_expected
                 else "STATUS:CANCELLED\r\nTRANSP:TRANSPARENT\r\n")
        out.append(
            f"BEGIN:VEVENT\r\n{summary}"
            f"DTSTART:{_utc(event.starts_at)}\r\nDTEND:{_utc(event.ends_at)}\r\n"
            f"DTSTAMP:{stamp}\r\nUID:{uid}\r\n"
            f"SEQUENCE:{max(0, int(changed.timestamp()) - _SEQUENCE_EPOCH)}\r\n"
            f"LAST-MODIFIED:{stamp}\r\n{location}{state}END:VEVENT\r\n")
    out.append("END:VCALENDAR\r\n")
    return "".join(out).encode("utf-8")
