"""The chart's and the portal's enrollments, read through statements compiled once per process
(sessions/selectors/chart.py chart_enrollments, portal/selectors.py portal_state), are the
enrollments, tracks, programs, sites and care plans the ORM querysets they replace built, in
the same order, with nothing left to read later."""
import datetime as dt

import pytest
from django.db import connection

from participants.models import ContinuingCarePlan, Enrollment, EnrollmentStatus
from portal import selectors as portal_reads
from sessions.selectors import chart
from tests import factories

pytestmark = pytest.mark.django_db

_RELATED = ("track", "track__program", "track__site", "care_plan")


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def _as_built(enrollment) -> dict:
    """Every column of the enrollment and its select_related objects (None: no care plan)."""
    try:
        plan = _fields(enrollment.care_plan)
    except ContinuingCarePlan.DoesNotExist:
        plan = None
    return {"enrollment": _fields(enrollment), "track": _fields(enrollment.track),
            "program": _fields(enrollment.track.program),
            "site": _fields(enrollment.track.site), "care_plan": plan}


@pytest.fixture
def person():
    """Enrollments of every status the two pages tell apart, on two tracks of two programs and
    sites, two with a care plan, and two admitted the same day (the order falls back on id)."""
    person = factories.ParticipantFactory()
    other_track = factories.TrackFactory()
    rows = [(dt.date(2025, 1, 6), "completed", True), (dt.date(2025, 6, 2), "completed", False),
            (dt.date(2025, 9, 1), "discharged", True), (dt.date(2026, 1, 5), "active", False),
            (dt.date(2026, 1, 5), "referred", False), (dt.date(2026, 2, 2), "waitlisted", False)]
    for n, (admitted, status, planned) in enumerate(rows):
        ended = status in EnrollmentStatus.ended()
        enrollment = factories.EnrollmentFactory(
            participant=person, admission_date=admitted, status=status,
            track=other_track if n % 2 else factories.TrackFactory(),
            discharge_date=admitted + dt.timedelta(weeks=12) if ended else None,
            discharge_reason="completed" if ended else "",
            waitlisted_at=dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
            if status == "waitlisted" else None,
            seat_offered_at=dt.datetime(2026, 2, 3, tzinfo=dt.UTC)
            if status == "waitlisted" else None)
        if planned:
            factories.ContinuingCarePlanFactory(enrollment=enrollment)
    factories.EnrollmentFactory()  # someone else's
    factories.ContinuingCarePlanFactory()
    return person


def test_the_chart_reads_what_the_queryset_read(person, django_assert_num_queries):
    expected = list(person.enrollments.select_related(*_RELATED[1:])
                    .order_by("-admission_date", "-pk"))

    with django_assert_num_queries(1):
        enrollments = chart.chart_enrollments(participant=person)
    with django_assert_num_queries(0):  # nothing left to read, their participant included
        built = [_as_built(e) for e in enrollments]
        assert all(e.participant is person for e in enrollments)

    assert built == [_as_built(e) for e in expected]
    assert len(built) == 6 and sum(b["care_plan"] is not None for b in built) == 2
    assert [e.pk for e in enrollments] == [e.pk for e in expected]


def test_the_portal_state_reads_what_the_queryset_read(person, django_assert_num_queries):
    expected = list(portal_reads._state_rows().filter(participant=person))

    with django_assert_num_queries(1):
        state = portal_reads.portal_state(participant=person)
    rows = portal_reads._state_statement("default", connection.vendor).objects(
        {"participant": person.pk})

    with django_assert_num_queries(0):
        built = [_as_built(e) for e in rows]
    assert built == [_as_built(e) for e in expected]
    assert EnrollmentStatus.REFERRED not in {e.status for e in rows} and len(rows) == 5
    assert state == portal_reads._state_of(person, expected)
    assert state.enrollment.status == "active"


def test_someone_without_enrollments_has_none():
    nobody = factories.ParticipantFactory()
    assert chart.chart_enrollments(participant=nobody) == []
    assert portal_reads.portal_state(participant=nobody).enrollment is None
    assert not Enrollment.objects.filter(participant=nobody).exists()


def test_the_chart_reads_each_enrollments_payer_with_it(person, django_assert_num_queries):
    """Coverages (and payers) come with the chart's enrollments: its Authorizations section
    reads no statement of its own for them, and finds what the coverages query found."""
    from authorizations.models import Coverage, Payer
    from authorizations.selectors import chart_authorizations

    payers = [Payer.objects.create(name="Plan A (invented)", requires_authorization=True),
              Payer.objects.create(name="Plan B (invented)", phone="555-0100")]
    for n, enrollment in enumerate(person.enrollments.order_by("pk")[:2]):
        Coverage.objects.create(enrollment=enrollment, payer=payers[n], member_id=f"M-{n}")
    enrollments = chart.chart_enrollments(participant=person)
    with django_assert_num_queries(0):
        payers = {e.pk: (e.coverage.payer.name, e.coverage.member_id)
                  for e in enrollments if hasattr(e, "coverage")}
    assert payers == {c.enrollment_id: (c.payer.name, c.member_id)
                      for c in Coverage.objects.filter(enrollment__participant=person)}
    assert len(payers) == 2

    today = dt.date(2026, 3, 2)
    with django_assert_num_queries(1):  # the authorizations' usage only
        read = chart_authorizations(enrollments=enrollments, participant=person, today=today)
    plain = list(person.enrollments.order_by("-admission_date", "-pk"))
    with django_assert_num_queries(2):  # and the coverages, for enrollments read without them
        expected = chart_authorizations(enrollments=plain, participant=person, today=today)
    assert [(e.enrollment.pk, e.coverage and _fields(e.coverage),
             e.coverage and _fields(e.coverage.payer)) for e in read.enrollments] == [
        (e.enrollment.pk, e.coverage and _fields(e.coverage),
         e.coverage and _fields(e.coverage.payer)) for e in expected.enrollments]
    assert [a.__dict__ for a in read.alerts] == [a.__dict__ for a in expected.alerts]
