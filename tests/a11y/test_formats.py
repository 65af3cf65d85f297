"""One date and time format per language, in the site's zone (iop_clinic/formats, formatting.py)."""
import datetime as dt
import zoneinfo

import pytest
import time_machine
from auditlog.context import set_actor
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from tests import factories
from tests.auth import sign_in

NY = zoneinfo.ZoneInfo("America/New_York")
MOMENT = dt.datetime(2026, 11, 30, 23, 5, tzinfo=dt.UTC)  # 6:05 PM in New York


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def test_it_writes_dates_and_times_the_us_english_way():
    local = MOMENT.astimezone(NY)
    with timezone.override(NY):
        _assert_us_english(local)


def _assert_us_english(local):
    assert render("{{ m|clock }}", m=local) == "6:05 PM"
    assert render("{{ m|clock }}", m=dt.time(9, 30)) == "9:30 AM"
    assert render("{{ m|day }}", m=local.date()) == "Mon, Nov 30"
    assert render("{{ m|long_day }}", m=local.date()) == "Monday, November 30, 2026"
    assert render("{{ m|when }}", m=local) == "Mon, Nov 30, 6:05 PM"
    assert render("{{ m|date }}", m=local.date()) == "Nov 30, 2026"
    assert render("{{ m|time }}", m=local) == "6:05 PM"


def test_it_shows_an_aware_time_in_the_zone_it_was_put_in():
    assert render("{% load tz %}{{ m|timezone:'America/New_York'|clock }}", m=MOMENT) == "6:05 PM"
    assert render("{% load tz %}{% timezone 'America/Los_Angeles' %}{{ m|when }}{% endtimezone %}",
                  m=MOMENT) == "Mon, Nov 30, 3:05 PM"


def test_it_writes_each_language_its_own_day_and_hour_page_after_page():
    """Days and wall-clock hours are formatted once a process (formatting._date_text): a
    Spanish page after an English one, and back, shows each its own words."""
    from django.utils import translation

    monday = dt.date(2026, 11, 30)
    source = "{{ d|day }} · {{ d|long_day }} · {{ t|clock }}"
    with translation.override("en"):
        english = render(source, d=monday, t=dt.time(18, 5))
    with translation.override("es"):
        spanish = render(source, d=monday, t=dt.time(18, 5))
    with translation.override("en"):
        assert render(source, d=monday, t=dt.time(18, 5)) == english

    assert english == "Mon, Nov 30 · Monday, November 30, 2026 · 6:05 PM"
    assert spanish != english and "nov" in spanish.lower()


def test_it_leaves_nothing_for_a_missing_value():
    assert render("[{{ m|clock }}{{ m|day }}{{ m|when }}]", m=None) == "[]"


@pytest.mark.django_db
def test_it_shows_the_audit_trail_in_the_sites_zone(client, site):
    director = factories.StaffFactory(role="director", sites=[site])
    participant = factories.ParticipantFactory(home_site=site)
    with time_machine.travel(MOMENT, tick=False):
        sign_in(client, director)
        client.get(reverse("participant_chart", args=[participant.code]))  # a view, recorded
        assert AccessEvent.objects.filter(at=MOMENT).exists()
        page = client.get(
            reverse("participant_audit_trail", args=[participant.code])).content.decode()
        assert "Nov 30, 2026, 6:05 PM" in page  # New York, not UTC's 11:05 PM
        assert "11:05 PM" not in page


@pytest.mark.django_db
def test_it_shows_changed_times_and_numbers_in_the_trail_as_the_pages_do(client, site):
    director = factories.StaffFactory(role="director", sites=[site])
    participant = factories.ParticipantFactory(home_site=site, phone="+12015550123")
    with set_actor(director):
        factories.ContactConsentFactory(participant=participant, given_at=MOMENT)
        participant.phone = "+12015550188"
        participant.save()
    sign_in(client, director)

    page = client.get(reverse("participant_audit_trail", args=[participant.code])).content.decode()

    assert "(201) 555-0123 → (201) 555-0188" in page
    assert "+1201" not in page
    assert "— → Nov 30, 2026, 6:05 PM" in page  # given at, in New York
    assert "23:05" not in page
