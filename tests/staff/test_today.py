import datetime as dt

import pytest
from django.urls import reverse

from sessions.services.attendance import attendance_mark
from tests import factories

from .conftest import MONDAY, login, make_group_session, make_someone_at_risk

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


def test_it_names_each_sessions_site_for_someone_at_two_sites(site, track):
    uptown = factories.SiteFactory(time_zone="America/New_York")
    make_group_session(track, size=1, hour=9, title="Main group")
    make_group_session(factories.TrackFactory(site=uptown), size=1, hour=10, title="Uptown group")
    both = factories.StaffFactory(role="clinician", sites=[site, uptown])
    one = factories.StaffFactory(role="clinician", sites=[site])

    page = login(both).get(reverse("home")).content.decode()
    assert f"· {site.name}" in page and f"· {uptown.name}" in page
    # At one site the site goes without saying.
    assert f"· {site.name}" not in login(one).get(reverse("home")).content.decode()


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
    # 12: the at-risk box reads the week and who is at risk in one query (it took two);
    # +1: authorization alerts (usage of every authorization and payers with none recorded,
    # one statement); -1: the follow-ups and their count are read together.
    with django_assert_max_num_queries(12):
        assert as_clinician.get(reverse("home")).status_code == 200


def test_it_counts_every_open_follow_up_at_my_sites(as_director, group_session, front_desk):
    _session, rows = group_session
    for row in rows:
        attendance_mark(attendance=row, status="absent", by=front_desk)
    page = as_director.get(reverse("home")).content.decode()
    assert "3 open at your site" in page  # the director is assigned none but sees the count


# --- The outbox warning: directors see what /healthz sees ------------------------------------
def fail_reminders(site, count: int) -> None:
    from django.utils import timezone

    from reminders.models import Reminder

    now = timezone.now()
    for _ in range(count):
        participant = factories.ParticipantFactory(home_site=site)
        Reminder.objects.create(
            participant=participant, site=site, visit_date=MONDAY + dt.timedelta(days=1),
            kind="day_before", channel="sms", status="failed", reason="retries_exhausted",
            due_at=now - dt.timedelta(hours=1), send_before=now + dt.timedelta(hours=20))


def sweep_now() -> None:
    from iop_clinic.vitals import vitals_record_run
    from reminders.sweeper import SWEEP_VITALS_NAME

    vitals_record_run(name=SWEEP_VITALS_NAME)


def outbox_alert(page: str) -> str | None:
    return page.split('id="outbox-alert"')[1].split("</section>")[0] if 'id="outbox-alert"' in page else None


def test_it_warns_a_director_when_the_sweeper_has_stopped(as_director):
    alert = outbox_alert(as_director.get(reverse("home")).content.decode())

    assert alert is not None
    assert "has not run since the reminder service last started" in alert
    assert 'href="/healthz"' in alert
    assert 'data-sign="due"' not in alert and 'data-sign="failed"' not in alert


def test_it_says_how_long_ago_the_sweeper_last_ran(as_director):
    import time_machine

    sweep_now()
    with time_machine.travel(dt.timedelta(minutes=7, seconds=30)):
        alert = outbox_alert(as_director.get(reverse("home")).content.decode())

    assert "last ran 7 minutes ago" in alert


def test_it_warns_a_director_when_failures_pile_up_and_links_to_them(as_director, site):
    sweep_now()
    fail_reminders(site, 11)

    alert = outbox_alert(as_director.get(reverse("home")).content.decode())

    assert "11 reminders could not be sent in the last hour" in alert
    assert 'href="#failed-reminders-heading"' in alert
    assert 'data-sign="sweeper"' not in alert


def test_it_shows_no_warning_while_the_outbox_is_healthy(as_director, site):
    sweep_now()
    fail_reminders(site, 10)  # at the limit, not over it
    assert outbox_alert(as_director.get(reverse("home")).content.decode()) is None


def test_it_shows_the_warning_to_directors_only(as_clinician, as_front_desk, site):
    fail_reminders(site, 11)  # and no sweep on record: degraded twice over
    for client in (as_clinician, as_front_desk):
        page = client.get(reverse("home")).content.decode()
        assert outbox_alert(page) is None and "Reminders may be late" not in page


@pytest.mark.parametrize("sessions_count", [1, 8])
def test_it_keeps_a_directors_budget_with_the_warning(as_director, track, clinician, front_desk,
                                                      django_assert_max_num_queries, sessions_count):
    for hour in range(8, 8 + sessions_count):
        _session, rows = make_group_session(track, size=4, hour=hour, facilitator=clinician)
        attendance_mark(attendance=rows[0], status="absent", by=front_desk)
    fail_reminders(track.site, 11)
    # The clinician's 12 (11 with the follow-ups and their count read together, and 1 for the
    # authorization alerts), and the two that read the outbox for the warning
    # (reminders/health.py).
    with django_assert_max_num_queries(14):
        page = as_director.get(reverse("home")).content.decode()
    assert outbox_alert(page) is not None


def test_it_lists_who_is_at_risk_without_a_query_more(as_clinician, track, front_desk,
                                                    django_assert_max_num_queries):
    """Someone at risk costs the page no query more (9; it was 12, one for the names, one for
    the missing authorizations, one for the open follow-ups' count): the week's statement also
    reads their name and code."""
    rows = make_someone_at_risk(track, by=front_desk)
    as_clinician.get(reverse("home"))  # the session's reads, as in the budget above

    with django_assert_max_num_queries(9):
        page = as_clinician.get(reverse("home")).content.decode()

    box = page[page.index('data-include-point="at-risk"'):]
    box = box[:box.index("</section>")]
    assert rows[0].participant.full_name in box
    assert rows[1].participant.full_name not in box
