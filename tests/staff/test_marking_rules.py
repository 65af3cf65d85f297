"""Issue 13, items 1 and 2: marking opens at the start; late and left early need their minutes."""
import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from sessions.models import Attendance, AttendanceChange, FollowUp
from sessions.selectors.ledger import hours_ledger
from sessions.services.attendance import attendance_mark, attendance_mark_rest_present
from sessions.services.followups import followup_raise_for_absence

from .conftest import MONDAY, NEW_YORK, make_group_session

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def at(hour, minute=0, day=MONDAY):
    return time_machine.travel(dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK),
                               tick=False)


@pytest.fixture
def evening(track, clinician):
    """Tonight's 18:00–21:00 group, three people expected."""
    return make_group_session(track, size=3, facilitator=clinician)


def test_it_refuses_to_mark_tonights_group_in_the_morning(evening, clinician):
    session, (first, *_rest) = evening
    with at(6, 12):
        with pytest.raises(ValidationError) as error:
            attendance_mark(attendance=first, status="present", by=clinician)
        assert error.value.code == "session_not_started"
        with pytest.raises(ValidationError):
            attendance_mark_rest_present(session=session, by=clinician)
    first.refresh_from_db()
    assert first.status == "expected" and first.marked_at is None


def test_it_opens_marking_the_programs_minutes_before_the_start(evening, clinician, track):
    session, (first, second, _third) = evening
    track.program.marking_opens_minutes_before = 15
    track.program.save()
    with at(17, 40), pytest.raises(ValidationError):
        attendance_mark(attendance=first, status="present", by=clinician)
    with at(17, 46):
        attendance_mark(attendance=first, status="present", by=clinician)
    with at(18, 0):
        attendance_mark(attendance=second, status="absent", by=clinician)
    assert Attendance.objects.get(pk=first.pk).status == "present"


def test_it_keeps_corrections_possible_and_audited_the_next_day(evening, clinician, front_desk):
    _session, (first, *_rest) = evening
    with at(21, 0):
        attendance_mark(attendance=first, status="absent", by=front_desk)
    with at(9, 0, day=MONDAY + dt.timedelta(days=1)):
        attendance_mark(attendance=first, status="excused", by=clinician)
    change = AttendanceChange.objects.get()
    assert (change.old_status, change.new_status, change.changed_by) == (
        "absent", "excused", clinician)


def test_it_shows_no_buttons_on_the_roster_before_the_start(evening, as_clinician):
    session, _rows = evening
    with at(6, 12):
        page = as_clinician.get(reverse("roster", args=[session.pk])).content.decode()
    assert ">Present</button>" not in page
    assert "has not started" in page


def test_it_ignores_marks_on_sessions_not_started_in_followups_and_the_ledger(evening, track):
    # Rows marked early by the old rule (06:12 for an 18:00 group) must not count or raise.
    session, (first, second, _third) = evening
    Attendance.objects.filter(pk=first.pk).update(status="present", minutes_attended=180)
    Attendance.objects.filter(pk=second.pk).update(status="absent")
    with at(6, 12):
        assert followup_raise_for_absence(attendance=Attendance.objects.get(pk=second.pk)) == []
        ledger = hours_ledger(enrollment=first.enrollment, today=MONDAY)
    assert not FollowUp.objects.exists()
    week = ledger.current_week
    assert week.attended_minutes == 0
    assert week.scheduled_ahead_minutes == 180
    assert ledger.attendance_percent is None


@pytest.mark.parametrize("status", ["late", "left_early"])
def test_it_requires_minutes_for_late_and_left_early(evening, clinician, status):
    _session, (first, *_rest) = evening
    with at(20, 0):
        for minutes, code in [(None, "minutes_required"), (180, "minutes_not_partial")]:
            with pytest.raises(ValidationError) as error:
                attendance_mark(attendance=first, status=status, minutes=minutes, by=clinician)
            assert error.value.error_dict["minutes"][0].code == code
        attendance_mark(attendance=first, status=status, minutes=179, by=clinician)
    first.refresh_from_db()
    assert (first.status, first.minutes_attended) == (status, 179)


def test_it_asks_for_the_minutes_in_the_same_tap_flow(evening, as_front_desk):
    session, (first, *_rest) = evening
    url = reverse("attendance_mark", args=[session.pk, first.pk])
    with at(20, 0):
        asked = as_front_desk.post(url, {"status": "late", "minutes": "", "note": ""},
                                   **HTMX).content.decode()
        # The row comes back asking for minutes, with a "Save late" button first in the form
        # (so Enter in the minutes box saves "late", and a tap does too).
        assert 'aria-invalid="true"' in asked and "enter the minutes attended" in asked
        assert asked.index('class="btn btn-primary btn-tap mt-1 w-100 save-partial"') < asked.index(
            'value="present"')
        assert 'name="status" value="late"' in asked
        as_front_desk.post(url, {"status": "late", "minutes": "40", "note": ""}, **HTMX)
    first.refresh_from_db()
    assert (first.status, first.minutes_attended) == ("late", 40)
