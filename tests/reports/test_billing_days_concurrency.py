"""A mark and a change of the session type's service code in two transactions at once leave the
billing days right.

The days (reports.BillingDay) are kept by triggers that read, each in its own transaction, what
the other table holds: a mark is added under its session type's code, a code change moves the
type's attended rows from the old code to the new. Without a lock between them, each misses the
other's uncommitted change and the mark stays billed under a code the type no longer has. Both
orders are played out on real PostgreSQL connections, the second writer started while the first
holds its transaction open.
"""
import pytest

from programs.models import SessionType
from sessions.models import Attendance
from tests.concurrency import write_side_by_side

from .test_billing_days import (  # noqa: F401 (clinic: a fixture)
    _line_rows_of,
    _live_days,
    _stored_days,
    _stored_line_rows,
    _stored_week_sums,
    _stored_weeks,
    _week_sums_of,
    _weeks_of,
    clinic,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("first", ["code", "mark"])
def test_a_mark_and_a_service_code_change_at_once_leave_the_days_right(clinic, first):  # noqa: F811
    row = (Attendance.objects.exclude(status__in=["present", "late", "left_early"])
           .exclude(session__session_type__service_code="")
           .filter(session__status="scheduled").select_related("session").first())
    type_pk = row.session.session_type_id
    assert _stored_days() == _live_days()

    write_side_by_side({
        "code": lambda: SessionType.objects.filter(pk=type_pk).update(service_code="T1017"),
        "mark": lambda: Attendance.objects.filter(pk=row.pk).update(status="present")}, first)

    assert Attendance.objects.get(pk=row.pk).status == "present"
    assert SessionType.objects.get(pk=type_pk).service_code == "T1017"
    assert _stored_days() == _live_days()


@pytest.mark.parametrize("first", ["earlier day", "later day"])
def test_two_marks_of_one_week_at_once_leave_its_week_right(clinic, first):  # noqa: F811
    """Two marks of one participant on two days of one week, in two transactions at once: both
    add to the same billing week (and its line's count of rows), one after the other."""
    rows = (Attendance.objects.exclude(status__in=["present", "late", "left_early"])
            .exclude(session__session_type__service_code="").filter(session__status="scheduled")
            .select_related("session").order_by("participant_id", "session__local_date"))
    pairs = [(a, b) for a, b in zip(rows, rows[1:], strict=False)
             if a.participant_id == b.participant_id
             and a.session.local_date.isocalendar()[:2] == b.session.local_date.isocalendar()[:2]
             and a.session.local_date != b.session.local_date
             and a.session.session_type.service_code == b.session.session_type.service_code]
    one, other = pairs[0]

    write_side_by_side({
        "earlier day": lambda: Attendance.objects.filter(pk=one.pk).update(status="present"),
        "later day": lambda: Attendance.objects.filter(pk=other.pk).update(status="late")},
        first)

    assert _stored_days() == _live_days()
    assert _stored_weeks() == _weeks_of(_live_days())
    assert _stored_line_rows() == _line_rows_of(_weeks_of(_live_days()))


@pytest.mark.parametrize("first", ["one", "other"])
def test_two_marks_of_two_people_at_one_track_at_once_leave_its_sums_right(clinic, first):  # noqa: F811
    """Two marks of two participants at one session (so one track, week and code), in two
    transactions at once: both add to the same weeks' sums (reports_billing_week_sums), one
    after the other."""
    rows = (Attendance.objects.exclude(status__in=["present", "late", "left_early"])
            .exclude(session__session_type__service_code="").filter(session__status="scheduled")
            .order_by("session_id", "participant_id"))
    pairs = [(a, b) for a, b in zip(rows, rows[1:], strict=False)
             if a.session_id == b.session_id and a.participant_id != b.participant_id]
    one, other = pairs[0]

    write_side_by_side({
        "one": lambda: Attendance.objects.filter(pk=one.pk).update(status="present"),
        "other": lambda: Attendance.objects.filter(pk=other.pk).update(status="late")},
        first)

    assert _stored_weeks() == _weeks_of(_live_days())
    assert _stored_week_sums() == _week_sums_of(_weeks_of(_live_days()))
