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
import threading
import time

import pytest
from django.db import connection, connections, transaction

from sessions.models import Attendance, TherapySession
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


def _thread(work, state: dict) -> threading.Thread:
    def run():
        try:
            state["pid"] = connection.cursor().connection.info.backend_pid
            work()
        except BaseException as exc:  # handed to the test below
            state["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait_until(condition, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@pytest.mark.parametrize("first", ["reschedule", "mark"])
def test_a_mark_and_a_reschedule_at_once_leave_the_weeks_sums_right(site, first):
    track = TrackFactory(site=site, mode="rolling", end_date=None, start_date=MONDAY)
    evening = session(track, MONDAY)
    row = attend(EnrollmentFactory(track=track), evening, "expected")
    assert _sums_stored() == _sums_afresh()

    writes = {"reschedule": lambda: _reschedule_a_week_later(evening.pk),
              "mark": lambda: _mark(row.pk)}
    second = "mark" if first == "reschedule" else "reschedule"
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
    assert TherapySession.objects.get(pk=evening.pk).local_date == MONDAY + dt.timedelta(days=7)
    assert _sums_stored() == _sums_afresh()
