"""Issue 13, item 4: the program's unexcused-absence limit and completion threshold are enforced."""
import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from participants.models import EnrollmentStatus
from sessions.models import FollowUp
from sessions.services.attendance import attendance_mark
from sessions.services.enrollment import enrollment_discharge
from tests import factories

from .conftest import MONDAY, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


@pytest.fixture
def four_visits(track, clinician):
    """One person expected at four 3-hour groups on four Mondays up to tonight."""
    first, (row,) = make_group_session(track, size=1, day=MONDAY - dt.timedelta(weeks=3),
                                       facilitator=clinician)
    row.enrollment.admission_date = MONDAY - dt.timedelta(weeks=3)
    row.enrollment.save()
    rows = [row]
    for weeks in (2, 1, 0):
        session, _ = make_group_session(track, size=0, day=MONDAY - dt.timedelta(weeks=weeks))
        rows.append(factories.AttendanceFactory(session=session, participant=row.participant,
                                                enrollment=row.enrollment))
    return rows


def test_it_tells_a_director_once_when_the_absence_limit_is_reached(four_visits, track,
                                                                    front_desk, director):
    track.program.max_unexcused_absences = 2
    track.program.consecutive_absences_to_escalate = 10
    track.program.save()
    first, second, third, fourth = four_visits
    attendance_mark(attendance=first, status="absent", by=front_desk)
    assert not FollowUp.objects.filter(kind="absence_limit").exists()
    attendance_mark(attendance=second, status="present", by=front_desk)
    attendance_mark(attendance=third, status="absent", by=front_desk)
    attendance_mark(attendance=fourth, status="absent", by=front_desk)

    limit = FollowUp.objects.get(kind="absence_limit")
    assert limit.assignee == director and limit.missed_on == third.session.local_date


def test_it_refuses_to_complete_below_the_attendance_threshold_and_says_what_is_missing(
        four_visits, track, director):
    first, second, third, fourth = four_visits
    for row, status in zip(four_visits, ["present", "present", "absent", "present"]):
        attendance_mark(attendance=row, status=status, by=director)
    enrollment = first.enrollment
    track.program.min_attendance_percent = 80
    track.program.save()

    with pytest.raises(ValidationError) as error:
        enrollment_discharge(enrollment=enrollment, discharge_date=MONDAY, reason="completed",
                             by=director)
    assert error.value.code == "completion_attendance_too_low"
    assert "at least 80 %" in error.value.messages[0] and "75.0 %" in error.value.messages[0]
    assert "9.0 of 12.0 h" in error.value.messages[0]
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE

    track.program.min_attendance_percent = 75
    track.program.save()
    enrollment_discharge(enrollment=enrollment, discharge_date=MONDAY, reason="completed",
                         by=director)
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.COMPLETED
