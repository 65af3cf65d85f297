"""Units used and scheduled come from attendance, with the billing report's rule."""
import datetime as dt
from decimal import Decimal

import pytest

from authorizations.selectors import authorization_figures
from tests.authorizations.world import MONDAY, TODAY, build_world
from tests.factories import SessionTypeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

D = Decimal


def day(n: int) -> dt.date:
    return MONDAY + dt.timedelta(days=n)


def figures(w, today=TODAY):
    (row,) = authorization_figures(enrollment_ids=[w.enrollment.pk], today=today)
    return row


def test_it_counts_a_day_only_when_it_meets_the_codes_minimum():
    w = build_world()
    w.authorize()
    w.attend(day(0))                                         # 180 min: counts
    w.attend(day(1), "left_early", minutes_attended=90)      # partial day: does not
    w.attend(day(2), "excused")                              # excused absence: does not
    w.attend(day(3), "cancelled", session_status="cancelled")        # closure: does not
    w.attend(day(4), "absent")                               # absent: does not
    w.attend(day(7), "late", minutes_attended=170)           # ten minutes short: does not
    w.attend(day(8), minutes=90, hour=13)                    # two 90-minute sessions ...
    w.attend(day(8), minutes=90, hour=16)                    # ... make a full day

    row = figures(w)

    assert row.used == D(2)
    assert row.remaining == D(8)


def test_it_projects_the_days_still_scheduled_and_leaves_out_cancelled_ones():
    w = build_world()
    w.authorize()
    w.attend(day(9), "expected")                             # today, not yet marked
    w.attend(day(10), "expected")
    w.attend(day(11), "expected", session_status="cancelled")        # a closure cancelled it
    w.attend(day(14), "expected", minutes=60)                # a one-hour day: no unit
    w.attend(day(15), "expected")

    row = figures(w)

    assert (row.used, row.scheduled) == (D(0), D(3))


def test_it_counts_session_and_hour_units():
    w = build_world()
    group = SessionTypeFactory(service_code="90853", default_duration_minutes=60)
    coaching = SessionTypeFactory(service_code="H2019", default_duration_minutes=60)
    w.authorize(number="S-1", unit="session", service_code="90853")
    w.authorize(number="H-1", unit="hour", service_code="H2019")
    for n, status in ((0, "present"), (1, "late"), (2, "excused"), (3, "absent")):
        w.attend(day(n), status, minutes=60, session_type=group)
    w.attend(day(0), minutes=90, session_type=coaching, hour=18)
    w.attend(day(1), "late", minutes_attended=45, minutes=60, session_type=coaching, hour=18)
    w.attend(day(10), "expected", minutes=60, session_type=coaching, hour=18)

    rows = {r.service_code: r for r in authorization_figures(
        enrollment_ids=[w.enrollment.pk], today=TODAY)}

    assert rows["90853"].used == D(2)
    assert (rows["H2019"].used, rows["H2019"].scheduled) == (D("2.25"), D(1))


def test_it_finds_where_the_schedule_runs_past_the_units_and_the_end_date():
    w = build_world()
    w.authorize(units_authorized=3, end_date=day(11))
    w.attend(day(0))
    w.attend(day(1))
    for n in (9, 10, 11, 14, 15):
        w.attend(day(n), "expected")

    row = figures(w)

    assert (row.used, row.scheduled, row.over_by) == (D(2), D(3), D(2))
    assert row.over_from == day(10)
    assert (row.after_end, row.after_end_from) == (D(2), day(14))


def test_it_reads_many_authorizations_in_one_query(django_assert_num_queries):
    worlds = [build_world() for _ in range(3)]
    for w in worlds:
        w.authorize(number=f"N-{w.enrollment.pk}")
        w.attend(day(0))

    with django_assert_num_queries(1):
        rows = authorization_figures(enrollment_ids=[w.enrollment.pk for w in worlds],
                                     today=TODAY)

    assert [r.used for r in rows] == [D(1)] * 3


def test_a_make_up_at_another_tracks_session_uses_the_participants_own_units():
    from tests.factories import AttendanceFactory, TherapySessionFactory, TrackFactory

    w = build_world()
    w.authorize()
    w.attend(day(0), "absent")
    evening = TrackFactory(site=w.site, program=w.track.program, start_date=MONDAY)
    for n, status in ((1, "present"), (10, "expected")):
        starts = dt.datetime.combine(day(n), dt.time(22, 0), tzinfo=dt.UTC)
        AttendanceFactory(session=TherapySessionFactory(
            track=evening, site=w.site, session_type=w.group, starts_at=starts,
            ends_at=starts + dt.timedelta(hours=3), local_date=day(n)),
            participant=w.participant, enrollment=w.enrollment, status=status)

    row = figures(w)

    assert (row.used, row.scheduled) == (D(1), D(1))
