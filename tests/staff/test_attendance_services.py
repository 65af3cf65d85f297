import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions.models import Attendance, AttendanceChange, FollowUp
from sessions.services.attendance import attendance_mark, attendance_mark_rest_present

from .conftest import MONDAY, NEW_YORK, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_it_marks_present_for_the_whole_session_by_default(group_session, clinician):
    session, (first, *_rest) = group_session

    marked = attendance_mark(attendance=first, status="present", by=clinician)

    marked.refresh_from_db()
    assert marked.status == "present"
    assert marked.minutes_attended == 180
    assert marked.marked_by == clinician
    assert marked.marked_at is not None
    assert not AttendanceChange.objects.exists()


def test_it_keeps_the_minutes_staff_enter_for_a_late_arrival(group_session, clinician):
    _session, (first, *_rest) = group_session

    attendance_mark(attendance=first, status="late", minutes=150, note="Bus delay", by=clinician)

    first.refresh_from_db()
    assert (first.status, first.minutes_attended, first.note) == ("late", 150, "Bus delay")


def test_it_records_who_changed_an_already_marked_attendance(group_session, clinician, front_desk):
    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="present", by=front_desk)

    attendance_mark(attendance=first, status="left_early", minutes=90, by=clinician)

    change = AttendanceChange.objects.get()
    assert (change.old_status, change.new_status) == ("present", "left_early")
    assert (change.old_minutes, change.new_minutes) == (180, 90)
    assert change.changed_by == clinician
    first.refresh_from_db()
    assert first.marked_by == clinician


def test_it_records_nothing_when_the_same_mark_is_tapped_twice(group_session, clinician):
    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="present", by=clinician)
    attendance_mark(attendance=first, status="present", by=clinician)
    assert not AttendanceChange.objects.exists()


@pytest.mark.parametrize("minutes", [181, -1])
def test_it_refuses_minutes_outside_the_session_and_writes_nothing(group_session, clinician,
                                                                   minutes):
    _session, (first, *_rest) = group_session

    with pytest.raises(ValidationError) as caught:
        attendance_mark(attendance=first, status="present", minutes=minutes, by=clinician)

    assert "minutes" in caught.value.error_dict
    first.refresh_from_db()
    assert first.status == "expected" and first.marked_by is None


def test_it_refuses_an_unknown_status(group_session, clinician):
    _session, (first, *_rest) = group_session
    with pytest.raises(ValidationError):
        attendance_mark(attendance=first, status="cancelled", by=clinician)


def test_it_drops_minutes_for_an_absence(group_session, clinician):
    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="absent", minutes=60, by=clinician)
    first.refresh_from_db()
    assert first.minutes_attended is None


def test_it_refuses_to_mark_a_cancelled_session(track, clinician):
    session, (first,) = make_group_session(track, size=1, status="cancelled",
                                           cancel_reason="Snow day")
    with pytest.raises(ValidationError) as caught:
        attendance_mark(attendance=first, status="present", by=clinician)
    assert caught.value.code == "session_cancelled"


def test_it_refuses_to_mark_a_session_on_a_later_day(track, clinician):
    _session, (first,) = make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=1))
    with pytest.raises(ValidationError) as caught:
        attendance_mark(attendance=first, status="present", by=clinician)
    assert caught.value.code == "session_not_started"
    first.refresh_from_db()
    assert first.status == "expected"


def test_it_lets_front_desk_check_people_in_only_as_early_as_the_program_allows(track,
                                                                                front_desk):
    session, (first,) = make_group_session(track, size=1, hour=21)  # starts 9 pm, it is 8 pm
    with pytest.raises(ValidationError):
        attendance_mark(attendance=first, status="present", by=front_desk)
    track.program.marking_opens_minutes_before = 60
    track.program.save()
    attendance_mark(attendance=first, status="present", by=front_desk)
    first.refresh_from_db()
    assert first.status == "present"


def test_it_uses_the_site_date_not_utc_to_decide_what_is_today(track, clinician):
    # 11 pm in New York on Monday is already Tuesday in UTC; Tuesday's session is still tomorrow.
    _session, (first,) = make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=1))
    with time_machine.travel(dt.datetime(2026, 1, 5, 23, 0, tzinfo=NEW_YORK), tick=False):
        with pytest.raises(ValidationError):
            attendance_mark(attendance=first, status="present", by=clinician)


def test_it_marks_only_the_rest_present(group_session, clinician):
    session, (first, second, third) = group_session
    attendance_mark(attendance=first, status="absent", by=clinician)

    count = attendance_mark_rest_present(session=session, by=clinician)

    assert count == 2
    statuses = dict(Attendance.objects.filter(session=session).values_list("pk", "status"))
    assert statuses == {first.pk: "absent", second.pk: "present", third.pk: "present"}
    assert Attendance.objects.get(pk=second.pk).minutes_attended == 180


def test_it_refuses_the_rest_present_on_a_cancelled_session(track, clinician):
    session, _rows = make_group_session(track, size=2, status="cancelled", cancel_reason="Closed")
    with pytest.raises(ValidationError):
        attendance_mark_rest_present(session=session, by=clinician)
    assert not Attendance.objects.filter(status="present").exists()


def test_it_does_not_mark_a_visit_the_clinic_cancelled(group_session, clinician):
    _session, (first, *_rest) = group_session
    Attendance.objects.filter(pk=first.pk).update(status="cancelled")
    with pytest.raises(ValidationError):
        attendance_mark(attendance=first, status="present", by=clinician)
    assert not FollowUp.objects.exists()


def _audit_entries(attendance):
    from auditlog.models import LogEntry

    return list(LogEntry.objects.get_for_object(attendance)
                .filter(action=LogEntry.Action.UPDATE).order_by("pk"))


def test_it_audits_a_mark_as_auditlog_audits_the_same_change_saved(group_session, clinician):
    """The mark's entry is diffed against the row as locked, not read again: it must be the
    entry django-auditlog's own receiver writes for the same change of an identical row."""
    from auditlog.context import set_actor
    from django.utils import timezone

    from sessions.services.attendance import MARK_FIELDS

    _session, (marked, saved, _third) = group_session
    steps = [("present", None, ""), ("left_early", 90, "Left for work"), ("absent", None, "")]
    names = []
    with set_actor(clinician):
        for status, minutes, note in steps:
            names.append(str(attendance_mark(attendance=marked, status=status, minutes=minutes,
                                             note=note, by=clinician)))
            saved.refresh_from_db()
            saved.status, saved.note = status, note
            saved.minutes_attended = 180 if status == "present" else minutes
            saved.marked_by, saved.marked_at = clinician, timezone.now()
            saved.save(update_fields=MARK_FIELDS)

    ours, theirs = _audit_entries(marked), _audit_entries(saved)
    assert len(ours) == len(theirs) == 3
    for mine, auditlogs, name in zip(ours, theirs, names):
        assert mine.changes == auditlogs.changes
        assert (mine.actor, mine.content_type, mine.cid) == (
            auditlogs.actor, auditlogs.content_type, auditlogs.cid)
        assert mine.additional_data == {"participant": marked.participant_id}
        assert mine.object_repr == name
    assert ours[0].changes["status"] == ["expected", "present"]


def test_it_reads_the_marked_row_once(group_session, clinician):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="present", by=clinician)

    with CaptureQueriesContext(connection) as captured:
        attendance_mark(attendance=first, status="late", minutes=120, by=clinician)

    reads = [q["sql"] for q in captured.captured_queries
             if q["sql"].startswith('SELECT "iop_sessions_attendance"."id"')]
    assert len(reads) == 1 and reads[0].endswith('FOR UPDATE OF "iop_sessions_attendance"')


def test_the_rest_present_costs_the_same_queries_for_3_or_30_people(
    track, clinician, django_capture_on_commit_callbacks
):
    """Written, audited and the authorization usage derived again after commit, whatever the
    number of people still expected."""
    counts = []
    for size, hour in ((3, 9), (30, 13)):
        session, _rows = make_group_session(track, size=size, hour=hour)
        with CaptureQueriesContext(connection) as queries:
            with django_capture_on_commit_callbacks(execute=True):
                assert attendance_mark_rest_present(session=session, by=clinician) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
