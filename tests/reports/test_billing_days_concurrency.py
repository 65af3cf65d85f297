"""A mark and a change of the session type's service code in two transactions at once leave the
billing days right.

The days (reports.BillingDay) are kept by triggers that read, each in its own transaction, what
the other table holds: a mark is added under its session type's code, a code change moves the
type's attended rows from the old code to the new. Without a lock between them, each misses the
other's uncommitted change and the mark stays billed under a code the type no longer has. Both
orders are played out on real PostgreSQL connections, the second writer started while the first
holds its transaction open.
"""
import threading

import pytest
from django.db import transaction

from programs.models import SessionType
from sessions.models import Attendance
from tests.sessions.test_week_hours_concurrency import _thread, _wait_until, _waiting_on_a_lock

from .test_billing_days import _live_days, _stored_days, clinic  # noqa: F401 (fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("first", ["code", "mark"])
def test_a_mark_and_a_service_code_change_at_once_leave_the_days_right(clinic, first):  # noqa: F811
    row = (Attendance.objects.exclude(status__in=["present", "late", "left_early"])
           .exclude(session__session_type__service_code="")
           .filter(session__status="scheduled").select_related("session").first())
    type_pk = row.session.session_type_id
    assert _stored_days() == _live_days()

    writes = {"code": lambda: SessionType.objects.filter(pk=type_pk).update(service_code="T1017"),
              "mark": lambda: Attendance.objects.filter(pk=row.pk).update(status="present")}
    second = "mark" if first == "code" else "code"
    holding, release = threading.Event(), threading.Event()

    def first_writer():
        with transaction.atomic():
            writes[first]()
            holding.set()
            release.wait(15)

    first_state, second_state = {}, {}
    first_thread = _thread(first_writer, first_state)
    _wait_until(lambda: holding.is_set() or "error" in first_state, f"the {first} to be written")
    second_thread = _thread(writes[second], second_state)
    # The second writer either waits for the first's lock (as it must) or, without one, is done.
    _wait_until(lambda: not second_thread.is_alive()
                or ("pid" in second_state and _waiting_on_a_lock(second_state["pid"])),
                f"the {second} to wait or finish")
    release.set()
    first_thread.join(15)
    second_thread.join(15)
    assert "error" not in first_state and "error" not in second_state, (first_state, second_state)

    assert Attendance.objects.get(pk=row.pk).status == "present"
    assert SessionType.objects.get(pk=type_pk).service_code == "T1017"
    assert _stored_days() == _live_days()
