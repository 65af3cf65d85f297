"""The chart's care plans come with its enrollments (one to one), newest first, as the query
they replaced read them."""
import datetime as dt

import pytest

from participants.models import ContinuingCarePlan
from sessions.selectors import chart
from sessions.selectors.care import chart_care
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    person = factories.ParticipantFactory()
    for admitted, planned in [(dt.date(2025, 1, 6), dt.datetime(2025, 4, 1, tzinfo=dt.UTC)),
                              (dt.date(2025, 6, 2), None),
                              (dt.date(2025, 9, 1), dt.datetime(2025, 12, 1, tzinfo=dt.UTC)),
                              (dt.date(2026, 1, 5), None)]:
        ended = admitted.year < 2026
        enrollment = factories.EnrollmentFactory(
            participant=person, admission_date=admitted,
            status="completed" if ended else "active",
            discharge_date=admitted + dt.timedelta(weeks=12) if ended else None,
            discharge_reason="completed" if ended else "")
        if planned:
            plan = factories.ContinuingCarePlanFactory(enrollment=enrollment)
            ContinuingCarePlan.objects.filter(pk=plan.pk).update(created_at=planned)
    factories.ContinuingCarePlanFactory()  # someone else's
    return person


def test_the_chart_reads_each_plan_with_its_enrollment(person, django_assert_num_queries):
    today = dt.date(2026, 1, 7)
    enrollments = chart.participant_chart(participant=person, today=today).enrollments
    expected = list(ContinuingCarePlan.objects.filter(enrollment__participant=person)
                    .order_by("-created_at"))

    # The hours ledger and the plans' follow-up sessions (the excuses come with the chart's
    # lists); no query for the plans.
    with django_assert_num_queries(2):
        care = chart_care(participant=person, enrollments=enrollments)

    assert care.care_plans == expected and len(expected) == 2
    assert [p.support_groups for p in care.care_plans] == [p.support_groups for p in expected]


def test_enrollments_read_without_plans_still_get_them(person):
    enrollments = list(person.enrollments.all())

    care = chart_care(participant=person, enrollments=enrollments)

    assert care.care_plans == list(ContinuingCarePlan.objects.filter(
        enrollment__participant=person).order_by("-created_at"))
