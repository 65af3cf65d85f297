"""Daylight-saving changes: a 6 pm visit is reminded at the same wall-clock times on each side."""
import datetime as dt
import zoneinfo

import pytest
import time_machine

from participants.models import Participant
from reminders.channels import sms
from reminders.models import Reminder, ReminderPolicy
from reminders.planner import reminders_plan
from reminders.sweeper import reminders_sweep

from .. import factories
from .conftest import make_enrolled, make_visit

NY = zoneinfo.ZoneInfo("America/New_York")
PHOENIX = zoneinfo.ZoneInfo("America/Phoenix")  # no daylight saving: 2 or 3 hours behind NY
# 2026: the US springs forward on Sunday 8 March and falls back on Sunday 1 November.
AROUND_CHANGES = {
    dt.date(2026, 3, 1): [dt.date(2026, 3, 7), dt.date(2026, 3, 8), dt.date(2026, 3, 9)],
    dt.date(2026, 10, 25): [dt.date(2026, 10, 31), dt.date(2026, 11, 1), dt.date(2026, 11, 2)],
}


@pytest.mark.django_db
@pytest.mark.parametrize("plan_day", list(AROUND_CHANGES))
def test_it_reminds_at_the_right_local_time_around_dst_changes(
        plan_day, django_capture_on_commit_callbacks, eager_celery):
    site = factories.SiteFactory(time_zone="America/New_York")
    track = factories.TrackFactory(site=site, start_date=plan_day)
    # Timing, not frequency, is checked here: lift the text caps (see test_sms_caps.py).
    ReminderPolicy.objects.create(site=site, sms_per_day_max=2, sms_per_week_max=21)
    with time_machine.travel(dt.datetime.combine(plan_day, dt.time(9), tzinfo=NY), tick=False):
        here, _ = make_enrolled(site, track=track, channels="sms")
        away, _ = make_enrolled(site, track=track, channels="sms", time_zone="America/Phoenix")
        for day in AROUND_CHANGES[plan_day]:
            start = dt.datetime.combine(day, dt.time(18), tzinfo=NY)
            for participant in (here, away):
                make_visit(participant, start, track=track)
        reminders_plan()

    for participant, zone in ((here, NY), (away, PHOENIX)):
        for day in AROUND_CHANGES[plan_day]:
            visit_local = dt.datetime.combine(day, dt.time(18), tzinfo=NY).astimezone(zone)
            rows = {r.kind: r for r in Reminder.objects.filter(participant=participant,
                                                               visit_date=day)}
            day_before = rows["day_before"].due_at.astimezone(zone)
            same_day = rows["same_day"].due_at.astimezone(zone)
            # The same wall-clock time the day before, and two wall-clock hours before.
            assert (day_before.date(), day_before.time()) == (
                day - dt.timedelta(days=1), visit_local.time()), (participant, day)
            assert (same_day.date(), same_day.time()) == (
                day, (visit_local - dt.timedelta(hours=2)).time()), (participant, day)

    # Nothing goes out a minute early; everything goes out at its minute, saying the local time.
    for due in sorted(set(Reminder.objects.values_list("due_at", flat=True))):
        for moment, expected in ((due - dt.timedelta(minutes=1), {"pending"}), (due, {"sent"})):
            with time_machine.travel(moment, tick=False), \
                    django_capture_on_commit_callbacks(execute=True):
                reminders_sweep()
            assert set(Reminder.objects.filter(due_at=due).values_list("status", flat=True)) \
                == expected, moment
    assert len(sms.outbox) == Reminder.objects.count() == 2 * 3 * 2
    phoenix_bodies = [m.body for m in sms.outbox if m.to == Participant.objects.get(pk=away.pk).phone]
    assert {b.split(" at ")[1].split(",")[0] for b in phoenix_bodies} == (
        {"4:00 PM", "3:00 PM"} if plan_day.month == 3 else {"3:00 PM", "4:00 PM"})
