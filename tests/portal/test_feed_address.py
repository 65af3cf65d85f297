"""The calendar feed gives the street address only when the participant turns it on in the
portal: a synced or shared phone calendar should not say where they go."""
import pytest
from django.urls import reverse
from icalendar import Calendar

from participants.models import Participant
from participants.portal_accounts import calendar_token_regenerate

pytestmark = pytest.mark.django_db


def feed_text(client, participant) -> str:
    token = calendar_token_regenerate(participant=participant)
    response = client.get(reverse("portal-feed", args=[token]))
    assert response.status_code == 200
    return response.content.decode()


def locations(text: str) -> set[str]:
    return {str(e["LOCATION"]) for e in Calendar.from_ical(text).walk("VEVENT")}


def test_it_leaves_the_street_address_out_by_default(client, alice, site, now):
    text = feed_text(client, alice)

    assert locations(text) == {site.public_alias}
    # The whole address: its first word is often a house number, which a UID, a time or a
    # SEQUENCE may hold by chance (the test failed now and then).
    assert site.address not in text


def test_it_adds_the_address_once_the_participant_turns_it_on(alice_client, alice, site, now):
    page = alice_client.get(reverse("portal-calendar"))
    assert "Show the street address in my calendar" in page.content.decode()

    response = alice_client.post(reverse("portal-calendar"),
                                 {"action": "address", "shows_address": "on"})

    assert response.status_code == 302
    assert Participant.objects.get(pk=alice.pk).calendar_shows_address
    alice.refresh_from_db()
    assert locations(feed_text(alice_client, alice)) == {f"{site.public_alias}, {site.address}"}
    page = alice_client.get(reverse("portal-calendar")).content.decode()
    assert 'id="id_shows_address" checked' in page


def test_it_takes_the_address_out_again(alice_client, alice, site, now):
    Participant.objects.filter(pk=alice.pk).update(calendar_shows_address=True)

    alice_client.post(reverse("portal-calendar"), {"action": "address"})

    alice.refresh_from_db()
    assert not alice.calendar_shows_address
    assert locations(feed_text(alice_client, alice)) == {site.public_alias}


def test_it_keeps_the_setting_to_the_participant_alone(client, alice, bob, site, now):
    client.force_login(bob.user)
    client.post(reverse("portal-calendar"), {"action": "address", "shows_address": "on"})

    alice.refresh_from_db()
    assert not alice.calendar_shows_address
    assert locations(feed_text(client, alice)) == {site.public_alias}


def _icalendar_objects_feed(text: str) -> bytes:
    """The feed as icalendar's Calendar and Event objects write it, from the parsed feed: the
    reference the hand-written feed (portal/feed.py) must equal byte for byte."""
    from icalendar import Event

    parsed = Calendar.from_ical(text)
    calendar = Calendar()
    for name in ("prodid", "version", "calscale", "method", "x-wr-calname", "x-published-ttl"):
        calendar.add(name, str(parsed[name]))
    for source in parsed.walk("VEVENT"):
        event = Event()
        event.add("uid", str(source["UID"]))
        event.add("summary", str(source["SUMMARY"]))
        for name in ("dtstart", "dtend", "dtstamp"):
            event.add(name, source.decoded(name))
        event.add("last-modified", source.decoded("last-modified"))
        event.add("sequence", int(source["SEQUENCE"]))
        event.add("location", str(source["LOCATION"]))
        event.add("status", str(source["STATUS"]))
        event.add("transp", str(source["TRANSP"]))
        calendar.add_component(event)
    return calendar.to_ical()


def test_it_writes_the_feed_exactly_as_icalendar_would(client, alice, site, now):
    """Commas, semicolons, backslashes, accents and a line longer than 75 octets are escaped
    and folded as the icalendar library does, and the feed parses back to the same text."""
    site.public_alias = "Clínica Norte; Édifice B, \\ Suite 4"
    site.address = "12 Rue de l'Église, Étage 3; Bâtiment C"
    site.save()
    Participant.objects.filter(pk=alice.pk).update(calendar_shows_address=True)
    alice.refresh_from_db()

    text = feed_text(client, alice)

    assert text.encode() == _icalendar_objects_feed(text)
    assert locations(text) == {f"{site.public_alias}, {site.address}"}
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
