import datetime as dt

import pytest
from django.urls import reverse

from accounts.roles import Role
from tests import factories

from .conftest import MONDAY, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_it_shows_the_week_of_my_site(as_clinician, track, clinician):
    make_group_session(track, size=1, day=MONDAY, title="Monday skills")
    make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=3), title="Thursday skills")
    make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=7), title="Later group")

    page = as_clinician.get(reverse("calendar")).content.decode()

    assert "Monday skills" in page and "Thursday skills" in page
    assert "Later group" not in page
    assert "Sunday, January 11" in page


def test_it_moves_week_by_week(as_clinician, track):
    make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=8), title="Following Tuesday")
    page = as_clinician.get(reverse("calendar"), {"week": "2026-01-14"}).content.decode()
    assert "Following Tuesday" in page


def test_it_filters_by_room_facilitator_and_track(as_clinician, site, track, clinician):
    other_room = factories.RoomFactory(site=site, name="Room B")
    other_track = factories.TrackFactory(site=site, name="Morning track")
    someone = factories.StaffFactory(role=Role.CLINICIAN, sites=[site])
    make_group_session(track, size=1, title="In A by lead", facilitator=clinician)
    other, _ = make_group_session(other_track, size=1, hour=9, title="In B by someone",
                                  facilitator=someone)
    other.room = other_room
    other.save()

    def titles(**params):
        return as_clinician.get(reverse("calendar"), params).content.decode()

    assert "In B by someone" not in titles(room=track.room_for_tests.pk)
    assert "In A by lead" not in titles(facilitator=someone.pk)
    page = titles(track=track.pk)
    assert "In A by lead" in page and "In B by someone" not in page


@pytest.mark.parametrize("params", [{"site": "abc"}, {"week": "soon"}, {"room": "99999"},
                                    {"week": "0001-01-01"}, {"week": "9999-12-31"},
                                    {"track": "-1"}, {"facilitator": "x"}])
def test_it_ignores_filters_it_cannot_use(as_clinician, track, params):
    make_group_session(track, size=1, title="Still shown")
    response = as_clinician.get(reverse("calendar"), params)
    assert response.status_code == 200
    assert "Still shown" in response.content.decode()


def test_it_never_shows_another_sites_calendar(as_clinician, other_site):
    other_track = factories.TrackFactory(site=other_site)
    make_group_session(other_track, size=1, title="Far away")
    page = as_clinician.get(reverse("calendar"), {"site": other_site.pk}).content.decode()
    assert "Far away" not in page


@pytest.mark.parametrize("per_day", [1, 4])
def test_it_keeps_a_fixed_query_budget(as_clinician, track, per_day,
                                       django_assert_max_num_queries):
    for offset in range(7):
        for hour in range(per_day):
            make_group_session(track, size=2, day=MONDAY + dt.timedelta(days=offset),
                               hour=8 + hour)
    with django_assert_max_num_queries(12):
        assert as_clinician.get(reverse("calendar")).status_code == 200
