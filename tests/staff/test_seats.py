"""Issue 13, item 5: one definition of a taken seat, shown with its parts on every page."""
import datetime as dt

import pytest
from django.urls import reverse

from participants.selectors import track_seats, track_seats_taken
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

WHEN = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


@pytest.fixture
def full_track(site):
    """Capacity 10: 8 active, 1 on hold, 1 offered a seat; 1 more waiting without an offer."""
    track = factories.TrackFactory(site=site, capacity=10, name="Evening")
    for _ in range(8):
        factories.EnrollmentFactory(track=track)
    factories.EnrollmentFactory(track=track, status="on_hold", held_at=WHEN)
    factories.EnrollmentFactory(track=track, status="waitlisted", waitlisted_at=WHEN,
                                seat_offered_at=WHEN)
    factories.EnrollmentFactory(track=track, status="waitlisted", waitlisted_at=WHEN)
    return track


def test_it_counts_active_on_hold_and_open_offers_as_taken(full_track):
    seats = track_seats(tracks=[full_track])[full_track.pk]
    assert (seats.active, seats.on_hold, seats.offered, seats.taken, seats.free) == (8, 1, 1, 10, 0)
    assert track_seats_taken(track=full_track) == 10


def test_it_shows_the_same_seats_with_their_parts_on_every_page(as_director, full_track,
                                                                 admin_client):
    parts = "8 active, 1 on hold, 1 offered"
    track_page = as_director.get(reverse("track_detail", args=[full_track.pk])).content.decode()
    program_page = as_director.get(reverse("program_list")).content.decode()
    admin_page = admin_client.get(reverse("admin:programs_track_changelist")).content.decode()

    assert f"10</span> of 10 seats taken: {parts}" in track_page
    assert f"10 of 10 seats taken ({parts})" in program_page
    assert f"10 ({parts})" in admin_page


@pytest.mark.parametrize("tracks", [1, 6])
def test_it_keeps_the_program_list_within_a_fixed_budget(as_director, site, tracks,
                                                         django_assert_max_num_queries):
    for _ in range(tracks):
        track = factories.TrackFactory(site=site)
        factories.EnrollmentFactory(track=track)
    with django_assert_max_num_queries(12):
        assert as_director.get(reverse("program_list")).status_code == 200
