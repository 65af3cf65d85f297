"""Bulk schedule writes leave one audit entry per row and cost the same queries at any size."""
import datetime as dt

import pytest
import time_machine
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions.models import Attendance, TherapySession
from sessions.services.enrollment import enrollment_hold
from sessions.services.schedule import closure_add, schedule_generate, weekly_slot_update
from tests import factories

UTC = dt.UTC


def entries(model, action, since=0):
    return LogEntry.objects.get_for_model(model).filter(action=action, pk__gt=since)


def last_entry():
    """Audit records cannot be deleted, so tests count the ones written after this id."""
    return LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def build_track(site, weeks):
    track = factories.TrackFactory(site=site, start_date=dt.date(2026, 1, 5),
                                   end_date=dt.date(2026, 1, 4) + dt.timedelta(weeks=weeks))
    slot = factories.WeeklySlotFactory(track=track, weekday=0)
    enrollments = [factories.EnrollmentFactory(track=track) for _ in range(2)]
    return track, slot, enrollments


@pytest.mark.parametrize("weeks", [2, 12])
def test_it_audits_every_generated_session_and_expected_attendance(site, weeks):
    track, _slot, enrollments = build_track(site, weeks)

    created = schedule_generate(track=track).created

    assert created == weeks
    assert entries(TherapySession, LogEntry.Action.CREATE).count() == weeks
    new_attendance = entries(Attendance, LogEntry.Action.CREATE)
    assert new_attendance.count() == Attendance.objects.count() == 2 * weeks
    participant_ids = {e.participant_id for e in enrollments}
    assert {e.additional_data["participant"] for e in new_attendance} == participant_ids
    assert all(e.additional_data["bulk"] for e in new_attendance)


def test_it_audits_sessions_and_attendance_removed_by_a_weekday_change(site):
    track, slot, _ = build_track(site, weeks=4)
    schedule_generate(track=track)
    session_ids = set(TherapySession.objects.values_list("pk", flat=True))

    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=UTC), tick=False):
        weekly_slot_update(slot=slot, weekday=1)

    removed = entries(TherapySession, LogEntry.Action.DELETE)
    assert {int(e.object_pk) for e in removed} == session_ids
    assert entries(Attendance, LogEntry.Action.DELETE).count() == 2 * 4
    assert entries(TherapySession, LogEntry.Action.CREATE).count() == 2 * 4


@pytest.mark.parametrize("sessions", [2, 12])
def test_it_audits_a_closure_cancelling_each_session(site, sessions):
    for hour in range(sessions):
        session = factories.TherapySessionFactory(
            track=factories.TrackFactory(site=site),
            starts_at=dt.datetime(2026, 1, 12, 11 + hour, 0, tzinfo=UTC))
        factories.AttendanceFactory(session=session, participant__home_site=site)
    since = last_entry()

    closure_add(site=site, date=dt.date(2026, 1, 12), reason="Power cut")

    cancelled = entries(TherapySession, LogEntry.Action.UPDATE, since)
    assert cancelled.count() == sessions
    assert all(e.changes_dict["status"][1] == "cancelled" for e in cancelled)
    assert entries(Attendance, LogEntry.Action.UPDATE, since).count() == sessions


def _queries_to_hold(site, weeks):
    track, _slot, enrollments = build_track(site, weeks)
    schedule_generate(track=track)
    since = last_entry()
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=UTC), tick=False):
        with CaptureQueriesContext(connection) as queries:
            enrollment_hold(enrollment=enrollments[0], reason="Family emergency")
    return len(queries), entries(Attendance, LogEntry.Action.DELETE, since).count()


def test_it_withdraws_held_attendance_in_the_same_queries_for_2_or_12_weeks(site):
    small, audited_small = _queries_to_hold(site, 2)
    large, audited_large = _queries_to_hold(factories.SiteFactory(), 12)

    assert (audited_small, audited_large) == (2, 12)
    assert small == large


def test_the_audit_trail_leaves_out_the_rows_kept_session_date(site):
    """The database keeps each row's session date from its session: the instances a bulk write
    or a save audits do not hold it, so an audit entry would show it as emptied or set."""
    track, _slot, enrollments = build_track(site, weeks=2)
    schedule_generate(track=track)
    row = Attendance.objects.order_by("pk").first()
    since = last_entry()
    row.status = "present"
    row.save()
    logged = [*entries(Attendance, LogEntry.Action.CREATE),
              *entries(Attendance, LogEntry.Action.UPDATE, since)]
    assert len(logged) == 2 * 2 + 1
    assert all("session_date" not in entry.changes_dict for entry in logged)
    assert logged[-1].changes_dict["status"] == ["expected", "present"]
