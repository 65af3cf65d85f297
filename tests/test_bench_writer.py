"""bench/writer.py (bench/web.py --write-rate): it marks attendance through the roster's own
service on the sessions that have started, every mark a real change, and stops when told.
No time is asserted: the rate is high so the test is short, and the waits are bounded guards."""
import datetime as dt
import threading
import time

import pytest
from auditlog.models import LogEntry
from django.db import connections
from django.utils import timezone

from accounts.roles import Role
from bench.writer import CYCLE, Mark, mark_steadily, mark_targets, next_status, summary
from reports.models import SessionTally
from sessions.models import Attendance, AttendanceChange, AttendanceStatus
from tests import factories


def _session(*, track, starts_at, people):
    session = factories.TherapySessionFactory(
        track=track, starts_at=starts_at, ends_at=starts_at + dt.timedelta(hours=1))
    for person in people:
        factories.AttendanceFactory(session=session, participant=person)
    return session


@pytest.mark.django_db(transaction=True)
def test_it_marks_started_sessions_through_the_service_and_stops_when_told():
    site = factories.SiteFactory()
    lead = factories.StaffFactory(role=Role.CLINICIAN, sites=[site])
    track = factories.TrackFactory(site=site, lead_clinician=lead)
    people = factories.ParticipantFactory.create_batch(3, home_site=site)
    now = timezone.now()
    started = _session(track=track, starts_at=now - dt.timedelta(hours=2), people=people)
    earlier_day = _session(track=track, starts_at=now - dt.timedelta(days=2), people=people)
    not_started = _session(track=track, starts_at=now + dt.timedelta(days=1), people=people)

    day, targets = mark_targets()
    assert day == started.local_date
    assert {t.attendance_id for t in targets} == set(
        started.attendances.values_list("pk", flat=True))
    assert {t.marker_id for t in targets} == {lead.pk}

    stop, result = threading.Event(), {}

    def write():
        try:
            result["marks"] = mark_steadily(targets=targets, rate=50, stop=stop)
        finally:
            connections.close_all()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    audited = LogEntry.objects.filter(content_type__model="attendance",
                                      action=LogEntry.Action.UPDATE)
    deadline = time.monotonic() + 60  # a guard against a hung writer, not a timing
    # Four marks: each of the three rows once, and the first a second time (a change kept).
    while audited.count() < 4 and thread.is_alive():
        assert time.monotonic() < deadline, "the writer marked nothing"
        time.sleep(0.02)
    stop.set()
    thread.join(60)
    assert not thread.is_alive(), "the writer did not stop when told"

    marks = result["marks"]
    assert len(marks) >= 4 and not any(m.refused for m in marks)
    # Every mark went through attendance_mark: one audit entry each, nothing after the stop.
    assert audited.count() == len(marks)
    assert AttendanceChange.objects.count() == len(marks) - 3  # changes of rows marked before
    rows = Attendance.objects.filter(session=started)
    assert not rows.filter(status=AttendanceStatus.EXPECTED).exists()
    assert set(rows.values_list("marked_by", flat=True)) == {lead.pk}
    tally = SessionTally.objects.get(session=started)
    assert tally.unmarked == 0
    assert tally.attended + tally.absent + tally.excused == 3
    # The other days were left alone.
    for session in (earlier_day, not_started):
        assert not session.attendances.exclude(status=AttendanceStatus.EXPECTED).exists()


@pytest.mark.django_db
def test_it_finds_nothing_to_mark_before_any_session_started():
    factories.AttendanceFactory(session=factories.TherapySessionFactory(
        starts_at=timezone.now() + dt.timedelta(hours=1),
        ends_at=timezone.now() + dt.timedelta(hours=2)))
    assert mark_targets() == (None, [])


def test_it_moves_every_status_to_another():
    for status in [*CYCLE, AttendanceStatus.EXPECTED]:
        assert next_status(status) != status
        assert next_status(status) in AttendanceStatus.marked()
    assert next_status(AttendanceStatus.EXPECTED) == AttendanceStatus.PRESENT


def test_it_summarises_the_marks_of_one_window_only():
    marks = [Mark(started=s, late_ms=0, latency_ms=latency, behind=behind, refused=refused)
             for s, latency, behind, refused in [
                 (9.5, 999.0, False, False),  # before the window
                 (10.0, 10.0, False, False), (10.5, 20.0, True, False),
                 (11.0, 30.0, False, False), (11.5, 0.1, False, True),
                 (12.0, 999.0, False, False)]]  # at the window's end: the next one's
    figures = summary(marks, start=10.0, end=12.0)
    assert figures["marks"] == 4
    assert figures["per_second"] == 2.0
    assert figures["p50"] == 20.0  # refused marks have no latency to count
    assert 20.0 < figures["p95"] <= 30.0
    assert (figures["behind"], figures["refused"]) == (1, 1)
