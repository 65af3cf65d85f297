"""Issue 13, item 14: texts per participant per day and per week are capped by the site's
reminder policy (defaults 1 and 3); the planner keeps same-day texts first, earlier visits
first, and records why a text was not planned."""
import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from reminders.models import Reminder, ReminderPolicy
from reminders.planner import reminders_plan
from tests import factories
from tests.auth import sign_in

from .conftest import cancel, local, make_enrolled, make_visit

pytestmark = pytest.mark.django_db

SUNDAY = local("America/New_York", 2026, 2, 1, 9, 0)
MON, TUE, WED, THU = (dt.date(2026, 2, d) for d in (2, 3, 4, 5))


@pytest.fixture
def four_evenings(site):
    """Monday to Thursday at 18:00, texts only; planned on the Sunday morning before."""
    with time_machine.travel(SUNDAY, tick=False):
        participant, _ = make_enrolled(site, channels="sms")
        sessions = {day: make_visit(participant, local("America/New_York", 2026, 2, day.day, 18))
                    for day in (MON, TUE, WED, THU)}
        reminders_plan(participant_ids=[participant.pk])
    return participant, sessions


def _texts(participant):
    return {(r.visit_date, r.kind): (r.status, r.reason)
            for r in Reminder.objects.filter(participant=participant, channel="sms")}


def test_it_keeps_one_text_a_day_and_three_a_week_same_day_first(four_evenings, site):
    participant, _ = four_evenings
    assert ReminderPolicy.objects.get(site=site).sms_per_day_max == 1
    assert _texts(participant) == {
        (MON, "same_day"): ("pending", ""),
        (TUE, "same_day"): ("pending", ""),
        (WED, "same_day"): ("pending", ""),
        (THU, "same_day"): ("skipped", "sms_week_cap"),
        (MON, "day_before"): ("pending", ""),  # Sunday evening: last week's count
        (TUE, "day_before"): ("skipped", "sms_day_cap"),
        (WED, "day_before"): ("skipped", "sms_day_cap"),
        (THU, "day_before"): ("skipped", "sms_day_cap"),
    }


def test_it_gives_a_capped_text_back_when_a_kept_one_goes(four_evenings):
    participant, sessions = four_evenings
    cancel(sessions[MON])
    with time_machine.travel(SUNDAY, tick=False):
        reminders_plan(participant_ids=[participant.pk])
    texts = _texts(participant)
    assert texts[THU, "same_day"] == ("pending", "")
    # Monday has no text any more, but the week's three are Tuesday to Thursday's same-day ones.
    assert texts[TUE, "day_before"] == ("skipped", "sms_week_cap")


def test_it_counts_texts_already_sent(four_evenings):
    participant, _ = four_evenings
    monday = Reminder.objects.get(participant=participant, channel="sms", visit_date=MON,
                                  kind="same_day")
    Reminder.objects.filter(pk=monday.pk).update(status="sent", sent_at=monday.due_at)
    with time_machine.travel(SUNDAY, tick=False):
        reminders_plan(participant_ids=[participant.pk])
    assert _texts(participant)[MON, "same_day"] == ("sent", "")
    assert _texts(participant)[THU, "same_day"] == ("skipped", "sms_week_cap")


def test_the_chart_shows_why_a_text_was_not_planned(four_evenings, site):
    participant, _ = four_evenings
    clinician = factories.StaffFactory(role="clinician", sites=[site])
    with time_machine.travel(SUNDAY, tick=False):
        page = sign_in(Client(), clinician).get(
            reverse("participant_chart", args=[participant.code])).content.decode()
    history = page.split('id="reminders-heading"')[1]
    assert "Not planned: the week&#x27;s text limit is reached" in history
    assert "Not planned: the day&#x27;s text limit is reached" in history
