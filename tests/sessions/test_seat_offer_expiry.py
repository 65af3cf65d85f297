"""Seat offers expire after the program's seat_offer_hours and pass to the next person waiting."""
import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from participants.models import Enrollment
from sessions.services.enrollment import enrollment_admit_from_waitlist, enrollment_offers_expire
from tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def waitlist(track, count):
    return [factories.EnrollmentFactory(
        track=track, status="waitlisted", waitlisted_at=NOW - dt.timedelta(days=10 - i))
        for i in range(count)]


@pytest.fixture
def offered(site):
    """A one-seat track with its seat offered to the first of three people waiting."""
    track = factories.TrackFactory(site=site, mode="rolling", capacity=1,
                                   start_date=NOW.date() - dt.timedelta(days=30))
    first, second, third = waitlist(track, 3)
    Enrollment.objects.filter(pk=first.pk).update(seat_offered_at=NOW - dt.timedelta(hours=47))
    return track, first, second, third


def offers(track):
    return list(Enrollment.objects.filter(track=track, seat_offered_at__isnull=False)
                .values_list("pk", flat=True))


def test_it_passes_an_unanswered_offer_to_the_next_person_once(offered):
    track, first, second, _ = offered
    with time_machine.travel(NOW, tick=False):
        assert enrollment_offers_expire() == 0  # 47 of 48 hours: still open
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        assert enrollment_offers_expire() == 1
        assert enrollment_offers_expire() == 0  # idempotent
    assert offers(track) == [second.pk]
    first.refresh_from_db()
    assert first.status == "waitlisted" and first.waitlisted_at == NOW + dt.timedelta(hours=1)


def test_it_follows_the_programs_setting(offered):
    track, first, *_ = offered
    track.program.seat_offer_hours = 72
    track.program.save()
    with time_machine.travel(NOW + dt.timedelta(hours=24), tick=False):
        assert enrollment_offers_expire() == 0
    assert offers(track) == [first.pk]


def test_front_desk_can_still_admit_by_hand_before_expiry(offered):
    track, first, *_ = offered
    with time_machine.travel(NOW, tick=False):
        enrollment_admit_from_waitlist(enrollment=first)
        assert enrollment_offers_expire() == 0
    first.refresh_from_db()
    assert first.status == "active" and offers(track) == []


def test_today_shows_each_offer_with_its_time_left(front_desk, site, offered):
    from tests.staff.conftest import login

    _, first, *_ = offered
    with time_machine.travel(NOW, tick=False):
        page = login(front_desk).get(reverse("home")).content.decode()
    section = page.split('id="offers-heading"')[1]
    assert first.participant.full_name in section and "1\xa0hour left to answer" in section
    # ... and can still admit by hand from there, which ends the offer.
    admit = reverse("waitlist_admit", args=[first.pk])
    assert f'action="{admit}"' in section.split("</section>")[0]
    with time_machine.travel(NOW, tick=False):
        response = login(front_desk).post(admit, {"next": "home"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == "active" and first.seat_offered_at is None
