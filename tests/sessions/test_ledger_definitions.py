"""Issue 13, item 3: one ledger definition for the chart, Today, the portal and follow-ups."""
import datetime as dt
from decimal import Decimal

import pytest

from portal.selectors import portal_state, progress_for
from sessions.models import FollowUp
from sessions.selectors.ledger import ShortReason, hours_ledger, participants_at_risk
from sessions.services.followups import followup_raise_below_minimum
from tests.factories import EnrollmentFactory, ParticipantFactory, TrackFactory

from .test_ledger import _fresh_types, attend, session  # noqa: F401  (fixture reused)

pytestmark = pytest.mark.django_db

MON = dt.date(2026, 1, 5)


def day(week, weekday):
    return MON + dt.timedelta(weeks=week, days=weekday)


@pytest.fixture
def cohort(site):
    """A three-week cohort, Mon/Wed/Thu 18:00-21:00, 9 hours a week needed; it ends 25 Jan."""
    track = TrackFactory(site=site, mode="cohort", start_date=MON, end_date=dt.date(2026, 1, 25),
                         program__duration_weeks=3, program__min_weekly_hours=Decimal(9))
    enrollment = EnrollmentFactory(track=track, admission_date=MON,
                                   planned_end_date=dt.date(2026, 1, 25),
                                   participant=ParticipantFactory(home_site=site))
    return track, enrollment


def three_weeks(track, enrollment):
    """Week 1 all attended; week 2 Monday closed by the clinic; week 3 Monday missed."""
    for weekday in (0, 2, 3):
        attend(enrollment, session(track, day(0, weekday)))
    attend(enrollment, session(track, day(1, 0), status="cancelled", cancel_reason="Closure"),
           "cancelled")
    attend(enrollment, session(track, day(1, 2)))
    attend(enrollment, session(track, day(1, 3)))
    attend(enrollment, session(track, day(2, 0)), "absent")
    attend(enrollment, session(track, day(2, 2)))
    attend(enrollment, session(track, day(2, 3)))


def test_it_says_why_each_short_week_was_short(cohort):
    track, enrollment = cohort
    three_weeks(track, enrollment)

    ledger = hours_ledger(enrollment=enrollment, today=dt.date(2026, 1, 28))

    assert [(w.below_minimum, w.short_reason, w.counts_against) for w in ledger.weeks] == [
        (False, "", False),
        (True, ShortReason.CLINIC, False),
        (True, ShortReason.PARTICIPANT, True),
    ]
    assert [w.offered_hours for w in ledger.weeks] == [Decimal(9), Decimal(6), Decimal(9)]
    assert (ledger.weeks_below_minimum, ledger.weeks_counted_against) == (2, 1)


def test_it_computes_attendance_from_minutes_of_sessions_held(cohort):
    track, enrollment = cohort
    three_weeks(track, enrollment)
    attend(enrollment, session(track, day(2, 4)), "late", 45)  # Friday: 45 of 180 minutes
    attend(enrollment, session(track, day(2, 5), 10), "excused")

    ledger = hours_ledger(enrollment=enrollment, today=dt.date(2026, 1, 28))

    # Held: 3 + 2 + 3 + 1 sessions of 180 min (the closed Monday is not held, the excused
    # Saturday is shown apart). Attended: 7 full sessions and 45 minutes.
    assert (ledger.minutes_held, ledger.minutes_attended) == (9 * 180, 7 * 180 + 45)
    assert ledger.attendance_percent == Decimal("80.6")
    assert (ledger.sessions_excused, ledger.excused_hours) == (1, Decimal("3.00"))


def test_it_never_projects_past_the_cohorts_end_and_says_so(cohort):
    track, enrollment = cohort
    three_weeks(track, enrollment)

    ledger = hours_ledger(enrollment=enrollment, today=dt.date(2026, 1, 28))

    assert ledger.projected_completion == dt.date(2026, 1, 25)
    assert ledger.cannot_complete_by_end
    state = portal_state(participant=enrollment.participant)
    progress = progress_for(state=state, now=dt.datetime(2026, 1, 22, 12, tzinfo=dt.UTC))
    assert progress.projected_completion == dt.date(2026, 1, 25)


def test_it_does_not_count_excused_only_short_weeks_against_the_participant(cohort):
    track, enrollment = cohort
    attend(enrollment, session(track, day(0, 0)), "excused")
    attend(enrollment, session(track, day(0, 2)))
    attend(enrollment, session(track, day(0, 3)))

    week = hours_ledger(enrollment=enrollment, today=dt.date(2026, 1, 14)).weeks[0]

    assert (week.below_minimum, week.short_reason, week.counts_against) == (
        True, ShortReason.EXCUSED, False)


def test_it_raises_a_below_minimum_followup_only_for_the_participants_own_short_week(cohort):
    track, enrollment = cohort
    three_weeks(track, enrollment)

    assert followup_raise_below_minimum(today=dt.date(2026, 1, 20)) == 0  # the closure week
    assert followup_raise_below_minimum(today=dt.date(2026, 1, 26)) == 1  # the missed Monday
    assert FollowUp.objects.get().week_start == day(2, 0)


def test_it_leaves_a_week_the_clinic_cut_short_off_the_at_risk_list(cohort, site):
    track, enrollment = cohort
    # Week 2, seen on Wednesday: Monday closed, Wednesday and Thursday ahead: 6 of 9 offered.
    attend(enrollment, session(track, day(1, 0), status="cancelled", cancel_reason="Closure"),
           "cancelled")
    attend(enrollment, session(track, day(1, 2)), "expected")
    attend(enrollment, session(track, day(1, 3)), "expected")
    wednesday = day(1, 2)
    now = dt.datetime(2026, 1, 14, 12, tzinfo=dt.UTC)

    assert participants_at_risk(site_ids=[site.pk], today=wednesday, now=now) == []
    week = hours_ledger(enrollment=enrollment, today=wednesday, now=now).current_week
    assert (week.at_risk, week.short_reason) == (False, ShortReason.CLINIC)
    progress = progress_for(state=portal_state(participant=enrollment.participant), now=now)
    assert not progress.at_risk and progress.short_reason == "Clinic offered less than the minimum"
