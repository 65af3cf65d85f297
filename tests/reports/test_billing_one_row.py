"""A one-row change of attendance moves the billing tables through the triggers' static
statements (plans kept by the connection), a change of many rows through statements planned
for their size (reports migration 0007): both leave the days, weeks, line rows and week sums
equal to the rows, and a plan kept for one row is never used for many."""
import re
from collections import deque

import pytest
from django.db import connection

from sessions.models import Attendance, AttendanceStatus, TherapySession
from sessions.services.attendance import MarkRequest, attendance_mark, attendance_mark_many
from tests import factories

from tests.reports import test_billing_lines as oracle

from .test_billing_days import (
    _assert_same,
    _line_rows_of,
    _live_days,
    _stored_days,
    _stored_line_rows,
    _stored_week_sums,
    _stored_weeks,
    _week_sums_of,
    _weeks_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

clinic = oracle.clinic  # the oracle's invented clinic, as the other billing tests use


def _assert_tables_right() -> None:
    live = _live_days()
    assert _stored_days() == live
    assert _stored_weeks() == _weeks_of(live)
    assert _stored_line_rows() == _line_rows_of(_weeks_of(live))
    assert _stored_week_sums() == _week_sums_of(_weeks_of(live))


def _billed_session(clinic, *, skip: int = 0) -> TherapySession:
    return (TherapySession.objects.filter(site=clinic["site"], status="scheduled",
                                          track__isnull=False, local_date__lte=oracle.TODAY)
            .exclude(session_type__service_code="").order_by("pk")[skip])


def test_one_row_marks_keep_the_billing_tables_equal_to_the_rows(clinic):
    session = _billed_session(clinic)
    by = factories.StaffFactory()
    row = Attendance.objects.filter(session=session).exclude(status="cancelled").first()
    full = session.duration_minutes
    # Mark, re-mark the same (nothing written), move between the attended statuses and out of
    # them and back, change the minutes alone: the roll call's taps, one row each.
    for status, minutes in [("present", None), ("present", None), ("late", full // 2),
                            ("late", full // 3), ("left_early", 7), ("absent", None),
                            ("present", full - 20), ("excused", None), ("present", 0)]:
        attendance_mark(attendance=row, status=status, minutes=minutes, by=by)
        row.refresh_from_db()
        assert (row.status, row.minutes_attended) == (
            status, None if status in ("absent", "excused") else
            full if minutes is None else minutes)
        _assert_tables_right()

    # One row cancelled by the clinic, given back, moved to another session, added, deleted.
    Attendance.objects.filter(pk=row.pk).update(status=AttendanceStatus.CANCELLED)
    _assert_tables_right()
    Attendance.objects.filter(pk=row.pk).update(status=AttendanceStatus.PRESENT)
    _assert_tables_right()
    other = _billed_session(clinic, skip=5)
    Attendance.objects.filter(session=other, participant_id=row.participant_id).delete()
    Attendance.objects.filter(pk=row.pk).update(session=other, minutes_attended=33)
    _assert_tables_right()
    Attendance.objects.filter(pk=row.pk).delete()
    _assert_tables_right()
    Attendance.objects.create(session=session, participant_id=row.participant_id,
                              enrollment_id=row.enrollment_id, status="late",
                              minutes_attended=41)
    _assert_tables_right()
    _assert_same(clinic)


def _plans_of(statement) -> list[str]:
    """The plans auto_explain gives of the statements `statement` runs, its triggers' too."""
    raw = connection.connection
    with connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        cursor.execute("SET auto_explain.log_min_duration = 0")
        cursor.execute("SET auto_explain.log_nested_statements = on")
        cursor.execute("SET auto_explain.log_level = notice")
        cursor.execute("SET client_min_messages = notice")
    raw.notices = deque()  # a list would keep the last 50 only
    try:
        statement()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET auto_explain.log_min_duration = -1")
            cursor.execute("RESET client_min_messages")
    return list(raw.notices)


def _writing(plans: list[str], table: str) -> list[str]:
    """The plans of `plans` that write `table` (the weeks' in a WITH)."""
    written = re.compile(rf"Query Text:\s+(WITH c AS .*?)?INSERT INTO {table} ", re.DOTALL)
    return [plan for plan in plans if written.search(plan)]


def _estimated(plan: str) -> set[int]:
    """The rows the plan expected from the transition tables."""
    return {int(rows) for rows in re.findall(r"Named Tuplestore Scan.*?rows=(\d+)", plan)}


def test_a_statement_of_many_rows_is_planned_for_its_size_after_one_row_marks(clinic):
    session = _billed_session(clinic)
    by = factories.StaffFactory()
    # One-row marks first (each bills a session more): the connection keeps their plans, made
    # for one row.
    unbilled = (Attendance.objects.filter(
        session__site=clinic["site"], session__status="scheduled",
        session__local_date__lte=oracle.TODAY, status__in=["expected", "absent", "excused"])
        .exclude(session__session_type__service_code="").exclude(session=session).order_by("pk"))
    assert len(unbilled[:3]) == 3
    for row in unbilled[:3]:
        plans = _plans_of(lambda row=row: attendance_mark(attendance=row, status="present",
                                                          by=by))
        for table in ("reports_billing_day", "reports_billing_week", "reports_billing_week_sums"):
            assert _writing(plans, table)
            assert all(_estimated(plan) == {1} for plan in _writing(plans, table))
    _assert_tables_right()

    # A whole session at once (attendance_mark_many: one UPDATE of its rows): its statements
    # expect its rows, not the one row the kept plans were made for.
    rows = list(Attendance.objects.filter(session=session).exclude(status="cancelled"))
    assert len(rows) >= 4
    plans = _plans_of(lambda: attendance_mark_many(
        marks=[MarkRequest(attendance_id=row.pk, status="present") for row in rows], by=by,
        notify=False))
    for table in ("reports_billing_day", "reports_billing_week"):
        assert _writing(plans, table)
        assert all(max(_estimated(plan)) > 1 for plan in _writing(plans, table))
    _assert_tables_right()
