import datetime as dt
from decimal import Decimal

import pytest

from participants.models import Enrollment
from sessions.models import Attendance
from sessions.selectors.ledger import hours_ledger, participants_at_risk
from tests.factories import (
    EnrollmentFactory,
    ParticipantFactory,
    SessionTypeFactory,
    TherapySessionFactory,
    TrackFactory,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def at_local(site, day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=site.zone).astimezone(UTC)


def session(track, day, hour=18, *, hours=3.0, session_type=None, **extra):
    starts = at_local(track.site, day, hour)
    return TherapySessionFactory(
        track=track, session_type=session_type or track_type(track), starts_at=starts,
        ends_at=starts + dt.timedelta(hours=hours), **extra)


_types: dict[int, object] = {}


def track_type(track):
    """One counting session type per track, like a real timetable."""
    if track.pk not in _types:
        _types[track.pk] = SessionTypeFactory()
    return _types[track.pk]


def attend(enrollment, therapy_session, status="present", minutes=None):
    return Attendance.objects.create(
        session=therapy_session, participant=enrollment.participant, enrollment=enrollment,
        status=status, minutes_attended=minutes)


@pytest.fixture(autouse=True)
def _fresh_types():
    _types.clear()


@pytest.fixture
def track(site):
    """A rolling evening track for a two-week program needing 9 hours a week."""
    return TrackFactory(site=site, mode="rolling", end_date=None, start_date=dt.date(2025, 12, 1),
                        program__duration_weeks=2, program__min_weekly_hours=Decimal(9))


@pytest.fixture
def enrollment(track):
    # Admitted on a Wednesday, the last day of 2025: the ledger starts in ISO week 2026-W01.
    return EnrollmentFactory(track=track, admission_date=dt.date(2025, 12, 31),
                             planned_end_date=dt.date(2026, 1, 14),
                             participant=ParticipantFactory(home_site=track.site))


def _week(ledger, start):
    return next(w for w in ledger.weeks if w.week_start == start)


def test_it_lists_each_iso_week_of_the_window_across_the_new_year(enrollment):
    ledger = hours_ledger(enrollment=enrollment, today=dt.date(2026, 1, 7))

    assert [(w.iso_year, w.iso_week, w.week_start, w.days_in_window) for w in ledger.weeks] == [
        (2026, 1, dt.date(2025, 12, 29), 5),
        (2026, 2, dt.date(2026, 1, 5), 7),
        (2026, 3, dt.date(2026, 1, 12), 3),
    ]
    assert [w.is_current for w in ledger.weeks] == [False, True, False]
    assert (ledger.weeks_completed, ledger.weeks_remaining) == (1, 2)
    assert ledger.minimum_hours == Decimal(9)


def test_it_counts_attended_minutes_or_the_full_session_when_none_were_recorded(track, enrollment):
    not_counted = SessionTypeFactory(kind="workshop", counts_toward_hours=False)
    attend(enrollment, session(track, dt.date(2026, 1, 5)))  # present, minutes blank: 3 h
    attend(enrollment, session(track, dt.date(2026, 1, 7)), "late", 150)
    attend(enrollment, session(track, dt.date(2026, 1, 8)), "left_early", 60)
    attend(enrollment, session(track, dt.date(2026, 1, 9), 10, hours=1, session_type=not_counted))
    attend(enrollment, session(track, dt.date(2026, 1, 6)), "absent")
    attend(enrollment, session(track, dt.date(2026, 1, 10), 10), "excused")

    ledger = hours_ledger(enrollment=enrollment, today=dt.date(2026, 1, 20))

    week = _week(ledger, dt.date(2026, 1, 5))
    assert week.attended_hours == Decimal("6.50")
    assert week.is_finished and week.below_minimum
    # Minutes attended / minutes held: (180 + 150 + 60 + 60) of 5 held sessions (180 * 4 + 60);
    # the excused absence is shown apart, not held against them.
    assert ledger.attendance_percent == Decimal("57.7")
    assert ledger.excused_hours == Decimal("3.00")
    assert (ledger.sessions_attended, ledger.sessions_absent, ledger.sessions_excused) == (4, 1, 1)
    assert ledger.attended_hours == Decimal("6.50")


def test_it_never_flags_partial_weeks(track, enrollment):
    ledger = hours_ledger(enrollment=enrollment, today=dt.date(2026, 1, 20))

    flags = [(w.days_in_window, w.below_minimum) for w in ledger.weeks]
    assert flags == [(5, False), (7, True), (3, False)]


def test_it_pushes_the_projected_completion_back_a_week_per_week_below_minimum(track, enrollment):
    for day in (5, 7, 8):
        attend(enrollment, session(track, dt.date(2026, 1, day)))

    met = hours_ledger(enrollment=enrollment, today=dt.date(2026, 1, 20))
    Attendance.objects.filter(session__local_date=dt.date(2026, 1, 8)).update(status="absent")
    missed = hours_ledger(enrollment=enrollment, today=dt.date(2026, 1, 20))

    assert met.projected_completion == dt.date(2026, 1, 14)
    assert missed.weeks_below_minimum == 1
    assert missed.projected_completion == dt.date(2026, 1, 21)


def test_it_flags_the_current_week_at_risk_before_it_ends(track, enrollment):
    monday = attend(enrollment, session(track, dt.date(2026, 1, 5)))
    attend(enrollment, session(track, dt.date(2026, 1, 7)), "expected")  # today, not yet marked
    attend(enrollment, session(track, dt.date(2026, 1, 8)), "expected")
    cancelled = session(track, dt.date(2026, 1, 9), status="cancelled", cancel_reason="Snow")
    attend(enrollment, cancelled, "expected")
    today = dt.date(2026, 1, 7)

    on_track = _week(hours_ledger(enrollment=enrollment, today=today), dt.date(2026, 1, 5))
    monday.status = "absent"
    monday.save()
    at_risk = _week(hours_ledger(enrollment=enrollment, today=today), dt.date(2026, 1, 5))

    assert (on_track.attended_hours, on_track.scheduled_hours_ahead, on_track.at_risk) == (
        Decimal("3.00"), Decimal("6.00"), False)
    assert (at_risk.attended_hours, at_risk.scheduled_hours_ahead, at_risk.at_risk) == (
        Decimal("0.00"), Decimal("6.00"), True)
    assert not at_risk.below_minimum  # the week is not over yet


def test_it_puts_a_late_sunday_session_in_its_local_week(track, enrollment):
    # 11:30 pm Sunday in New York is already Monday in UTC.
    late = session(track, dt.date(2026, 1, 11), 23, hours=1)
    late.refresh_from_db()
    assert late.starts_at.astimezone(UTC).date() == dt.date(2026, 1, 12)
    attend(enrollment, late)

    ledger = hours_ledger(enrollment=enrollment, today=dt.date(2026, 1, 20))

    assert _week(ledger, dt.date(2026, 1, 5)).attended_hours == Decimal("1.00")
    assert _week(ledger, dt.date(2026, 1, 12)).attended_hours == Decimal("0.00")


def test_it_counts_real_hours_across_a_dst_change(site):
    track = TrackFactory(site=site, mode="rolling", end_date=None, start_date=dt.date(2026, 3, 2),
                         program__duration_weeks=2, program__min_weekly_hours=Decimal(9))
    enrollment = EnrollmentFactory(track=track, participant=ParticipantFactory(home_site=site))
    before = session(track, dt.date(2026, 3, 2))  # 6 pm EST
    after = session(track, dt.date(2026, 3, 9))  # 6 pm EDT
    # Saturday 10 pm to Sunday 3 am local spans the spring-forward night: 4 real hours.
    overnight_start = at_local(site, dt.date(2026, 3, 7), 22)
    overnight = TherapySessionFactory(
        track=track, session_type=track_type(track), starts_at=overnight_start,
        ends_at=at_local(site, dt.date(2026, 3, 8), 3))
    for therapy_session in (before, after, overnight):
        attend(enrollment, therapy_session)

    ledger = hours_ledger(enrollment=enrollment, today=dt.date(2026, 3, 20))

    assert (before.starts_at.hour, after.starts_at.hour) == (23, 22)  # same wall clock, UTC moved
    assert _week(ledger, dt.date(2026, 3, 2)).attended_hours == Decimal("7.00")
    assert _week(ledger, dt.date(2026, 3, 9)).attended_hours == Decimal("3.00")


def test_it_ends_the_ledger_at_the_discharge_date(track, enrollment):
    Enrollment.objects.filter(pk=enrollment.pk).update(
        status="discharged", discharge_date=dt.date(2026, 1, 6), discharge_reason="other")
    enrollment.refresh_from_db()

    ledger = hours_ledger(enrollment=enrollment, today=dt.date(2026, 1, 7))

    assert [w.week_start for w in ledger.weeks] == [dt.date(2025, 12, 29), dt.date(2026, 1, 5)]
    assert ledger.projected_completion == dt.date(2026, 1, 6)
    assert not any(w.at_risk for w in ledger.weeks)


def test_it_has_no_attendance_percent_before_anything_is_marked(enrollment):
    assert hours_ledger(enrollment=enrollment, today=dt.date(2026, 1, 1)).attendance_percent is None


@pytest.mark.parametrize("weeks_of_data", [1, 6])
def test_it_builds_a_ledger_in_two_queries_whatever_the_data(
    site, weeks_of_data, django_assert_max_num_queries
):
    track = TrackFactory(site=site, mode="rolling", end_date=None, start_date=dt.date(2026, 1, 5))
    enrollment = EnrollmentFactory(track=track, participant=ParticipantFactory(home_site=site))
    for week in range(weeks_of_data):
        for weekday in (0, 2, 3):
            attend(enrollment, session(track, dt.date(2026, 1, 5) + dt.timedelta(weeks=week,
                                                                             days=weekday)))
    plain = Enrollment.objects.get(pk=enrollment.pk)

    with django_assert_max_num_queries(2):
        ledger = hours_ledger(enrollment=plain, today=dt.date(2026, 3, 1))
        assert ledger.attended_hours == Decimal(9 * weeks_of_data)


# --- the Today board ----------------------------------------------------------------------------

@pytest.fixture
def board(site, other_site):
    """Wednesday 7 January 2026; Monday's session is over, Wednesday and Thursday are ahead."""
    track = TrackFactory(site=site, mode="rolling", end_date=None, start_date=dt.date(2026, 1, 5),
                         program__min_weekly_hours=Decimal(9))
    mon, wed, thu = (session(track, dt.date(2026, 1, day)) for day in (5, 7, 8))
    people = {name: EnrollmentFactory(track=track) for name in ("on_track", "missed_monday")}
    attend(people["on_track"], mon, "present")
    attend(people["missed_monday"], mon, "absent")
    for enrollment in people.values():
        attend(enrollment, wed, "expected")
        attend(enrollment, thu, "expected")
    people["on_hold"] = EnrollmentFactory(track=track, status="on_hold",
                                          held_at=dt.datetime(2026, 1, 6, tzinfo=UTC))
    people["started_today"] = EnrollmentFactory(track=track, admission_date=dt.date(2026, 1, 7))
    elsewhere = TrackFactory(site=other_site, mode="rolling", end_date=None,
                             start_date=dt.date(2026, 1, 5))
    people["other_site"] = EnrollmentFactory(track=elsewhere)
    return track, people


def test_it_lists_active_participants_who_can_no_longer_reach_the_minimum(site, board):
    _track, people = board

    at_risk = participants_at_risk(site_ids=[site.pk], today=dt.date(2026, 1, 7))

    # Not the one on track, not the one on hold, not the one whose first week is partial.
    assert [row.enrollment for row in at_risk] == [people["missed_monday"]]
    row = at_risk[0]
    assert (row.attended_hours, row.scheduled_hours_ahead, row.shortfall_hours) == (
        Decimal("0.00"), Decimal("6.00"), Decimal("3.00"))
    ledger_week = hours_ledger(enrollment=people["missed_monday"],
                               today=dt.date(2026, 1, 7)).current_week
    assert ledger_week.at_risk


def test_it_shows_each_site_only_its_own_participants(other_site, board):
    elsewhere = board[1]["other_site"]
    mon, wed, thu = (session(elsewhere.track, dt.date(2026, 1, day)) for day in (5, 7, 8))
    attend(elsewhere, mon, "absent")
    attend(elsewhere, wed, "expected")
    attend(elsewhere, thu, "expected")

    rows = participants_at_risk(site_ids=[other_site.pk], today=dt.date(2026, 1, 7))

    assert [row.enrollment for row in rows] == [elsewhere]


@pytest.mark.parametrize("people", [2, 12])
def test_it_builds_the_today_board_in_two_queries_whatever_the_size(
    site, people, django_assert_max_num_queries
):
    track = TrackFactory(site=site, mode="rolling", end_date=None, start_date=dt.date(2026, 1, 5))
    sessions = [session(track, dt.date(2026, 1, day)) for day in (5, 7, 8)]
    for _ in range(people):
        enrollment = EnrollmentFactory(track=track)
        attend(enrollment, sessions[0], "absent")
        attend(enrollment, sessions[1], "expected")
        attend(enrollment, sessions[2], "expected")

    # One sums this week's hours per person, one fetches those at risk.
    with django_assert_max_num_queries(2):
        rows = participants_at_risk(site_ids=[site.pk], today=dt.date(2026, 1, 7))
        assert len(rows) == people
        assert all(row.participant.last_name and row.enrollment.track.site for row in rows)
