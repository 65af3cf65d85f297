"""Boxes on Today and the chart: failed reminders, reminder history, the audit-trail link."""
import datetime as dt

import pytest
from django.urls import reverse

from reminders.models import Reminder
from tests import factories

from .conftest import MONDAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def make_reminder(participant, *, status, visit=MONDAY, kind="day_before", channel="sms",
                  reason="", detail=""):
    start = dt.datetime.combine(visit, dt.time(23, 0), tzinfo=dt.UTC)
    return Reminder.objects.create(
        participant=participant, site=participant.home_site, visit_date=visit, kind=kind,
        channel=channel, status=status, reason=reason, detail=detail,
        due_at=start - dt.timedelta(days=1), send_before=start,
        sent_at=start - dt.timedelta(days=1) if status == "sent" else None)


def test_it_lists_failed_reminders_at_my_sites_on_today(as_front_desk, site, other_site):
    mine = factories.ParticipantFactory(home_site=site)
    theirs = factories.ParticipantFactory(home_site=other_site)
    make_reminder(mine, status="failed", reason="permanent_error", detail="invalid_number")
    make_reminder(mine, status="sent", kind="same_day")
    make_reminder(theirs, status="failed", reason="permanent_error")

    page = as_front_desk.get(reverse("home")).content.decode()

    box = page.split('id="failed-reminders-heading"')[1]
    assert box.count("failed-reminder-row") == 1
    assert mine.full_name in box and "Rejected by the provider (invalid_number)" in box
    assert theirs.full_name not in page


def test_it_shows_a_participants_reminder_history_on_the_chart(as_clinician, site):
    participant = factories.ParticipantFactory(home_site=site)
    make_reminder(participant, status="sent")
    make_reminder(participant, status="skipped", kind="same_day", reason="session_cancelled")
    make_reminder(factories.ParticipantFactory(home_site=site), status="failed")

    page = as_clinician.get(reverse("participant_chart", args=[participant.code])).content.decode()

    history = page.split('id="reminders-heading"')[1]
    assert history.count("reminder-row") == 2
    assert "No session left that day" in history
    assert "Failed" not in history


@pytest.mark.parametrize("size", [1, 15])
def test_it_keeps_the_boxes_within_fixed_budgets(as_clinician, site, size,
                                                 django_assert_max_num_queries):
    participant = factories.ParticipantFactory(home_site=site)
    for offset in range(size):
        person = factories.ParticipantFactory(home_site=site)
        make_reminder(person, status="failed", reason="permanent_error")
        make_reminder(participant, status="sent", visit=MONDAY - dt.timedelta(days=offset))
    # 12: the at-risk box reads the week and who is at risk in one query (it took two);
    # +1: authorization alerts (usage of every authorization and payers with none recorded,
    # one statement); the follow-ups' count is read with them only when someone has some.
    with django_assert_max_num_queries(13):
        assert as_clinician.get(reverse("home")).status_code == 200
    # The chart reads follow-up sessions only for someone with a care plan; the authorizations
    # world's chart (tests/authorizations/test_pages.py) adds its usage and contacts.
    with django_assert_max_num_queries(10):
        chart = as_clinician.get(reverse("participant_chart", args=[participant.code]))
        assert chart.status_code == 200


def test_it_links_directors_not_clinicians_to_who_viewed_the_chart(as_director, as_clinician,
                                                                    site):
    participant = factories.ParticipantFactory(home_site=site)
    url = reverse("participant_chart", args=[participant.code])
    trail = reverse("participant_audit_trail", args=[participant.code])

    assert trail in as_director.get(url).content.decode()
    assert trail not in as_clinician.get(url).content.decode()
