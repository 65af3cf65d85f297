"""Cancel, move and closure pages say how many people will be told, and can tell nobody."""
import datetime as dt
import re

import pytest
from django.urls import reverse

from reminders.models import Reminder
from sessions.models import Attendance
from tests import factories

from .conftest import MONDAY, make_group_session



@pytest.fixture
def rolling(site, clinician):
    return factories.TrackFactory(site=site, mode="rolling", capacity=20, lead_clinician=clinician)


pytestmark = pytest.mark.usefixtures("frozen_now")

DAY = MONDAY + dt.timedelta(days=3)  # within the 14-day notice window of the frozen "now"


def told(session, size):
    """`size` people expected at a session; all but one agreed to texts."""
    session, rows = make_group_session(session, size=size, day=DAY)
    for row in rows[1:]:
        row.participant.reminder_channels = "sms"
        row.participant.save(update_fields=["reminder_channels"])
        factories.ContactConsentFactory(participant=row.participant, channel="sms")
    rows[0].participant.reminder_channels = "none"
    rows[0].participant.save(update_fields=["reminder_channels"])
    return session


@pytest.mark.parametrize("size", [3, 12])
def test_it_shows_how_many_people_a_cancellation_tells_within_a_query_budget(
        as_front_desk, rolling, size, django_assert_max_num_queries):
    session = told(rolling, size)
    with django_assert_max_num_queries(22):
        page = as_front_desk.get(reverse("session_cancel", args=[session.pk])).content.decode()
    assert f"{size - 1} people will be told of this change" in page
    assert 'name="notify"' in page and "checked" in page
    with django_assert_max_num_queries(22):
        page = as_front_desk.get(reverse("session_change", args=[session.pk])).content.decode()
    assert f"{size - 1} people will be told of this change" in page


def test_it_tells_the_people_expected_when_the_box_stays_ticked(as_front_desk, rolling):
    session = told(rolling, 3)
    as_front_desk.post(reverse("session_cancel", args=[session.pk]),
                       {"reason": "Facilitator ill", "notify": "on"})
    assert Reminder.objects.filter(kind="change", status="pending").count() == 2


def test_it_tells_nobody_when_staff_untick_the_box(as_front_desk, as_director, site, rolling):
    session = told(rolling, 3)
    response = as_front_desk.post(reverse("session_cancel", args=[session.pk]),
                                  {"reason": "Facilitator ill"})
    assert response.status_code == 302
    other = told(rolling, 2)
    response = as_director.post(reverse("closure_list"), {
        "site": site.pk, "date": DAY.isoformat(), "reason": "Snow",
        "confirmed": f"{site.pk}:{DAY.isoformat()}"})
    other.refresh_from_db()
    assert other.status == "cancelled" and "0 people will be told" in response.content.decode()
    assert not Reminder.objects.filter(kind="change").exists()


def test_it_says_before_a_closure_how_many_people_will_be_told_then_tells_them(
        as_director, site, rolling):
    session = told(rolling, 4)
    fields = {"site": site.pk, "date": DAY.isoformat(), "reason": "Snow", "notify": "on"}
    page = as_director.post(reverse("closure_list"), fields).content.decode()
    preview = page.split('id="closure-preview">')[1].split("</div>")[0]
    assert "cancels 1 session. 3 people will be told of this change" in preview
    box = re.search(r'<input[^>]*name="notify"[^>]*>', page).group(0)
    assert "checked" in box  # still ticked, and can be unticked before confirming
    session.refresh_from_db()
    assert session.status == "scheduled" and not Reminder.objects.exists()  # nothing done yet
    # A confirmation for another day previews that day instead of closing it.
    later = DAY + dt.timedelta(days=1)
    make_group_session(rolling, size=1, day=later)
    page = as_director.post(reverse("closure_list"), {
        **fields, "date": later.isoformat(),
        "confirmed": f"{site.pk}:{DAY.isoformat()}"}).content.decode()
    assert 'id="closure-preview"' in page and "Cancelled by this closure" not in page
    response = as_director.post(reverse("closure_list"), {
        **fields, "confirmed": f"{site.pk}:{DAY.isoformat()}"})
    assert "3 people will be told" in response.content.decode()
    session.refresh_from_db()
    assert session.status == "cancelled"
    assert Reminder.objects.filter(kind="change", status="pending").count() == 3


def test_it_closes_a_day_without_sessions_at_once(as_director, site):
    response = as_director.post(reverse("closure_list"), {
        "site": site.pk, "date": DAY.isoformat(), "reason": "Snow", "notify": "on"})
    assert "No session was scheduled that day." in response.content.decode()


def test_it_shows_each_participants_texted_answer_on_the_roster(as_clinician, group_session):
    session, rows = group_session
    Attendance.objects.filter(pk=rows[0].pk).update(confirmation="confirmed")
    Attendance.objects.filter(pk=rows[1].pk).update(confirmation="cant_come")
    page = as_clinician.get(reverse("roster", args=[session.pk])).content.decode()
    assert page.count('data-confirmation="confirmed">Confirmed by text<') == 1
    assert page.count('data-confirmation="cant_come">Can&#x27;t come (by text)<') == 1


def test_the_timetable_pages_say_how_many_people_a_move_tells_and_can_tell_nobody(
        as_director, rolling):
    slot = factories.WeeklySlotFactory(track=rolling, weekday=DAY.weekday())
    session = told(rolling, 3)
    session.weekly_slot = slot
    session.save(update_fields=["weekly_slot"])
    change = reverse("slot_change", args=[rolling.pk, slot.pk])
    remove = reverse("slot_remove", args=[rolling.pk, slot.pk])
    for url in (change, remove):
        page = as_director.get(url).content.decode()
        assert "2 people will be told of this change" in page and 'name="notify"' in page
    fields = {"weekday": DAY.weekday(), "start_time": "19:00", "end_time": "21:00",
              "session_type": slot.session_type_id, "title": slot.title}
    assert as_director.post(change, fields).status_code == 302  # box unticked
    assert not Reminder.objects.filter(kind="change").exists()
    assert as_director.post(change, {**fields, "start_time": "17:00", "notify": "on"}
                            ).status_code == 302
    assert Reminder.objects.filter(kind="change", status="pending").count() == 2


@pytest.mark.parametrize("size", [3, 12])
def test_it_previews_a_closure_within_a_query_budget(as_director, site, rolling, size,
                                                     django_assert_max_num_queries):
    told(rolling, size)
    # 18 for 3 or 12 people: the closure page (9), the day's sessions, and who they would tell.
    with django_assert_max_num_queries(18):
        page = as_director.post(reverse("closure_list"), {
            "site": site.pk, "date": DAY.isoformat(), "notify": "on"}).content.decode()
    assert f"{size - 1} people will be told of this change unless you untick" in page
