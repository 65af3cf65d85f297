import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from participants.portal_accounts import calendar_token_regenerate
from sessions.models import Attendance, TherapySession

from tests.privacy import names

from .conftest import PROGRAM_NAME, SLOT_TITLE, attendance_at

pytestmark = pytest.mark.django_db


def now_at():
    return timezone.now()


def _feed(client, token):
    return client.get(reverse("portal-feed", args=[token]))


def _events(response):
    return [c for c in Calendar.from_ical(response.content).walk("VEVENT")]


def test_it_serves_one_neutral_event_per_session(client, alice, schedule, site,
                                                 clinician_with_credentials, now):
    TherapySession.objects.update(facilitator=clinician_with_credentials)
    cancelled = schedule[5]
    cancelled.status, cancelled.cancel_reason = "cancelled", "Closure"
    cancelled.save()
    token = calendar_token_regenerate(participant=alice)

    response = _feed(client, token)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]) == site.public_alias
    events = _events(response)
    recent = [s for s in schedule if s.ends_at >= now_at() - dt.timedelta(days=7)]
    assert len(events) == len(recent) == Attendance.objects.filter(
        participant=alice, session__in=recent).count()
    assert {str(e["SUMMARY"]) for e in events} == {"Appointment"}
    assert all(str(e["LOCATION"]) == site.public_alias for e in events)  # no street address
    assert all("DESCRIPTION" not in e for e in events)
    cancelled_events = [e for e in events if str(e["STATUS"]) == "CANCELLED"]
    assert len(cancelled_events) == 1
    assert cancelled_events[0].decoded("DTSTART") == cancelled.starts_at
    text = response.content.decode()
    staff = clinician_with_credentials
    for secret in (PROGRAM_NAME, "IOP", SLOT_TITLE, "group", "workshop", "individual", "family",
                   "LADC", "Room 2B", "Relapse"):
        assert secret.lower() not in text.lower(), secret
    for name in (staff.last_name, alice.last_name):
        assert not names(text, name), name


def test_it_leaves_visits_over_for_more_than_a_week_out_of_the_feed(client, alice, schedule,
                                                                     now):
    now.shift(dt.timedelta(days=14))
    token = calendar_token_regenerate(participant=alice)

    starts = {e.decoded("DTSTART") for e in _events(_feed(client, token))}

    cutoff = now_at() - dt.timedelta(days=7)
    assert starts == {s.starts_at for s in schedule if s.ends_at >= cutoff}
    assert len(starts) < len(schedule)


def test_it_keeps_a_visit_dated_the_day_before_the_cutoff_in_utc(client, alice, schedule, now):
    """The feed narrows a person's rows by their session's day before their end time: Thursday
    5 March's evening group (6-9 pm in New York) is dated the 5th at its site and ends at 2 am
    UTC on the 6th, so with the week's cutoff at 1 am UTC on the 6th it is still carried."""
    now.move_to(dt.datetime(2026, 3, 13, 1, 0, tzinfo=dt.UTC))
    cutoff = now_at() - dt.timedelta(days=7)
    (thursday,) = [s for s in schedule if s.local_date == dt.date(2026, 3, 5)]
    assert thursday.ends_at >= cutoff and thursday.local_date < cutoff.astimezone(dt.UTC).date()
    token = calendar_token_regenerate(participant=alice)

    starts = {e.decoded("DTSTART") for e in _events(_feed(client, token))}

    assert thursday.starts_at in starts
    assert starts == {s.starts_at for s in schedule if s.ends_at >= cutoff}


def test_it_keeps_uids_stable_and_bumps_sequence_on_change(now, client, alice, schedule):
    token = calendar_token_regenerate(participant=alice)
    before = {str(e["UID"]): e for e in _events(_feed(client, token))}
    now.shift(dt.timedelta(minutes=5))
    session = schedule[7]
    session.starts_at += dt.timedelta(hours=1)
    session.ends_at += dt.timedelta(hours=1)
    session.save()

    after = {str(e["UID"]): e for e in _events(_feed(client, token))}

    assert before.keys() == after.keys()
    changed = [uid for uid in after if after[uid]["SEQUENCE"] != before[uid]["SEQUENCE"]]
    assert len(changed) == 1
    assert after[changed[0]]["SEQUENCE"] > before[changed[0]]["SEQUENCE"]
    assert after[changed[0]].decoded("LAST-MODIFIED") > before[changed[0]].decoded("LAST-MODIFIED")


def test_it_marks_an_excused_visit_cancelled_in_the_feed(client, alice, clinician, now):
    from sessions.services.excuses import excuse_approve, excuse_request
    request = excuse_request(attendance=attendance_at(alice, dt.date(2026, 3, 16)),
                             reason="Work", by=alice.user)
    excuse_approve(request=request, by=clinician)
    token = calendar_token_regenerate(participant=alice)

    statuses = [str(e["STATUS"]) for e in _events(_feed(client, token))]

    assert statuses.count("CANCELLED") == 1


def test_it_answers_404_to_a_wrong_token(client, alice):
    calendar_token_regenerate(participant=alice)

    assert _feed(client, "wrong-token").status_code == 404


def test_it_kills_the_old_url_when_the_participant_makes_a_new_one(client, alice, schedule):
    old = calendar_token_regenerate(participant=alice)
    client.force_login(alice.user)

    response = client.post(reverse("portal-calendar"), {"action": "new"}, follow=True)

    assert response.redirect_chain == [(reverse("portal-calendar"), 302)]
    new_url = response.context["new_url"]
    client.logout()
    assert _feed(client, old).status_code == 404
    assert client.get(new_url).status_code == 200


def test_it_turns_the_feed_off(client, alice):
    old = calendar_token_regenerate(participant=alice)
    client.force_login(alice.user)

    client.post(reverse("portal-calendar"), {"action": "off"})

    assert _feed(client, old).status_code == 404


def test_it_never_stores_the_token_itself(alice):
    token = calendar_token_regenerate(participant=alice)

    alice.refresh_from_db()
    assert alice.calendar_token and token not in alice.calendar_token


def test_it_serves_only_follow_ups_in_the_future_after_discharge(client, alice, now):
    enrollment = alice.enrollments.get()
    enrollment.status, enrollment.discharge_date = "discharged", dt.date(2026, 3, 11)
    enrollment.discharge_reason = "step_down"
    enrollment.save()
    token = calendar_token_regenerate(participant=alice)

    events = _events(_feed(client, token))

    assert all(e.decoded("DTSTART") < dt.datetime(2026, 3, 11, 17, tzinfo=dt.UTC) for e in events)
    # The past visits of the last week stay as history.
    recent_past = Attendance.objects.filter(
        participant=alice, session__ends_at__gte=now_at() - dt.timedelta(days=7),
        session__ends_at__lt=now_at())
    assert len(events) == recent_past.count() > 0


def test_it_keeps_the_feed_on_a_fixed_query_budget(client, alice, bob, track, room, now,
                                                   django_assert_max_num_queries):
    from .conftest import make_sessions
    token = calendar_token_regenerate(participant=alice)
    with django_assert_max_num_queries(2):
        assert _feed(client, token).status_code == 200
    make_sessions(track, room, weeks=3, weekdays=(1, 4))
    from sessions.services.expected import attendance_expect
    attendance_expect(enrollments=[alice.enrollments.get()])
    with django_assert_max_num_queries(2):
        response = _feed(client, token)
    in_feed = Attendance.objects.filter(participant=alice,
                                        session__ends_at__gte=now_at() - dt.timedelta(days=7))
    assert len(_events(response)) == in_feed.count() == 13  # of 15: two ended over a week ago


def test_it_shows_a_new_link_once_and_a_reload_keeps_it_working(client, alice, schedule):
    """Issue 13, item 10: post/redirect/get; reloading re-issues nothing."""
    client.force_login(alice.user)
    shown = client.post(reverse("portal-calendar"), {"action": "new"}, follow=True)
    new_url = shown.context["new_url"]
    page = shown.content.decode()

    reloaded = client.get(reverse("portal-calendar"))

    assert reloaded.context["new_url"] is None and reloaded.context["has_feed"]
    assert client.get(new_url).status_code == 200  # the copied link still works
    assert f'value="{new_url}"' in page and 'data-copy="feed-url"' in page
    assert new_url.startswith("http")  # the http(s) link for Google Calendar, beside webcal://
    assert re.sub(r"^https?://", "webcal://", new_url) in page
    assert "/static/js/portal.js" in page and "<script>" not in page
