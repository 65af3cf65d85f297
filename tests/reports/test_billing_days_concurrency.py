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

from .test_billing_days import _live_days, _stored_days, clinic  # noqa: F401 (fixture)

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
