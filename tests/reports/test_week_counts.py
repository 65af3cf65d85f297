"""The census trend counted per (admission week, discharge week) equals the count per
enrollment it replaced, on random admissions and discharges (week edges included)."""
import datetime as dt
import random

import pytest

from participants.models import Enrollment
from reports import selectors as reports
from tests import factories
from tests.reports.world import build_report_world

pytestmark = pytest.mark.django_db


def test_it_counts_people_in_care_per_week_as_the_row_by_row_count_did():
    w = build_report_world()
    rng = random.Random(7)
    start = dt.date(2025, 12, 1)  # a Monday, ten weeks before the range's end
    for _ in range(60):
        admitted = start + dt.timedelta(days=rng.randrange(0, 90))
        discharged = rng.choice([None, admitted + dt.timedelta(days=rng.randrange(0, 40))])
        status = rng.choice(["completed", "discharged"]) if discharged else "active"
        factories.EnrollmentFactory(
            track=w.t1, participant=factories.ParticipantFactory(home_site=w.site),
            status=status,
            admission_date=admitted, discharge_date=discharged,
            discharge_reason="transferred" if discharged else "")
    for scope in (w.scope(), w.scope(date_from=start, date_to=dt.date(2026, 3, 31)),
                  w.scope(date_from=dt.date(2026, 1, 7), date_to=dt.date(2026, 1, 7))):
        in_care = Enrollment.objects.filter(reports._enrollment_q(scope),
                                            status__in=reports.ADMITTED)
        row_by_row = reports._week_counts(
            scope, "e.admission_date <= w.monday + 6 "
                   "AND COALESCE(e.discharge_date, 'infinity'::date) >= w.monday", in_care)
        assert reports.census_report(scope=scope).trend == row_by_row
        assert any(week.count for week in row_by_row)
