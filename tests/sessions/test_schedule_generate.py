"""Generating a track's sessions from its weekly slots."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from programs.models import SessionKind
from sessions.models import Attendance, SessionStatus, TherapySession
from sessions.services.schedule import (
    schedule_extend_rolling, schedule_generate, schedule_preview, session_cancel,
)
from sessions.tasks import extend_rolling_schedules
from tests import factories

NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
COHORT_START = dt.date(2026, 1, 5)  # a Monday
COHORT_END = dt.date(2026, 3, 29)  # the Sunday closing week 12


def local(session: TherapySession) -> dt.datetime:
    return session.starts_at.astimezone(NEW_YORK)


@pytest.fixture
def cohort(site):
    """'Evening — Mon/Wed/Thu 6–9 pm', twelve weeks from Monday 5 January 2026."""
    track = factories.TrackFactory(site=site, start_date=COHORT_START, end_date=COHORT_END,
                                   program=factories.ProgramFactory(duration_weeks=12))
    for weekday in (0, 2, 3):
        factories.WeeklySlotFactory(track=track, weekday=weekday, start_time=dt.time(18, 0),
                                    duration_minutes=180)
    return track



def test_it_generates_every_week_of_a_cohort_at_six_pm_local(cohort):
    result = schedule_generate(track=cohort)

    sessions = list(TherapySession.objects.filter(track=cohort))
    assert result.created == len(sessions) == 12 * 3
    assert {local(s).time() for s in sessions} == {dt.time(18, 0)}
    assert {s.local_date.weekday() for s in sessions} == {0, 2, 3}
    assert all(local(s).date() == s.local_date for s in sessions)
    assert min(s.local_date for s in sessions) == COHORT_START
    assert max(s.local_date for s in sessions) == dt.date(2026, 3, 26)
    assert all(s.ends_at - s.starts_at == dt.timedelta(hours=3) for s in sessions)
    assert {s.kind for s in sessions} == {SessionKind.GROUP}
    cohort.refresh_from_db()
    assert cohort.scheduled_until == COHORT_END


def test_it_skips_the_sites_closures_but_not_other_sites(cohort, other_site):
    factories.ClosureFactory(site=cohort.site, date=dt.date(2026, 1, 19), reason="MLK Day")
    factories.ClosureFactory(site=other_site, date=dt.date(2026, 1, 21))

    result = schedule_generate(track=cohort)

    assert result.created == 12 * 3 - 1
    assert result.skipped_closures == [dt.date(2026, 1, 19)]
    dates = set(TherapySession.objects.values_list("local_date", flat=True))
    assert dt.date(2026, 1, 19) not in dates
    assert dt.date(2026, 1, 21) in dates


def test_it_creates_nothing_when_run_twice(cohort):
    schedule_generate(track=cohort)
    again = schedule_generate(track=cohort)

    assert again.created == 0
    assert TherapySession.objects.count() == 36


def test_it_leaves_a_cancelled_session_cancelled_when_run_again(cohort):
    schedule_generate(track=cohort)
    first = TherapySession.objects.get(track=cohort, local_date=COHORT_START)
    session_cancel(session=first, reason="Facilitator ill")

    assert schedule_generate(track=cohort).created == 0
    assert TherapySession.objects.get(pk=first.pk).status == SessionStatus.CANCELLED
    assert TherapySession.objects.filter(local_date=COHORT_START).count() == 1


def test_it_stops_at_until(cohort):
    result = schedule_generate(track=cohort, until=dt.date(2026, 1, 18))

    assert result.created == 6
    cohort.refresh_from_db()
    assert cohort.scheduled_until == dt.date(2026, 1, 18)
    assert schedule_generate(track=cohort).created == 30


def test_it_expects_active_enrollments_inside_their_window(cohort, replans):
    joined_late = factories.EnrollmentFactory(
        track=cohort, admission_date=dt.date(2026, 1, 19), planned_end_date=dt.date(2026, 2, 1))
    waiting = factories.EnrollmentFactory(track=cohort, status="waitlisted",
                                          waitlisted_at=dt.datetime(2026, 1, 2, tzinfo=UTC))

    schedule_generate(track=cohort)

    expected = Attendance.objects.filter(participant=joined_late.participant)
    assert expected.count() == 6  # two weeks of Mon/Wed/Thu
    assert {a.status for a in expected} == {"expected"}
    assert {a.enrollment_id for a in expected} == {joined_late.pk}
    assert min(a.session.local_date for a in expected) == dt.date(2026, 1, 19)
    assert not Attendance.objects.filter(participant=waiting.participant).exists()
    assert replans == [[joined_late.participant_id]]


def test_it_previews_what_it_would_create_without_writing(cohort):
    factories.ClosureFactory(site=cohort.site, date=dt.date(2026, 1, 19))

    plan = schedule_preview(track=cohort, until=dt.date(2026, 1, 25))

    assert [(p.local_date, p.slot.weekday) for p in plan.sessions][:3] == [
        (dt.date(2026, 1, 5), 0), (dt.date(2026, 1, 7), 2), (dt.date(2026, 1, 8), 3)]
    assert len(plan.sessions) == 8
    assert plan.sessions[0].starts_at == dt.datetime(2026, 1, 5, 23, 0, tzinfo=UTC)
    assert plan.sessions[0].starts_at.tzinfo is not None
    assert plan.closure_dates == [dt.date(2026, 1, 19)]
    assert plan.conflicts == []
    assert not TherapySession.objects.exists()


@pytest.mark.parametrize(("first_day", "first_monday_utc", "later_monday_utc"), [
    # Spring forward on Sunday 8 March 2026: EST (UTC-5) then EDT (UTC-4).
    (dt.date(2026, 3, 2), dt.datetime(2026, 3, 2, 23, 0, tzinfo=UTC),
     dt.datetime(2026, 3, 9, 22, 0, tzinfo=UTC)),
    # Fall back on Sunday 1 November 2026: EDT then EST.
    (dt.date(2026, 10, 26), dt.datetime(2026, 10, 26, 22, 0, tzinfo=UTC),
     dt.datetime(2026, 11, 2, 23, 0, tzinfo=UTC)),
])
def test_it_keeps_six_pm_local_across_daylight_saving(site, first_day, first_monday_utc,
                                                      later_monday_utc):
    track = factories.TrackFactory(site=site, start_date=first_day,
                                   end_date=first_day + dt.timedelta(days=13))
    factories.WeeklySlotFactory(track=track, weekday=0, start_time=dt.time(18, 0))

    schedule_generate(track=track)

    mondays = list(TherapySession.objects.filter(track=track).order_by("starts_at"))
    assert [s.starts_at for s in mondays] == [first_monday_utc, later_monday_utc]
    assert [local(s).strftime("%a %H:%M") for s in mondays] == ["Mon 18:00", "Mon 18:00"]
    assert mondays[0].starts_at.astimezone(NEW_YORK).utcoffset() != \
        mondays[1].starts_at.astimezone(NEW_YORK).utcoffset()
    assert all(s.ends_at - s.starts_at == dt.timedelta(hours=3) for s in mondays)


@time_machine.travel(dt.datetime(2026, 3, 4, 17, 0, tzinfo=UTC), tick=False)
def test_it_schedules_a_rolling_track_to_the_horizon_and_extends_it_later(site, settings):
    settings.ROLLING_SCHEDULE_HORIZON_WEEKS = 2
    track = factories.TrackFactory(site=site, mode="rolling", start_date=dt.date(2026, 1, 5),
                                   end_date=None)
    factories.WeeklySlotFactory(track=track, weekday=0, start_time=dt.time(18, 0))
    factories.WeeklySlotFactory(track=track, weekday=2, start_time=dt.time(9, 30))

    result = schedule_generate(track=track)

    # Today is Wednesday 4 March; the horizon is Wednesday 18 March.
    dates = sorted(TherapySession.objects.values_list("local_date", flat=True))
    assert result.created == 5
    assert dates == [dt.date(2026, 3, 4), dt.date(2026, 3, 9), dt.date(2026, 3, 11),
                     dt.date(2026, 3, 16), dt.date(2026, 3, 18)]
    track.refresh_from_db()
    assert track.scheduled_until == dt.date(2026, 3, 18)

    with time_machine.travel(dt.datetime(2026, 3, 11, 17, 0, tzinfo=UTC), tick=False):
        assert extend_rolling_schedules() == 2
        assert extend_rolling_schedules() == 0
    assert sorted(TherapySession.objects.values_list("local_date", flat=True))[-2:] == [
        dt.date(2026, 3, 23), dt.date(2026, 3, 25)]
    track.refresh_from_db()
    assert track.scheduled_until == dt.date(2026, 3, 25)


def test_it_extends_only_active_rolling_tracks(site, settings):
    settings.ROLLING_SCHEDULE_HORIZON_WEEKS = 1
    rolling = factories.TrackFactory(site=site, mode="rolling", end_date=None)
    paused = factories.TrackFactory(site=site, mode="rolling", end_date=None, is_active=False)
    cohort = factories.TrackFactory(site=site)
    for track in (rolling, paused, cohort):
        factories.WeeklySlotFactory(track=track, weekday=0)

    created = schedule_extend_rolling(today=dt.date(2026, 2, 2))

    assert created == 2  # Mondays 2 and 9 February
    assert set(TherapySession.objects.values_list("track_id", flat=True)) == {rolling.pk}


def test_it_extends_around_a_clash_instead_of_stopping(site, settings):
    settings.ROLLING_SCHEDULE_HORIZON_WEEKS = 1
    room = factories.RoomFactory(site=site, name="Room 2")
    track = factories.TrackFactory(site=site, mode="rolling", end_date=None)
    factories.WeeklySlotFactory(track=track, weekday=0, room=room)
    factories.TherapySessionFactory(track=factories.TrackFactory(site=site), room=room,
                                    starts_at=dt.datetime(2026, 2, 2, 23, 0, tzinfo=UTC))

    assert schedule_extend_rolling(today=dt.date(2026, 2, 2)) == 1
    assert TherapySession.objects.filter(track=track).get().local_date == dt.date(2026, 2, 9)


def _clinic_with_room_booked_on_monday_12_january(cohort):
    room = factories.RoomFactory(site=cohort.site, name="Room 2")
    cohort.weekly_slots.filter(weekday=0).update(room=room)
    other = factories.TrackFactory(site=cohort.site)
    factories.TherapySessionFactory(
        track=other, room=room, title="Relapse prevention",
        starts_at=dt.datetime(2026, 1, 12, 23, 0, tzinfo=UTC))


def test_it_refuses_to_double_book_a_room_and_names_the_clash(cohort):
    _clinic_with_room_booked_on_monday_12_january(cohort)

    with pytest.raises(ValidationError) as refused:
        schedule_generate(track=cohort)

    assert refused.value.code == "schedule_conflict"
    assert "Skills group on Mon 12 Jan 18:00–21:00: Room 2 is booked for Relapse prevention " \
        "on Mon 12 Jan 18:00–21:00" in refused.value.messages[0]
    assert not TherapySession.objects.filter(track=cohort).exists()
    cohort.refresh_from_db()
    assert cohort.scheduled_until is None


def test_it_previews_the_clash_and_can_schedule_around_it(cohort):
    _clinic_with_room_booked_on_monday_12_january(cohort)

    plan = schedule_preview(track=cohort)
    assert [str(c) for c in plan.conflicts] == [
        "Skills group on Mon 12 Jan 18:00–21:00: "
        "Room 2 is booked for Relapse prevention on Mon 12 Jan 18:00–21:00"]

    result = schedule_generate(track=cohort, skip_conflicts=True)
    assert result.created == 35
    assert [c.kind for c in result.conflicts] == ["room"]
    assert not TherapySession.objects.filter(track=cohort, local_date=dt.date(2026, 1, 12)).exists()


def test_it_refuses_two_slots_of_one_track_sharing_a_facilitator_at_once(cohort, clinician):
    cohort.weekly_slots.update(facilitator=clinician)
    factories.WeeklySlotFactory(track=cohort, weekday=0, start_time=dt.time(19, 0),
                                duration_minutes=60, title="Check-in", facilitator=clinician)

    with pytest.raises(ValidationError) as refused:
        schedule_generate(track=cohort)

    assert refused.value.code == "schedule_conflict"
    assert f"{clinician.get_full_name()} is facilitating Skills group on Mon 5 Jan 18:00–21:00" \
        in refused.value.messages[0]
    assert not TherapySession.objects.exists()


def test_it_refuses_an_inactive_track(cohort):
    cohort.is_active = False
    cohort.save()

    with pytest.raises(ValidationError) as refused:
        schedule_generate(track=cohort)

    assert refused.value.code == "track_inactive"
    assert not TherapySession.objects.exists()


def test_it_refuses_an_until_before_the_start(cohort):
    with pytest.raises(ValidationError) as refused:
        schedule_generate(track=cohort, until=dt.date(2025, 12, 31))
    assert refused.value.code == "until_before_start"


def test_it_refuses_an_individual_session_type_in_a_timetable(cohort):
    factories.WeeklySlotFactory(
        track=cohort, weekday=4, session_type=factories.SessionTypeFactory(kind="individual"))

    with pytest.raises(ValidationError) as refused:
        schedule_generate(track=cohort)

    assert refused.value.code == "personal_kind_in_track"
    assert not TherapySession.objects.exists()


@pytest.mark.parametrize("weeks", [2, 12])
def test_it_generates_in_the_same_few_queries_for_2_or_12_weeks(
        site, clinician, weeks, django_assert_max_num_queries):
    track = factories.TrackFactory(site=site, start_date=COHORT_START,
                                   end_date=COHORT_START + dt.timedelta(weeks=weeks, days=-1))
    room = factories.RoomFactory(site=site)
    for weekday in (0, 2, 3):
        factories.WeeklySlotFactory(track=track, weekday=weekday, room=room, facilitator=clinician)
    for _ in range(3):
        factories.EnrollmentFactory(track=track)
    factories.ClosureFactory(site=site, date=COHORT_START + dt.timedelta(days=2))

    # Includes auditing the new sessions and expected attendance (a read-back and an insert each).
    # 22 on PostgreSQL; SQLite's limit on query parameters splits 108 audit rows into two inserts.
    with django_assert_max_num_queries(23):
        result = schedule_generate(track=track)
    with django_assert_max_num_queries(8):
        schedule_preview(track=track)

    assert result.created == weeks * 3 - 1
    assert Attendance.objects.count() == 3 * (weeks * 3 - 1)


def test_it_refuses_a_group_session_over_an_enrolled_participants_individual_session(cohort):
    enrollment = factories.EnrollmentFactory(track=cohort, participant__first_name="Avery",
                                             participant__last_name="Quinn")
    individual = factories.TherapySessionFactory(
        track=None, site=cohort.site, participant=enrollment.participant, title="Intake review",
        session_type=factories.SessionTypeFactory(kind="individual"),
        starts_at=dt.datetime(2026, 1, 7, 22, 30, tzinfo=UTC),
        ends_at=dt.datetime(2026, 1, 7, 23, 30, tzinfo=UTC))
    factories.AttendanceFactory(session=individual, participant=enrollment.participant)

    with pytest.raises(ValidationError) as refused:
        schedule_generate(track=cohort)

    assert refused.value.code == "schedule_conflict"
    assert "Skills group on Wed 7 Jan 18:00–21:00: Avery Quinn is scheduled for Intake review " \
        "on Wed 7 Jan 17:30–18:30" in refused.value.messages[0]
    assert TherapySession.objects.count() == 1


def test_it_is_the_task_beat_runs():
    from django.conf import settings

    assert extend_rolling_schedules.name == "iop_sessions.extend_rolling_schedules"
    assert extend_rolling_schedules.name in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def test_it_runs_the_task_through_celery(site, settings):
    settings.ROLLING_SCHEDULE_HORIZON_WEEKS = 1
    track = factories.TrackFactory(site=site, mode="rolling", end_date=None)
    factories.WeeklySlotFactory(track=track, weekday=0)

    with time_machine.travel(dt.datetime(2026, 2, 2, 12, 0, tzinfo=UTC), tick=False):
        assert extend_rolling_schedules.apply().get() == 2
