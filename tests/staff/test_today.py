import datetime as dt

import pytest
from django.urls import reverse

from sessions.services.attendance import attendance_mark
from tests import factories

from .conftest import MONDAY, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_it_lists_the_days_sessions_in_time_order_with_counts(as_clinician, track, clinician):
    late, rows = make_group_session(track, size=3, hour=18, title="Evening skills",
                                    facilitator=clinician)
    early, _ = make_group_session(track, size=2, hour=9, title="Morning check-in")
    attendance_mark(attendance=rows[0], status="present", by=clinician)

    page = as_clinician.get(reverse("home")).content.decode()

    assert page.index("Morning check-in") < page.index("Evening skills")
    assert "1</span> / 3 marked" in page
    assert "0</span> / 2 marked" in page
    assert "Room A" in page
    assert clinician.get_full_name() in page


def test_it_strikes_through_a_cancelled_session(as_clinician, track):
    make_group_session(track, size=1, title="Snowed out", status="cancelled",
                       cancel_reason="Snow")
    page = as_clinician.get(reverse("home")).content.decode()
    assert "session-cancelled" in page
    assert "Cancelled" in page


def test_it_shows_another_day_from_the_date_parameter(as_clinician, track):
    make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=2), title="Wednesday group")
    assert "Wednesday group" not in as_clinician.get(reverse("home")).content.decode()
    page = as_clinician.get(reverse("home"), {"date": "2026-01-07"}).content.decode()
    assert "Wednesday group" in page


@pytest.mark.parametrize("bad", ["tomorrow", "2026-13-40", "9" * 30, "<script>", "0001-01-01",
                                 "9999-12-31"])
def test_it_falls_back_to_today_for_a_date_it_cannot_read(as_clinician, track, bad):
    make_group_session(track, size=1, title="Tonight")
    response = as_clinician.get(reverse("home"), {"date": bad})
    assert response.status_code == 200
    assert "Tonight" in response.content.decode()
    assert "not a date" in response.content.decode()


def test_it_leaves_out_other_sites_sessions(as_clinician, other_site):
    other_track = factories.TrackFactory(site=other_site)
    make_group_session(other_track, size=1, title="Elsewhere")
    assert "Elsewhere" not in as_clinician.get(reverse("home")).content.decode()


def test_it_shows_my_open_follow_ups(as_clinician, group_session, front_desk):
    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="absent", by=front_desk)
    page = as_clinician.get(reverse("home")).content.decode()
    assert first.participant.full_name in page
    assert 'data-include-point="at-risk"' in page


@pytest.mark.parametrize("sessions_count", [1, 8])
def test_it_keeps_a_fixed_query_budget(as_clinician, track, clinician, front_desk,
                                       django_assert_max_num_queries, sessions_count):
    for hour in range(8, 8 + sessions_count):
        _session, rows = make_group_session(track, size=4, hour=hour, facilitator=clinician)
        attendance_mark(attendance=rows[0], status="absent", by=front_desk)
    # 13: the at-risk box sums the week in one query and fetches who is at risk in another;
    # +2: authorization alerts (usage of every authorization, payers with none recorded).
    with django_assert_max_num_queries(15):
        assert as_clinician.get(reverse("home")).status_code == 200


def test_it_counts_every_open_follow_up_at_my_sites(as_director, group_session, front_desk):
    _session, rows = group_session
    for row in rows:
        attendance_mark(attendance=row, status="absent", by=front_desk)
    page = as_director.get(reverse("home")).content.decode()
    assert "3 open at your site" in page  # the director is assigned none but sees the count
