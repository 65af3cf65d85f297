"""A mark, a reschedule and a discharge-date change of the same stay in two transactions at once
leave the stay's hours right.

The stays' sums (iop_sessions.StayHours) are kept by triggers that read, each in its own
transaction, what the other tables hold: a mark is added when its session falls in its stay, a
reschedule moves its rows in or out of their stays, a new discharge date sums the rows it takes in
or leaves out. Without a lock between them each misses the other's uncommitted change (a row
marked present just inside the new discharge date counts nowhere; a session moved out of the stay
while the stay grew to take it in stays counted). Both orders are played out on real PostgreSQL
connections, the second writer started while the first holds its transaction open.
"""
import datetime as dt

import pytest

from participants.models import Enrollment
from sessions.models import Attendance, TherapySession
from tests.concurrency import write_side_by_side
from tests.factories import EnrollmentFactory, TrackFactory

from .test_ledger import attend, session
from .test_stay_hours import MONDAY, sums_afresh, sums_stored

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _stay_ended_on_tuesday(site, status: str):
    """A stay discharged on Tuesday, and its row at Thursday's session (outside it)."""
    track = TrackFactory(site=site, mode="rolling", end_date=None, start_date=MONDAY)
    stay = EnrollmentFactory(track=track, admission_date=MONDAY, status="discharged",
                             discharge_date=MONDAY + dt.timedelta(days=1),
                             discharge_reason="transferred")
    row = attend(stay, session(track, MONDAY + dt.timedelta(days=3)), status)
    assert sums_stored() == sums_afresh() == {}
    return stay, row


def _discharged_on_thursday(enrollment_pk: int) -> None:
    Enrollment.objects.filter(pk=enrollment_pk).update(discharge_date=MONDAY + dt.timedelta(days=3))


@pytest.mark.parametrize("first", ["discharge date", "mark"])
def test_a_mark_and_a_discharge_date_change_at_once_leave_the_stays_sums_right(site, first):
    stay, row = _stay_ended_on_tuesday(site, "expected")

    write_side_by_side({
        "discharge date": lambda: _discharged_on_thursday(stay.pk),
        "mark": lambda: Attendance.objects.filter(pk=row.pk).update(status="present"),
    }, first)

    assert sums_stored() == sums_afresh() == {
        (stay.pk, row.session.session_type_id): 180 * 60_000_000}


@pytest.mark.parametrize("first", ["discharge date", "reschedule"])
def test_a_reschedule_and_a_discharge_date_change_at_once_leave_the_stays_sums_right(site, first):
    stay, row = _stay_ended_on_tuesday(site, "present")
    thursday = row.session

    def to_saturday() -> None:
        two_days = dt.timedelta(days=2)
        TherapySession.objects.filter(pk=thursday.pk).update(
            starts_at=thursday.starts_at + two_days, ends_at=thursday.ends_at + two_days,
            local_date=thursday.local_date + two_days)

    write_side_by_side({"discharge date": lambda: _discharged_on_thursday(stay.pk),
                        "reschedule": to_saturday}, first)

    assert TherapySession.objects.get(pk=thursday.pk).local_date == MONDAY + dt.timedelta(days=5)
    assert sums_stored() == sums_afresh() == {}


@pytest.mark.parametrize("first", ["reschedule", "mark"])
def test_a_mark_and_a_reschedule_at_once_leave_the_stays_sums_right(site, first):
    stay, row = _stay_ended_on_tuesday(site, "expected")
    thursday = row.session

    def to_monday() -> None:
        three_days = dt.timedelta(days=3)
        TherapySession.objects.filter(pk=thursday.pk).update(
            starts_at=thursday.starts_at - three_days, ends_at=thursday.ends_at - three_days,
            local_date=thursday.local_date - three_days)

    write_side_by_side({"reschedule": to_monday,
                        "mark": lambda: Attendance.objects.filter(pk=row.pk).update(
                            status="present")}, first)

    assert sums_stored() == sums_afresh() == {
        (stay.pk, row.session.session_type_id): 180 * 60_000_000}
