"""Whatever the dates, weekdays, zone and closures: one session per slot-day, none on a closure."""
import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions.models import TherapySession
from sessions.services.schedule import schedule_generate
from tests import factories

ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Australia/Sydney"]


@pytest.mark.django_db
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    start=st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2028, 12, 31)),
    weeks=st.integers(min_value=1, max_value=12),
    slots=st.dictionaries(st.integers(min_value=0, max_value=6),
                          st.integers(min_value=6, max_value=20), min_size=1, max_size=4),
    closure_offsets=st.sets(st.integers(min_value=-7, max_value=90), max_size=6),
    zone=st.sampled_from(ZONES),
)
def test_it_creates_weeks_times_slots_less_closed_slot_days(start, weeks, slots, closure_offsets,
                                                            zone):
    end = start + dt.timedelta(weeks=weeks, days=-1)
    closures = {start + dt.timedelta(days=offset) for offset in closure_offsets}
    # Each example builds its clinic in a transaction that is rolled back, so examples don't
    # see each other's rows.
    with transaction.atomic():
        site = factories.SiteFactory(time_zone=zone)
        track = factories.TrackFactory(site=site, start_date=start, end_date=end)
        for weekday, hour in slots.items():
            factories.WeeklySlotFactory(track=track, weekday=weekday, start_time=dt.time(hour, 0))
        for day in closures:
            factories.ClosureFactory(site=site, date=day)

        result = schedule_generate(track=track)

        sessions = list(TherapySession.objects.filter(track=track).select_related("weekly_slot"))
        closed_slot_days = sum(1 for day in closures
                               if start <= day <= end and day.weekday() in slots)
        assert result.created == len(sessions) == weeks * len(slots) - closed_slot_days
        assert all(start <= s.local_date <= end for s in sessions)
        assert not any(s.local_date in closures for s in sessions)
        for session in sessions:
            local_start = session.starts_at.astimezone(site.zone)
            assert local_start.date() == session.local_date
            assert local_start.time() == session.weekly_slot.start_time
            assert session.local_date.weekday() == session.weekly_slot.weekday
        assert schedule_generate(track=track).created == 0
        transaction.set_rollback(True)
