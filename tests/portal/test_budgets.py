"""The portal's pages cost the same number of queries with 9 visits or 45, and show only what a
phone needs: the visits ahead and the latest past ones."""
import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from portal.selectors import HISTORY_LIMIT
from participants.portal_accounts import calendar_token_regenerate
from sessions.services.expected import attendance_expect

from .conftest import make_sessions

pytestmark = pytest.mark.django_db


@pytest.fixture
def longer_schedule(track, room):
    """Five more weeks of Tuesday/Friday sessions, so alice has 9 + 10 more visits."""
    return make_sessions(track, room, weeks=5, weekdays=(1, 4))


def test_it_shows_only_the_latest_past_visits_on_the_home_page(alice_client, alice, now,
                                                               longer_schedule):
    attendance_expect(enrollments=[alice.enrollments.get()])
    now.shift(dt.timedelta(weeks=6))  # nearly everything is over now

    html = alice_client.get(reverse("portal-home")).content.decode()

    history = html.split('id="history"')[1]
    assert history.count("portal-visit") == HISTORY_LIMIT
    assert reverse("portal-my-record-readable") in history


@pytest.mark.parametrize("extra_weeks", [0, 12])
def test_it_keeps_the_portal_pages_on_fixed_budgets(alice_client, alice, track, room, now,
                                                    extra_weeks, django_assert_max_num_queries):
    if extra_weeks:
        make_sessions(track, room, weeks=extra_weeks, weekdays=(1, 4))
        enrollment = alice.enrollments.get()
        enrollment.planned_end_date = track.start_date + dt.timedelta(weeks=extra_weeks)
        enrollment.save()
        attendance_expect(enrollments=[enrollment])
        now.shift(dt.timedelta(weeks=extra_weeks // 2))
    token = calendar_token_regenerate(participant=alice)
    for name, budget in (("portal-home", 10), ("portal-progress", 10),
                         ("portal-reminders", 9), ("portal-my-record", 14)):
        with django_assert_max_num_queries(budget, info=name):
            assert alice_client.get(reverse(name)).status_code == 200
    with django_assert_max_num_queries(2):
        assert Client().get(reverse("portal-feed", args=[token])).status_code == 200
