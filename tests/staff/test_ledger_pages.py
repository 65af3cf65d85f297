"""Issue 13, item 3 on the pages: the chart says why weeks were short; the track page warns."""
import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_it_warns_on_the_track_page_when_the_timetable_is_below_the_minimum(as_director, site):
    track = factories.TrackFactory(site=site, program__min_weekly_hours=Decimal(9))
    for weekday in (0, 2):
        factories.WeeklySlotFactory(track=track, weekday=weekday, duration_minutes=180)
    factories.WeeklySlotFactory(track=track, weekday=3, duration_minutes=180,
                                session_type__counts_toward_hours=False)

    page = as_director.get(reverse("track_detail", args=[track.pk])).content.decode()

    assert "timetable-below-minimum" in page and "offers 6 h a week" in page
    factories.WeeklySlotFactory(track=track, weekday=4, duration_minutes=180)
    page = as_director.get(reverse("track_detail", args=[track.pk])).content.decode()
    assert "timetable-below-minimum" not in page


def test_it_shows_the_short_weeks_reason_and_attendance_on_the_chart(as_clinician, site):
    track = factories.TrackFactory(site=site, start_date=dt.date(2025, 12, 1),
                                   end_date=dt.date(2025, 12, 21),
                                   program__min_weekly_hours=Decimal(9))
    enrollment = factories.EnrollmentFactory(
        track=track, admission_date=dt.date(2025, 12, 1), planned_end_date=dt.date(2025, 12, 21),
        participant=factories.ParticipantFactory(home_site=site))
    page = as_clinician.get(reverse("participant_chart",
                                    args=[enrollment.participant.code])).content.decode()
    # No session was ever offered: all three weeks short by the clinic, none against the person.
    assert page.count('data-reason="clinic"') == 3
    assert '<span class="weeks-against">0 by missed time</span>' in page
