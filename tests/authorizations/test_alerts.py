"""Each authorization alert on Today and the chart: what raises it and what clears it."""
import datetime as dt

import pytest
from django.urls import reverse

from authorizations.models import Coverage, Payer
from authorizations.selectors import AlertKind, authorization_alerts
from authorizations.services import authorization_usage_refresh
from tests.authorizations.world import MONDAY, TODAY, build_world

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def day(n: int) -> dt.date:
    return MONDAY + dt.timedelta(days=n)


def alerts(w, today=TODAY):
    # The rows were written by factories, past the services' signals: refresh as beat does.
    authorization_usage_refresh(today=today)
    return authorization_alerts(site_ids=[w.site.pk], today=today)


def kinds(w, today=TODAY):
    return [(a.kind, a.on_date) for a in alerts(w, today)]


def test_it_warns_when_units_left_reach_the_programs_threshold_and_clears_on_more_units():
    w = build_world(alert_units=3)
    auth = w.authorize(units_authorized=5)
    w.attend(day(0))
    assert kinds(w) == []  # 4 left
    w.attend(day(1))

    (alert,) = alerts(w)

    assert alert.kind == AlertKind.LOW_UNITS and alert.participant == "Avery Adams"
    assert "3 of 5 day units left" in alert.message and "Mar 1, 2026" in alert.message
    auth.units_authorized = 10
    auth.save()
    assert kinds(w) == []


def test_it_warns_of_sessions_scheduled_beyond_the_units_and_past_the_end():
    w = build_world(alert_units=0)
    auth = w.authorize(units_authorized=3, end_date=day(11))
    w.attend(day(0))
    for n in (9, 10, 11, 14):
        w.attend(day(n), "expected")

    assert kinds(w) == [(AlertKind.OVER_UNITS, day(11)), (AlertKind.AFTER_END, day(14))]
    auth.units_authorized = 4
    auth.save()
    w.authorize(number="RENEWAL-2", start_date=day(12), end_date=day(40))
    assert kinds(w) == []


def test_it_warns_of_a_review_due_within_the_programs_days_and_clears_when_moved():
    w = build_world(review_days=7)
    auth = w.authorize(next_review_date=TODAY + dt.timedelta(days=7))
    assert kinds(w) == [(AlertKind.REVIEW_DUE, TODAY + dt.timedelta(days=7))]
    auth.next_review_date = TODAY + dt.timedelta(days=8)
    auth.save()
    assert kinds(w) == []


def test_it_warns_of_an_authorization_that_expired_while_the_participant_is_active():
    w = build_world()
    w.authorize(end_date=TODAY - dt.timedelta(days=1))
    assert kinds(w) == [(AlertKind.EXPIRED, TODAY - dt.timedelta(days=1))]
    # A renewal requested for the same code clears it; denied, the alert is back.
    renewal = w.authorize(number="", status="requested", start_date=TODAY,
                          end_date=TODAY + dt.timedelta(days=30))
    assert kinds(w) == []
    renewal.status = "denied"
    renewal.save()
    assert kinds(w) == [(AlertKind.EXPIRED, TODAY - dt.timedelta(days=1))]
    w.enrollment.status = "on_hold"
    w.enrollment.held_at = dt.datetime(2026, 2, 10, tzinfo=dt.UTC)
    w.enrollment.save()
    assert kinds(w) == []


def test_it_warns_when_a_payer_needs_an_authorization_and_none_is_recorded():
    w = build_world()
    Coverage.objects.create(enrollment=w.enrollment, payer=w.payer)
    assert kinds(w) == [(AlertKind.MISSING, MONDAY)]
    w.authorize(status="requested", number="")
    assert kinds(w) == []


def test_it_does_not_ask_for_an_authorization_a_payer_does_not_need():
    w = build_world()
    self_pay = Payer.objects.create(name="Sliding scale (invented)", requires_authorization=False)
    Coverage.objects.create(enrollment=w.enrollment, payer=self_pay)
    assert kinds(w) == []


def test_it_shows_the_alerts_on_today_and_the_chart(site, as_front_desk, frozen_today):
    w = build_world(site=site)
    w.authorize(units_authorized=2)
    w.attend(day(0))
    elsewhere = build_world()
    elsewhere.authorize(units_authorized=1)
    authorization_usage_refresh(today=TODAY)

    today = as_front_desk.get(reverse("home")).text
    chart = as_front_desk.get(reverse("participant_chart", args=[w.participant.code])).text

    box = today.split('id="authorization-alerts-heading"')[1].split("</section>")[0]
    assert box.count("authorization-alert\"") == 1
    assert "Avery Adams" in box and "1 of 2 day units left" in box
    assert "1 of 2 day units left" in chart


@pytest.mark.parametrize("size", [2, 20])
def test_it_adds_at_most_two_queries_to_today_whatever_the_number_of_alerts(
        site, as_front_desk, frozen_today, size, django_assert_max_num_queries):
    for i in range(size):
        w = build_world(site=site)
        w.authorize(number=f"N-{i}", units_authorized=1,
                    next_review_date=TODAY + dt.timedelta(days=1))
        w.attend(day(0))
        w.attend(day(9), "expected")
        Coverage.objects.create(enrollment=build_world(site=site).enrollment, payer=w.payer)
    authorization_usage_refresh(today=TODAY)
    # Today's own 13, plus the authorizations' usage and the missing-authorization check.
    with django_assert_max_num_queries(15):
        page = as_front_desk.get(reverse("home")).text
    assert page.count('class="list-group-item authorization-alert"') == min(25, size * 4)


def test_it_follows_attendance_marked_on_the_roster_to_todays_alert(
        site, front_desk, as_front_desk, frozen_today, django_capture_on_commit_callbacks):
    from sessions.services.attendance import attendance_mark

    w = build_world(site=site)
    w.authorize(units_authorized=5)  # saved through the model: no usage stored yet
    rows = [w.attend(day(9), "expected", hour=8)]
    authorization_usage_refresh(today=TODAY)
    assert "authorization-alert\"" not in as_front_desk.get(reverse("home")).text

    w.authorize(number="TWO", units_authorized=2, service_code="H0015", start_date=day(9))
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(attendance=rows[0], status="present", by=front_desk)

    box = as_front_desk.get(reverse("home")).text.split(
        'id="authorization-alerts-heading"')[1].split("</section>")[0]
    assert "1 of 2 day units left on" in box


def test_a_closure_takes_its_day_out_of_the_stored_projection_and_the_alert_clears(
        django_capture_on_commit_callbacks, frozen_today):
    from authorizations.models import AuthorizationUsage
    from sessions.services.schedule import closure_add

    w = build_world(alert_units=0)
    auth = w.authorize(units_authorized=2)
    for n in (9, 10, 11):  # today and the two days after, still expected
        w.attend(day(n), "expected")
    assert kinds(w) == [(AlertKind.OVER_UNITS, day(11))]

    with django_capture_on_commit_callbacks(execute=True):
        closure_add(site=w.site, date=day(11), reason="Holiday", notify=False)

    usage = AuthorizationUsage.objects.get(authorization=auth)
    assert (usage.scheduled, usage.over_from) == (2, None)
    assert authorization_alerts(site_ids=[w.site.pk], today=TODAY) == []


def test_an_authorization_saved_in_the_admin_stores_its_usage(admin_client, frozen_today):
    from authorizations.models import AuthorizationUsage

    w = build_world()
    w.attend(day(0))
    response = admin_client.post(reverse("admin:authorizations_authorization_add"), {
        "enrollment": w.enrollment.pk, "payer": w.payer.pk, "member_id": "", "number": "ADM-9",
        "status": "approved", "level_of_care": "2.1", "unit": "day", "service_code": "H0015",
        "units_authorized": "5", "start_date": "2026-02-02", "end_date": "2026-02-28",
        "next_review_date": "", "note": ""})

    assert response.status_code == 302
    assert AuthorizationUsage.objects.get(authorization__number="ADM-9").used == 1


def test_it_stores_usage_with_each_sites_own_date():
    import time_machine

    from authorizations.models import AuthorizationUsage

    w = build_world()
    auth = w.authorize()
    w.attend(day(9), "expected", hour=23)  # 6 pm in New York on Wednesday 11 February
    # 8 pm in New York is already Thursday in UTC: the evening session is still ahead there.
    with time_machine.travel(dt.datetime(2026, 2, 12, 1, 0, tzinfo=dt.UTC), tick=False):
        authorization_usage_refresh()

    usage = AuthorizationUsage.objects.get(authorization=auth)
    assert (usage.as_of, usage.scheduled) == (TODAY, 1)
