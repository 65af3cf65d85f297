"""Issue 13, item 6: one follow-up per missed visit day, listed by the day missed, once a person;
each role's default view holds its work."""
import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from sessions.models import FollowUp
from sessions.services.attendance import attendance_mark
from tests import factories

from .conftest import MONDAY, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


@pytest.fixture
def evening(track, clinician):
    """Monday evening: a 3-hour group at 15:00 and a 1-hour workshop at 18:00, one person."""
    group, (in_group,) = make_group_session(track, size=1, hour=15, facilitator=clinician)
    starts = dt.datetime.combine(MONDAY, dt.time(18, 0), tzinfo=track.site.zone)
    workshop = factories.TherapySessionFactory(
        track=track, starts_at=starts, ends_at=starts + dt.timedelta(hours=1),
        session_type=factories.SessionTypeFactory(kind="workshop"))
    in_workshop = factories.AttendanceFactory(session=workshop, participant=in_group.participant,
                                              enrollment=in_group.enrollment)
    return in_group, in_workshop


def test_it_raises_one_follow_up_and_one_email_for_a_missed_evening(
        evening, front_desk, django_capture_on_commit_callbacks):
    in_group, in_workshop = evening
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(attendance=in_group, status="absent", by=front_desk)
        attendance_mark(attendance=in_workshop, status="absent", by=front_desk)

    followup = FollowUp.objects.get()  # no escalation either: one missed day, not two
    assert (followup.kind, followup.missed_on) == ("unexcused_absence", MONDAY)
    assert len(mail.outbox) == 1


def test_it_keeps_the_days_follow_up_open_while_another_absence_stands(evening, front_desk):
    in_group, in_workshop = evening
    attendance_mark(attendance=in_group, status="absent", by=front_desk)
    attendance_mark(attendance=in_workshop, status="absent", by=front_desk)

    attendance_mark(attendance=in_group, status="present", by=front_desk)
    followup = FollowUp.objects.get()
    assert followup.is_open and followup.attendance == in_workshop

    attendance_mark(attendance=in_workshop, status="excused", by=front_desk)
    followup.refresh_from_db()
    assert not followup.is_open


def test_it_escalates_after_consecutive_missed_days_not_sessions(track, front_desk, director):
    _earlier, (last_week,) = make_group_session(track, size=1,
                                                day=MONDAY - dt.timedelta(days=7))
    tonight, _nobody = make_group_session(track, size=0)
    today_row = factories.AttendanceFactory(session=tonight, participant=last_week.participant,
                                            enrollment=last_week.enrollment)
    attendance_mark(attendance=last_week, status="absent", by=front_desk)
    assert not FollowUp.objects.filter(kind="consecutive_absences").exists()
    attendance_mark(attendance=today_row, status="absent", by=front_desk)
    assert FollowUp.objects.filter(kind="consecutive_absences").count() == 1


def test_today_lists_each_person_once_with_the_day_they_missed(as_clinician, track, front_desk):
    last_monday = MONDAY - dt.timedelta(days=7)
    _old, (earlier,) = make_group_session(track, size=1, day=last_monday)
    tonight = make_group_session(track, size=0)[0]
    again = factories.AttendanceFactory(session=tonight, participant=earlier.participant,
                                        enrollment=earlier.enrollment)
    attendance_mark(attendance=earlier, status="absent", by=front_desk)
    attendance_mark(attendance=again, status="absent", by=front_desk)
    assert FollowUp.objects.filter(participant=earlier.participant).count() == 3  # + escalation

    page = as_clinician.get(reverse("home")).content.decode()
    box = page.split('id="followups-heading"')[1].split("</section>")[0]
    assert box.count(earlier.participant.full_name) == 1
    assert "Mon, Dec 29" in box and "Mon, Jan 5" in box


def test_front_desk_sees_the_sites_open_follow_ups_by_default(as_front_desk, as_clinician,
                                                               evening, front_desk):
    in_group, _ = evening
    attendance_mark(attendance=in_group, status="absent", by=front_desk)
    name = in_group.participant.full_name

    desk_list = as_front_desk.get(reverse("followup_list")).content.decode()
    desk_today = as_front_desk.get(reverse("home")).content.decode()
    clinician_list = as_clinician.get(reverse("followup_list")).content.decode()

    assert name in desk_list and "Open follow-ups at your sites" in desk_today
    assert name in desk_today.split('id="followups-heading"')[1].split("</section>")[0]
    assert name in clinician_list  # the track's lead clinician is assigned: "Me" has it


@pytest.mark.parametrize("people", [1, 8])
def test_today_keeps_its_query_budget_with_grouped_follow_ups(as_front_desk, track, front_desk,
                                                              people,
                                                              django_assert_max_num_queries):
    _session, rows = make_group_session(track, size=people)
    for row in rows:
        attendance_mark(attendance=row, status="absent", by=front_desk)
    with django_assert_max_num_queries(16):
        assert as_front_desk.get(reverse("home")).status_code == 200
