"""A mark and a reschedule of the same session in two transactions at once leave the week's
hours right.

The week's sums (iop_sessions.WeekHours) are kept by triggers that read, each in its own
transaction, what the other table holds: a mark is added to the week its session is in, a
reschedule moves the session's rows from its old week to the new. Run side by side without a lock
between them, each misses the other's uncommitted change and the mark lands in the week the
session left; Today's and the attendance report's figures would then disagree with the chart's.
Both orders are played out on real PostgreSQL connections, the second writer started while the
first holds its transaction open.
"""
import datetime as dt
import pytest

from sessions.models import Attendance, TherapySession
from tests.concurrency import write_side_by_side
from tests.factories import EnrollmentFactory, TrackFactory

from .test_ledger import attend, session
from .test_week_hours import MONDAY, _sums_afresh, _sums_stored

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _mark(row_pk: int) -> None:
    Attendance.objects.filter(pk=row_pk).update(status="present")


def _reschedule_a_week_later(session_pk: int) -> None:
    moved = TherapySession.objects.get(pk=session_pk)
    week = dt.timedelta(days=7)
    TherapySession.objects.filter(pk=session_pk).update(
        starts_at=moved.starts_at + week, ends_at=moved.ends_at + week,
        local_date=moved.local_date + week)


@pytest.mark.parametrize("first", ["reschedule", "mark"])
def test_a_mark_and_a_reschedule_at_once_leave_the_weeks_sums_right(site, first):
    track = TrackFactory(site=site, mode="rolling", end_date=None, start_date=MONDAY)
    evening = session(track, MONDAY)
    row = attend(EnrollmentFactory(track=track), evening, "expected")
    assert _sums_stored() == _sums_afresh()

    write_side_by_side({"reschedule": lambda: _reschedule_a_week_later(evening.pk),
                        "mark": lambda: _mark(row.pk)}, first)

    assert Attendance.objects.get(pk=row.pk).status == "present"
    assert TherapySession.objects.get(pk=evening.pk).local_date == MONDAY + dt.timedelta(days=7)
    assert _sums_stored() == _sums_afresh()
