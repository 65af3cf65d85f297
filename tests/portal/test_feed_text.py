"""The feed's text is written by hand (portal/feed.py) and must stay, byte for byte, what
icalendar's Calendar and Event objects write for the same events, whatever the alias, address,
language, times and ids; and a calendar app that polls with the ETag it has gets a 304."""
import datetime as dt
import random
import uuid
import zoneinfo
from types import SimpleNamespace

import pytest
from django.urls import reverse
from icalendar import Calendar, Event, vText

from participants.portal_accounts import calendar_token_regenerate
from portal.feed import EVENT_TITLE, _uids, event_uid, feed_render
from portal.selectors import FeedEvent

# Characters TEXT escaping and folding care about, and some that take 2-4 octets in UTF-8.
_ALPHABET = "abcXYZ 019-'.:/@ ,;\\\n\r\t\"<>&éÉñÑüçßøÅ中文🙂" + "\\N"
_ZONES = [dt.UTC, zoneinfo.ZoneInfo("America/New_York"), zoneinfo.ZoneInfo("Asia/Kolkata")]


def _text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, longest)))


def _moment(rng: random.Random, years: int = 99) -> dt.datetime:
    moment = dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        seconds=rng.randint(0, years * 365 * 86400), microseconds=rng.randint(0, 999_999))
    return moment.astimezone(rng.choice(_ZONES))


def _reference(participant, events: list[FeedEvent]) -> bytes:
    """The same feed through icalendar's objects, as the feed was first written."""
    calendar = Calendar()
    for name, value in (("prodid", "-//Appointments//EN"), ("version", "2.0"),
                        ("calscale", "GREGORIAN"), ("method", "PUBLISH"),
                        # An X- property is vUnknown to icalendar; the feed writes it as TEXT.
                        ("x-wr-calname", vText(participant.home_site.public_alias)),
                        ("x-published-ttl", "PT1H")):
        calendar.add(name, value)
    for e in events:
        event = Event()
        event.add("summary", str(EVENT_TITLE))
        event.add("dtstart", e.starts_at.astimezone(dt.UTC))
        event.add("dtend", e.ends_at.astimezone(dt.UTC))
        event.add("dtstamp", e.changed.astimezone(dt.UTC))
        event.add("uid", event_uid(participant=participant, session_id=e.session_id))
        event.add("sequence", max(0, int(e.changed.timestamp()) - 1_577_836_800))
        event.add("last-modified", e.changed.astimezone(dt.UTC))
        address = e.site_address if participant.calendar_shows_address else ""
        event.add("location", ", ".join(p for p in (e.site_alias, address) if p))
        event.add("status", "CONFIRMED" if e.is_expected else "CANCELLED")
        event.add("transp", "OPAQUE" if e.is_expected else "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()


@pytest.mark.parametrize("seed", range(40))
def test_it_writes_what_icalendar_writes_for_any_text_time_and_id(seed, settings):
    rng = random.Random(seed)
    participant = SimpleNamespace(
        code=uuid.UUID(int=rng.getrandbits(128)), language=rng.choice(["en", "es"]),
        calendar_shows_address=rng.random() < 0.7,
        home_site=SimpleNamespace(public_alias=_text(rng, 120) or "Clinic"))
    places = [(_text(rng, 90), _text(rng, 150)) for _ in range(3)]
    events = []
    for _ in range(rng.randint(0, 30)):
        starts = _moment(rng)
        alias, address = rng.choice(places)
        events.append(FeedEvent(
            session_id=rng.choice([1, rng.randint(1, 2**31 - 1), 2**63 - 1]),
            starts_at=starts, ends_at=starts + dt.timedelta(minutes=rng.randint(1, 600)),
            # A change before 2088 (SEQUENCE, seconds since 2020, is a 32-bit integer).
            changed=_moment(rng, years=88), is_expected=rng.random() < 0.8,
            site_alias=alias or "Site", site_address=address))

    from django.utils import translation
    with translation.override(participant.language):
        expected = _reference(participant, events)

    assert feed_render(participant=participant, events=events) == expected


@pytest.mark.parametrize("seed", range(5))
def test_its_event_ids_are_the_uuid5_ids_calendars_already_hold(seed):
    """A phone keeps each event by its UID: the feed's faster writing must give the same ids,
    or every subscribed calendar would show each visit twice."""
    rng = random.Random(seed)
    participant = SimpleNamespace(code=uuid.UUID(int=rng.getrandbits(128)))
    session_ids = [1, 9, 10, 2**31 - 1, 2**63 - 1, *(rng.randint(1, 10**9) for _ in range(200))]
    uid = _uids(participant)

    assert [uid(i) for i in session_ids] == [
        event_uid(participant=participant, session_id=i) for i in session_ids]
    assert event_uid(participant=participant, session_id=7) == (
        f"{uuid.uuid5(uuid.UUID('3a1f6f0e-5c2b-4f57-9a51-8b0c3f3b2d11'), f'{participant.code}:7')}"
        "@calendar")


@pytest.mark.django_db
def test_it_answers_304_to_a_calendar_app_that_has_the_current_feed(client, alice, now):
    token = calendar_token_regenerate(participant=alice)
    url = reverse("portal-feed", args=[token])
    first = client.get(url)
    etag = first["ETag"]

    again = client.get(url, HTTP_IF_NONE_MATCH=etag)

    assert first.status_code == 200 and etag
    assert again.status_code == 304 and not again.content
    assert again["ETag"] == etag and again["Cache-Control"] == "private, max-age=900"


@pytest.mark.django_db
def test_it_sends_the_whole_feed_again_once_a_visit_changes(client, alice, schedule, now):
    token = calendar_token_regenerate(participant=alice)
    url = reverse("portal-feed", args=[token])
    etag = client.get(url)["ETag"]
    now.shift(dt.timedelta(minutes=5))
    session = schedule[-1]
    session.status, session.cancel_reason = "cancelled", "Closure"
    session.save()

    response = client.get(url, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert response["ETag"] != etag and b"STATUS:CANCELLED" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("enrollment", [None, "referred"])
def test_it_serves_an_empty_feed_to_someone_not_yet_in_care(client, site, track, enrollment,
                                                            django_assert_max_num_queries):
    """The participant comes with their enrollments in one query; without any (a referral
    is not one yet) they are found on their own."""
    from tests import factories
    person = factories.ParticipantFactory(home_site=site)
    if enrollment:
        factories.EnrollmentFactory(participant=person, track=track, status=enrollment)
    token = calendar_token_regenerate(participant=person)

    with django_assert_max_num_queries(3):
        response = client.get(reverse("portal-feed", args=[token]))

    assert response.status_code == 200
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]) == site.public_alias
    assert not calendar.walk("VEVENT")
