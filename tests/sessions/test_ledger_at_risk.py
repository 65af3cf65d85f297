"""Today's at-risk list agrees with the hours ledger, person by person, at two sizes.

`participants_at_risk` sums the week in SQL for speed; `hours_ledger` is the one definition.
Every mix of marks below (recorded and unrecorded minutes, absences, excuses, unmarked days,
marks on a session that has not started, cancelled rows and sessions, a session type that
does not count, a make-up at another site) must give the same verdict and the same hours.
"""
import datetime as dt
import itertools
from decimal import Decimal

import pytest

from participants.models import Participant
from reports.tally import SESSION_COUNTS
from sessions.selectors.ledger import hours_ledger, participants_at_risk, people_at_risk
from tests.factories import EnrollmentFactory, SessionTypeFactory, TrackFactory

from .test_ledger import at_local, attend, session

pytestmark = pytest.mark.django_db

WEDNESDAY = dt.date(2026, 1, 7)
MONDAY_MARKS = [("present", None), ("present", 120), ("late", 150), ("absent", None),
                ("excused", None), ("expected", None), ("cancelled", None)]
WEDNESDAY_MARKS = [("present", None), ("expected", None), ("absent", None), ("left_early", 60)]
THURSDAY_MARKS = [("expected", None), ("present", None), ("excused", None), ("cancelled", None)]


@pytest.mark.parametrize("people", [8, 40])
def test_it_judges_every_week_as_the_ledger_does(site, other_site, people,
                                                 django_assert_max_num_queries):
    track = TrackFactory(site=site, mode="rolling", end_date=None, start_date=dt.date(2026, 1, 5),
                         program__min_weekly_hours=Decimal("7.5"))
    mon, wed, thu = (session(track, dt.date(2026, 1, day)) for day in (5, 7, 8))
    short_wed = session(track, WEDNESDAY, hour=10, hours=1.5)
    snowed = session(track, dt.date(2026, 1, 6), status="cancelled")
    not_counting = session(track, dt.date(2026, 1, 9),
                           session_type=SessionTypeFactory(counts_toward_hours=False))
    elsewhere = session(TrackFactory(site=other_site, mode="rolling", end_date=None,
                                     start_date=dt.date(2026, 1, 5)), dt.date(2026, 1, 9))
    marks = itertools.islice(itertools.cycle(itertools.product(
        MONDAY_MARKS, WEDNESDAY_MARKS, THURSDAY_MARKS)), 0, None, 5)
    enrollments = []
    for number in range(people):
        enrollment = EnrollmentFactory(track=track)
        enrollments.append(enrollment)
        for therapy_session, (status, minutes) in zip((mon, wed, thu), next(marks), strict=True):
            attend(enrollment, therapy_session, status, minutes)
        if number % 2:
            attend(enrollment, short_wed, "present")
        if number % 3 == 0:
            attend(enrollment, snowed, "present")
            attend(enrollment, not_counting, "present")
        if number % 4 == 1:
            attend(enrollment, elsewhere, "expected")  # a make-up at the other site, ahead
    now = at_local(site, WEDNESDAY, 19)  # Wednesday evening's session has started

    with django_assert_max_num_queries(2):
        rows = participants_at_risk(site_ids=[site.pk], today=WEDNESDAY, now=now)

    expected = {}
    for enrollment in enrollments:
        week = hours_ledger(enrollment=enrollment, today=WEDNESDAY, now=now).current_week
        if week.at_risk:
            expected[enrollment.pk] = (week.attended_minutes, week.scheduled_ahead_minutes)
    assert {row.enrollment.pk: (row.attended_minutes, row.scheduled_ahead_minutes)
            for row in rows} == expected
    assert expected and len(expected) < people  # the mix has people on both sides

    # Today's box reads the same people, hours and order in one statement (names tied on
    # purpose: every third person is "Sam Okafor", so the enrollment decides their order).
    Participant.objects.filter(
        pk__in=[e.participant_id for e in enrollments[::3]]).update(first_name="Sam",
                                                                   last_name="Okafor")
    rows = participants_at_risk(site_ids=[site.pk], today=WEDNESDAY, now=now)
    with django_assert_max_num_queries(1):
        shown = people_at_risk(site_ids=[site.pk], today=WEDNESDAY, now=now)
    assert [(p.code, p.full_name, p.attended_hours, p.scheduled_hours_ahead, p.minimum_hours,
             p.shortfall_hours) for p in shown] == [
        (r.participant.code, r.participant.full_name, r.attended_hours, r.scheduled_hours_ahead,
         r.minimum_hours, r.shortfall_hours) for r in rows]
    assert sum(p.full_name == "Sam Okafor" for p in shown) > 1

    # As Today reads it, with the attendance tally handed in (the clock's rows looked for only
    # on sessions whose kept counts say they have some): the same people, hours and order.
    with django_assert_max_num_queries(1):
        kept = people_at_risk(site_ids=[site.pk], today=WEDNESDAY, now=now,
                              counts=SESSION_COUNTS)
    assert kept == shown
