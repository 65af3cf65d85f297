import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.roles import Role
from participants.models import ContinuingCarePlan, Enrollment, EnrollmentStatus
from sessions.models import Attendance
from sessions.services.enrollment import (
    enrollment_admit_from_waitlist,
    enrollment_decline_offer,
    enrollment_discharge,
    enrollment_enroll,
    enrollment_hold,
    enrollment_resume,
    enrollment_withdraw,
    track_waitlist,
    waitlist_position,
)
from tests.factories import (
    ParticipantFactory,
    SessionTypeFactory,
    StaffFactory,
    TherapySessionFactory,
    TrackFactory,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MONDAY = dt.date(2026, 1, 5)  # the default track start


def at_local(track, day, hour, minute=0):
    """A UTC instant for a wall-clock time at the track's site."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=track.site.zone).astimezone(UTC)


def weekly_sessions(track, *, weeks, weekdays=(0, 2, 3), hour=18, hours=3, first_monday=None):
    """Mon/Wed/Thu 6-9 pm sessions at the site, like a generated schedule."""
    session_type = SessionTypeFactory()
    first_monday = first_monday or track.start_date
    sessions = []
    for week in range(weeks):
        for weekday in weekdays:
            starts = at_local(track, first_monday + dt.timedelta(weeks=week, days=weekday), hour)
            sessions.append(TherapySessionFactory(
                track=track, session_type=session_type, starts_at=starts,
                ends_at=starts + dt.timedelta(hours=hours)))
    return sessions


def expected_dates(enrollment):
    return sorted(Attendance.objects.filter(participant=enrollment.participant, status="expected")
                  .values_list("session__local_date", flat=True))


@pytest.fixture
def before_start():
    with time_machine.travel(dt.datetime(2026, 1, 2, 15, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def track(site):
    return TrackFactory(site=site, capacity=2, program__duration_weeks=2)


def enroll(track, admission_date=MONDAY, **kwargs):
    return enrollment_enroll(participant=ParticipantFactory(home_site=track.site), track=track,
                             admission_date=admission_date, **kwargs)


# --- enrolling -------------------------------------------------------------------------------

def test_it_enrolls_into_a_free_seat_and_expects_the_participant_at_each_session(
    before_start, site
):
    track = TrackFactory(site=site, mode="rolling", end_date=None, program__duration_weeks=2)
    weekly_sessions(track, weeks=3)
    cancelled = TherapySessionFactory(track=track, starts_at=at_local(track, MONDAY, 10),
                                      status="cancelled", cancel_reason="Closed")
    TherapySessionFactory(starts_at=at_local(track, MONDAY, 18))  # another track's session

    enrollment = enroll(track)

    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert enrollment.planned_end_date == MONDAY + dt.timedelta(weeks=2, days=-1)
    # Weeks one and two; the third week's Monday is past the planned end.
    assert expected_dates(enrollment) == sorted(
        [MONDAY + dt.timedelta(weeks=w, days=d) for w in range(2) for d in (0, 2, 3)])
    assert not cancelled.attendances.exists()


def test_it_caps_a_cohort_planned_end_at_the_cohort_end(track, director):
    with time_machine.travel(dt.datetime(2026, 1, 8, 15, 0, tzinfo=UTC), tick=False):
        enrollment = enroll(track, admission_date=dt.date(2026, 1, 8), by=director,
                            director_override=True)

    assert enrollment.planned_end_date == track.end_date == dt.date(2026, 1, 18)


def test_it_lets_a_rolling_track_take_people_any_week(site):
    track = TrackFactory(site=site, mode="rolling", end_date=None, program__duration_weeks=8)
    with time_machine.travel(dt.datetime(2026, 3, 11, 15, 0, tzinfo=UTC), tick=False):
        enrollment = enroll(track, admission_date=dt.date(2026, 3, 11))

    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert enrollment.planned_end_date == dt.date(2026, 5, 5)


def test_it_refuses_a_second_active_enrollment(before_start, track, site):
    first = enroll(track)
    other_track = TrackFactory(site=site)

    with pytest.raises(ValidationError) as excinfo:
        enrollment_enroll(participant=first.participant, track=other_track, admission_date=MONDAY)

    assert excinfo.value.code == "already_active"
    assert first.participant.enrollments.count() == 1


def test_it_refuses_to_waitlist_someone_twice_on_one_track(before_start, track):
    enroll(track), enroll(track)
    waiting = enroll(track)

    with pytest.raises(ValidationError) as excinfo:
        enrollment_enroll(participant=waiting.participant, track=track, admission_date=MONDAY)

    assert excinfo.value.code == "already_in_track"


@pytest.mark.parametrize(
    ("admission", "code"),
    [
        (dt.date(2026, 1, 4), "admission_before_track_start"),
        (dt.date(2026, 1, 19), "admission_after_track_end"),
        (None, "invalid_admission_date"),
    ],
)
def test_it_refuses_admission_dates_outside_the_track(before_start, track, admission, code):
    with pytest.raises(ValidationError) as excinfo:
        enroll(track, admission_date=admission)

    assert excinfo.value.code == code
    assert not Enrollment.objects.exists()


def test_it_refuses_a_closed_track(before_start, track):
    track.is_active = False
    track.save()

    with pytest.raises(ValidationError) as excinfo:
        enroll(track)

    assert excinfo.value.code == "track_inactive"


def test_it_waitlists_when_the_track_is_full_in_order(before_start, track):
    enroll(track), enroll(track)

    third = enroll(track)
    fourth = enroll(track)

    assert third.status == fourth.status == EnrollmentStatus.WAITLISTED
    assert third.waitlisted_at is not None
    assert not third.attendances.exists()
    assert [waitlist_position(third), waitlist_position(fourth)] == [1, 2]
    assert list(track_waitlist(track=track)) == [third, fourth]
    assert waitlist_position(Enrollment.objects.filter(status="active").first()) is None


def test_it_breaks_waitlist_ties_by_creation_order(before_start, track):
    enroll(track), enroll(track)
    third, fourth = enroll(track), enroll(track)
    Enrollment.objects.filter(pk=fourth.pk).update(waitlisted_at=third.waitlisted_at)
    fourth.refresh_from_db()

    assert [waitlist_position(third), waitlist_position(fourth)] == [1, 2]


# --- cohorts that have started ---------------------------------------------------------------

def test_it_refuses_a_cohort_once_it_has_started(track):
    with time_machine.travel(dt.datetime(2026, 1, 7, 15, 0, tzinfo=UTC), tick=False):
        with pytest.raises(ValidationError) as excinfo:
            enroll(track, admission_date=MONDAY)

    assert excinfo.value.code == "cohort_started"
    assert not Enrollment.objects.exists()


def test_it_refuses_a_cohort_admission_after_the_start_even_before_it(before_start, track):
    with pytest.raises(ValidationError) as excinfo:
        enroll(track, admission_date=dt.date(2026, 1, 7))

    assert excinfo.value.code == "cohort_started"


def test_it_accepts_enrolling_on_the_cohorts_first_day(track):
    with time_machine.travel(dt.datetime(2026, 1, 5, 15, 0, tzinfo=UTC), tick=False):
        assert enroll(track).status == EnrollmentStatus.ACTIVE


def test_it_lets_a_director_override_a_started_cohort(track, director):
    with time_machine.travel(dt.datetime(2026, 1, 7, 15, 0, tzinfo=UTC), tick=False):
        enrollment = enroll(track, admission_date=dt.date(2026, 1, 7), by=director,
                            director_override=True)

    assert enrollment.status == EnrollmentStatus.ACTIVE


def test_it_refuses_an_override_from_someone_not_a_director(track, clinician):
    with time_machine.travel(dt.datetime(2026, 1, 7, 15, 0, tzinfo=UTC), tick=False):
        with pytest.raises(ValidationError) as excinfo:
            enroll(track, admission_date=dt.date(2026, 1, 7), by=clinician, director_override=True)

    assert excinfo.value.code == "cohort_started"
    assert "director" in excinfo.value.messages[0]


# --- freed seats and the waitlist --------------------------------------------------------------

@pytest.fixture
def full_track_with_queue(track):
    """Two admitted and two waiting, before the cohort starts; sessions for three weeks."""
    with time_machine.travel(dt.datetime(2026, 1, 2, 15, 0, tzinfo=UTC), tick=False):
        weekly_sessions(track, weeks=3)
        admitted = [enroll(track), enroll(track)]
        waiting = [enroll(track), enroll(track)]
    return admitted, waiting


def test_it_offers_a_freed_seat_to_the_first_in_line(before_start, full_track_with_queue):
    (leaver, _), (first, second) = full_track_with_queue
    leaver_track = leaver.track

    enrollment_withdraw(enrollment=leaver)  # before admission day: a withdrawal frees the seat

    first.refresh_from_db(), second.refresh_from_db()
    assert first.seat_offered_at is not None
    assert second.seat_offered_at is None
    # The held seat counts: a newcomer waits behind both.
    newcomer = enroll(leaver_track)
    assert newcomer.status == EnrollmentStatus.WAITLISTED
    assert waitlist_position(newcomer) == 3


def test_it_offers_the_seat_freed_by_a_discharge(full_track_with_queue):
    (leaver, _), (first, _) = full_track_with_queue
    with time_machine.travel(dt.datetime(2026, 1, 9, 15, 0, tzinfo=UTC), tick=False):
        enrollment_discharge(enrollment=leaver, discharge_date=dt.date(2026, 1, 9),
                             reason="against_advice")

    first.refresh_from_db()
    assert first.seat_offered_at is not None


def test_it_admits_the_person_offered_a_seat(before_start, full_track_with_queue):
    (leaver, _), (first, _) = full_track_with_queue
    enrollment_withdraw(enrollment=leaver)
    first.refresh_from_db()

    enrollment_admit_from_waitlist(enrollment=first)

    assert first.status == EnrollmentStatus.ACTIVE
    assert first.seat_offered_at is None
    assert first.admission_date == MONDAY
    assert len(expected_dates(first)) == 6  # two weeks, Mon/Wed/Thu


def test_it_admits_from_a_later_date_with_a_director_override(full_track_with_queue, director):
    (leaver, _), (first, _) = full_track_with_queue
    with time_machine.travel(dt.datetime(2026, 1, 9, 15, 0, tzinfo=UTC), tick=False):
        enrollment_discharge(enrollment=leaver, discharge_date=dt.date(2026, 1, 9), reason="other")
        first.refresh_from_db()
        with pytest.raises(ValidationError) as excinfo:
            enrollment_admit_from_waitlist(enrollment=first)
        assert excinfo.value.code == "cohort_started"

        enrollment_admit_from_waitlist(enrollment=first, by=director, director_override=True)

    assert first.admission_date == dt.date(2026, 1, 9)
    assert expected_dates(first)[0] == dt.date(2026, 1, 12)


def test_it_refuses_to_admit_past_the_queue_when_no_seat_is_free(
    before_start, full_track_with_queue
):
    _, (_, second) = full_track_with_queue

    with pytest.raises(ValidationError) as excinfo:
        enrollment_admit_from_waitlist(enrollment=second)

    assert excinfo.value.code == "track_full"
    second.refresh_from_db()
    assert second.status == EnrollmentStatus.WAITLISTED


def test_it_admits_anyone_waiting_when_capacity_grows(before_start, full_track_with_queue):
    _, (_, second) = full_track_with_queue
    second.track.capacity = 3
    second.track.save()

    enrollment_admit_from_waitlist(enrollment=second)

    assert second.status == EnrollmentStatus.ACTIVE


def test_it_refuses_to_admit_someone_not_waitlisted(before_start, full_track_with_queue):
    (admitted, _), _ = full_track_with_queue

    with pytest.raises(ValidationError) as excinfo:
        enrollment_admit_from_waitlist(enrollment=admitted)

    assert excinfo.value.code == "not_waitlisted"


def test_it_moves_a_declined_offer_to_the_next_person(before_start, full_track_with_queue):
    (leaver, _), (first, second) = full_track_with_queue
    enrollment_withdraw(enrollment=leaver)
    first.refresh_from_db()

    enrollment_decline_offer(enrollment=first)

    second.refresh_from_db()
    assert first.status == EnrollmentStatus.WITHDRAWN
    assert second.seat_offered_at is not None
    assert waitlist_position(second) == 1


def test_it_can_send_a_decliner_to_the_back_of_the_queue(before_start, full_track_with_queue):
    (leaver, _), (first, second) = full_track_with_queue
    enrollment_withdraw(enrollment=leaver)
    first.refresh_from_db()

    with time_machine.travel(dt.datetime(2026, 1, 2, 16, 0, tzinfo=UTC), tick=False):
        enrollment_decline_offer(enrollment=first, keep_on_waitlist=True)

    second.refresh_from_db()
    assert first.status == EnrollmentStatus.WAITLISTED and first.seat_offered_at is None
    assert second.seat_offered_at is not None
    assert [waitlist_position(second), waitlist_position(first)] == [1, 2]


def test_it_refuses_to_decline_when_nothing_was_offered(before_start, full_track_with_queue):
    _, (first, _) = full_track_with_queue

    with pytest.raises(ValidationError) as excinfo:
        enrollment_decline_offer(enrollment=first)

    assert excinfo.value.code == "no_offer"


def test_it_passes_a_held_seat_on_when_its_holder_withdraws(before_start, full_track_with_queue):
    (leaver, _), (first, second) = full_track_with_queue
    enrollment_withdraw(enrollment=leaver)
    first.refresh_from_db()

    enrollment_withdraw(enrollment=first)

    second.refresh_from_db()
    assert second.seat_offered_at is not None


def test_it_refuses_to_withdraw_someone_already_in_care(full_track_with_queue):
    (admitted, _), _ = full_track_with_queue
    with time_machine.travel(dt.datetime(2026, 1, 6, 15, 0, tzinfo=UTC), tick=False):
        with pytest.raises(ValidationError) as excinfo:
            enrollment_withdraw(enrollment=admitted)

    assert excinfo.value.code == "cannot_withdraw"


# --- hold and resume --------------------------------------------------------------------------

def test_it_withdraws_future_expected_attendance_on_hold_and_restores_it_on_resume(track):
    with time_machine.travel(dt.datetime(2026, 1, 2, 15, 0, tzinfo=UTC), tick=False):
        weekly_sessions(track, weeks=3)
        enrollment = enroll(track)
    Attendance.objects.filter(session__local_date=MONDAY).update(status="present")

    # Wednesday 7 Jan, 8 pm in New York: that evening's session has begun.
    with time_machine.travel(dt.datetime(2026, 1, 8, 1, 0, tzinfo=UTC), tick=False):
        enrollment_hold(enrollment=enrollment, reason="Medical leave")
        assert enrollment.status == EnrollmentStatus.ON_HOLD
        assert enrollment.hold_reason == "Medical leave"
        assert expected_dates(enrollment) == [dt.date(2026, 1, 7)]
        assert Attendance.objects.get(session__local_date=MONDAY).status == "present"

    with time_machine.travel(dt.datetime(2026, 1, 13, 15, 0, tzinfo=UTC), tick=False):
        enrollment_resume(enrollment=enrollment)

    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert enrollment.held_at is None
    # Thursday 8 and Monday 12 passed during the hold; they stay without a record.
    assert expected_dates(enrollment) == [dt.date(2026, 1, 7), dt.date(2026, 1, 14),
                                          dt.date(2026, 1, 15)]


def test_it_keeps_the_seat_of_someone_on_hold(before_start, full_track_with_queue):
    (held, _), (first, _) = full_track_with_queue

    enrollment_hold(enrollment=held, reason="Family emergency")

    first.refresh_from_db()
    assert first.seat_offered_at is None


def test_it_needs_a_reason_for_a_hold(before_start, full_track_with_queue):
    (enrollment, _), _ = full_track_with_queue

    with pytest.raises(ValidationError) as excinfo:
        enrollment_hold(enrollment=enrollment, reason="  ")

    assert excinfo.value.code == "reason_required"
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE


def test_it_refuses_to_hold_or_resume_the_wrong_status(before_start, full_track_with_queue):
    (active, _), (waiting, _) = full_track_with_queue

    with pytest.raises(ValidationError) as held:
        enrollment_hold(enrollment=waiting, reason="Travel")
    with pytest.raises(ValidationError) as resumed:
        enrollment_resume(enrollment=active)

    assert (held.value.code, resumed.value.code) == ("not_active", "not_on_hold")


def test_it_refuses_to_resume_someone_now_active_elsewhere(
    before_start, full_track_with_queue, site
):
    (enrollment, _), _ = full_track_with_queue
    enrollment_hold(enrollment=enrollment, reason="Moving")
    # Data entered around the services (e.g. an import) must still not break the one-active rule.
    Enrollment.objects.create(participant=enrollment.participant, track=TrackFactory(site=site),
                              status="active", admission_date=MONDAY,
                              planned_end_date=MONDAY + dt.timedelta(weeks=12))

    with pytest.raises(ValidationError) as excinfo:
        enrollment_resume(enrollment=enrollment)

    assert excinfo.value.code == "already_active"


# --- discharge -------------------------------------------------------------------------------

@pytest.fixture
def in_care(track):
    with time_machine.travel(dt.datetime(2026, 1, 2, 15, 0, tzinfo=UTC), tick=False):
        weekly_sessions(track, weeks=3)
        return enroll(track)


def test_it_completes_an_enrollment_with_a_care_plan(in_care, clinician):
    # Completion needs the program's attendance threshold: everything held was attended.
    Attendance.objects.filter(enrollment=in_care, session__local_date__lt=dt.date(2026, 1, 19)
                              ).update(status="present")
    with time_machine.travel(dt.datetime(2026, 1, 19, 15, 0, tzinfo=UTC), tick=False):
        enrollment_discharge(
            enrollment=in_care, discharge_date=dt.date(2026, 1, 19), reason="completed",
            note="Met every goal.", by=clinician,
            care_plan={"step_down_level": "1", "step_down_provider": "Elm Street Counseling",
                       "support_groups": "SMART Recovery, Tuesdays",
                       "notes": "Follow up in 2 weeks"},
        )

    in_care.refresh_from_db()
    assert in_care.status == EnrollmentStatus.COMPLETED
    assert (in_care.discharge_date, in_care.discharge_reason) == (dt.date(2026, 1, 19), "completed")
    plan = ContinuingCarePlan.objects.get(enrollment=in_care)
    assert (plan.step_down_level, plan.step_down_provider, plan.created_by) == (
        "1", "Elm Street Counseling", clinician)


def test_it_updates_an_existing_care_plan(in_care):
    ContinuingCarePlan.objects.create(enrollment=in_care, support_groups="AA")
    with time_machine.travel(dt.datetime(2026, 1, 9, 15, 0, tzinfo=UTC), tick=False):
        enrollment_discharge(enrollment=in_care, discharge_date=dt.date(2026, 1, 9),
                             reason="step_up", care_plan={"step_down_level": "2.5"})

    plan = ContinuingCarePlan.objects.get(enrollment=in_care)
    assert (plan.step_down_level, plan.support_groups) == ("2.5", "AA")
    assert Enrollment.objects.get(pk=in_care.pk).status == EnrollmentStatus.DISCHARGED


def test_it_withdraws_expected_attendance_after_discharge_but_keeps_the_record(in_care):
    Attendance.objects.filter(session__local_date=MONDAY).update(status="absent")
    personal = TherapySessionFactory(
        track=None, participant=in_care.participant, site=in_care.track.site,
        session_type=SessionTypeFactory(kind="individual"),
        starts_at=at_local(in_care.track, dt.date(2026, 1, 13), 10))
    Attendance.objects.create(session=personal, participant=in_care.participant, enrollment=in_care)

    # Thursday 8 Jan at 3 pm: that evening's session has not started, Wednesday's was unmarked.
    with time_machine.travel(dt.datetime(2026, 1, 8, 20, 0, tzinfo=UTC), tick=False):
        enrollment_discharge(enrollment=in_care, discharge_date=dt.date(2026, 1, 8),
                             reason="non_attendance")

    remaining = dict(Attendance.objects.filter(participant=in_care.participant)
                     .values_list("session__local_date", "status"))
    assert remaining == {MONDAY: "absent", dt.date(2026, 1, 7): "expected"}


def test_it_keeps_sessions_of_an_earlier_discharge_day_that_already_began(in_care):
    with time_machine.travel(dt.datetime(2026, 1, 9, 15, 0, tzinfo=UTC), tick=False):
        enrollment_discharge(enrollment=in_care, discharge_date=dt.date(2026, 1, 8), reason="other")

    assert expected_dates(in_care) == [MONDAY, dt.date(2026, 1, 7), dt.date(2026, 1, 8)]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"discharge_date": dt.date(2026, 1, 10)}, "discharge_in_future"),
        ({"discharge_date": dt.date(2026, 1, 4)}, "discharge_before_admission"),
        ({"discharge_date": None}, "invalid_discharge_date"),
        ({"reason": "bored"}, "invalid_reason"),
        ({"care_plan": {"sponsor": "x"}}, "invalid_care_plan"),
        ({"care_plan": {"step_down_level": "9"}}, "invalid_step_down_level"),
    ],
)
def test_it_refuses_bad_discharges_and_writes_nothing(in_care, kwargs, code):
    values = {"discharge_date": dt.date(2026, 1, 9), "reason": "completed", **kwargs}
    with time_machine.travel(dt.datetime(2026, 1, 9, 15, 0, tzinfo=UTC), tick=False):
        with pytest.raises(ValidationError) as excinfo:
            enrollment_discharge(enrollment=in_care, **values)

    assert excinfo.value.code == code
    in_care.refresh_from_db()
    assert in_care.status == EnrollmentStatus.ACTIVE
    assert len(expected_dates(in_care)) == 6
    assert not ContinuingCarePlan.objects.exists()


def test_it_refuses_to_discharge_twice(in_care):
    with time_machine.travel(dt.datetime(2026, 1, 9, 15, 0, tzinfo=UTC), tick=False):
        enrollment_discharge(enrollment=in_care, discharge_date=dt.date(2026, 1, 9), reason="other")
        with pytest.raises(ValidationError) as excinfo:
            enrollment_discharge(enrollment=in_care, discharge_date=dt.date(2026, 1, 9),
                                 reason="other")

    assert excinfo.value.code == "not_in_care"


def test_it_discharges_someone_on_hold_and_frees_their_seat(full_track_with_queue):
    (held, _), (first, _) = full_track_with_queue
    with time_machine.travel(dt.datetime(2026, 1, 9, 15, 0, tzinfo=UTC), tick=False):
        enrollment_hold(enrollment=held, reason="Hospital stay")
        enrollment_discharge(enrollment=held, discharge_date=dt.date(2026, 1, 9), reason="step_up")

    assert held.status == EnrollmentStatus.DISCHARGED and held.hold_reason == ""
    first.refresh_from_db()
    assert first.seat_offered_at is not None


def test_it_lets_a_discharged_participant_enroll_again(site):
    first_track = TrackFactory(site=site, mode="rolling", end_date=None)
    with time_machine.travel(dt.datetime(2026, 2, 2, 15, 0, tzinfo=UTC), tick=False):
        enrollment = enroll(first_track, admission_date=dt.date(2026, 2, 2))
        enrollment_discharge(enrollment=enrollment, discharge_date=dt.date(2026, 2, 2),
                             reason="transferred")
        again = enrollment_enroll(participant=enrollment.participant, track=first_track,
                                  admission_date=dt.date(2026, 2, 2))

    assert again.status == EnrollmentStatus.ACTIVE


def test_it_treats_only_directors_as_able_to_override(site):
    front_desk = StaffFactory(role=Role.FRONT_DESK, sites=[site])
    track = TrackFactory(site=site)
    with time_machine.travel(dt.datetime(2026, 1, 7, 15, 0, tzinfo=UTC), tick=False):
        with pytest.raises(ValidationError):
            enroll(track, admission_date=dt.date(2026, 1, 7), by=front_desk, director_override=True)


def test_it_withdraws_someone_admitted_for_a_later_date_and_frees_the_seat(full_track_with_queue):
    (leaver, _), (first, _) = full_track_with_queue
    with time_machine.travel(dt.datetime(2026, 1, 3, 15, 0, tzinfo=UTC), tick=False):
        enrollment_withdraw(enrollment=leaver)

    assert leaver.status == EnrollmentStatus.WITHDRAWN
    assert expected_dates(leaver) == []
    first.refresh_from_db()
    assert first.seat_offered_at is not None


# --- reminders follow every change in care ---------------------------------------------------


def test_it_asks_for_reminders_to_be_replanned_when_care_starts_pauses_resumes_and_ends(
    track, replans
):
    with time_machine.travel(dt.datetime(2026, 1, 2, 15, 0, tzinfo=UTC), tick=False):
        weekly_sessions(track, weeks=2)
        enrollment = enroll(track)
        enroll(track), enroll(track)  # the third is waitlisted: no reminders to plan
    who = [enrollment.participant_id]
    assert len(replans) == 2 and replans[0] == who

    with time_machine.travel(dt.datetime(2026, 1, 6, 15, 0, tzinfo=UTC), tick=False):
        enrollment_hold(enrollment=enrollment, reason="Medical leave")
        enrollment_resume(enrollment=enrollment)
        enrollment_discharge(enrollment=enrollment, discharge_date=dt.date(2026, 1, 6),
                             reason="other")

    assert replans[2:] == [who, who, who]


@pytest.mark.parametrize("waiting", [1, 6])
def test_it_lists_a_waitlist_in_one_query_whatever_its_length(
    before_start, track, waiting, django_assert_max_num_queries
):
    enroll(track), enroll(track)
    for _ in range(waiting):
        enroll(track)

    with django_assert_max_num_queries(1):
        names = [e.participant.full_name for e in track_waitlist(track=track)]

    assert len(names) == waiting
