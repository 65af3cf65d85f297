"""The ledger reads its attendance rows through a statement compiled once per process
(`_ledger_rows`): the rows must be exactly what the ORM query (`_ledger_queryset`) returns, for
any participant and window, and the ledger's figures must not depend on which one is used."""
import datetime as dt
from decimal import Decimal

import pytest

from sessions.models import Attendance
from sessions.selectors import chart
from sessions.selectors import ledger as ledger_module
from sessions.selectors.care import chart_care
from sessions.selectors.ledger import _ledger_queryset, _ledger_rows, hours_ledger
from tests.factories import (
    EnrollmentFactory,
    ParticipantFactory,
    SessionTypeFactory,
    TherapySessionFactory,
    TrackFactory,
)

pytestmark = pytest.mark.django_db


def _orm_rows(**window):
    return sorted((tuple(row) for row in _ledger_queryset(**window)), key=repr)


@pytest.fixture
def clinic(site):
    """Two participants with varied attendance: every status, recorded and missing minutes,
    counting and non-counting types, a cancelled session, before, inside and after the window."""
    track = TrackFactory(site=site, mode="rolling", end_date=None,
                         start_date=dt.date(2026, 1, 5), program__duration_weeks=3,
                         program__min_weekly_hours=Decimal(6))
    counting, other = SessionTypeFactory(), SessionTypeFactory(counts_toward_hours=False)
    people = [EnrollmentFactory(track=track, admission_date=dt.date(2026, 1, 7),
                                planned_end_date=dt.date(2026, 1, 28),
                                participant=ParticipantFactory(home_site=site))
              for _ in range(2)]
    statuses = ["present", "late", "left_early", "absent", "excused", "expected", "cancelled"]
    for day_number in range(40):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=day_number)
        starts = dt.datetime.combine(day, dt.time(17, 30), tzinfo=site.zone).astimezone(dt.UTC)
        session = TherapySessionFactory(
            track=track, session_type=counting if day_number % 3 else other, starts_at=starts,
            ends_at=starts + dt.timedelta(minutes=90 + 15 * (day_number % 4)),
            status="cancelled" if day_number % 11 == 5 else "scheduled")
        for index, enrollment in enumerate(people):
            if (day_number + index) % 5 == 4:
                continue
            status = statuses[(day_number + 2 * index) % len(statuses)]
            recorded = status in ("present", "late", "left_early") and day_number % 2 == 0
            Attendance.objects.create(
                session=session, participant=enrollment.participant, enrollment=enrollment,
                status=status, minutes_attended=60 + day_number if recorded else None)
    return people


# Ledger windows: three weeks, past the data on both sides, one day, a year with no rows.
WINDOWS = [(dt.date(2026, 1, 7), dt.date(2026, 1, 28)), (dt.date(2026, 1, 1), dt.date(2026, 2, 9)),
           (dt.date(2026, 1, 12), dt.date(2026, 1, 12)), (dt.date(2025, 1, 1), dt.date(2025, 12, 31))]


def test_the_compiled_statement_reads_what_the_orm_query_reads(clinic):
    for enrollment in clinic:
        for start, end in WINDOWS:
            window = {"participant_id": enrollment.participant_id, "start": start, "end": end}
            rows = sorted((tuple(row) for row in _ledger_rows(**window)), key=repr)
            assert rows == _orm_rows(**window)
            if start.year == 2026 and end - start > dt.timedelta(days=7):
                assert {row[0] for row in rows} >= {"present", "absent", "excused"}
                assert all(isinstance(row[2], dt.datetime) and row[2].tzinfo for row in rows)
                assert all(isinstance(row[4], dt.date) and isinstance(row[5], bool)
                           for row in rows)
            elif start.year == 2025:
                assert rows == []


def test_the_ledger_figures_are_those_of_the_orm_query(clinic, monkeypatch):
    now = dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC)
    today = dt.date(2026, 1, 20)
    compiled = [hours_ledger(enrollment=e, today=today, now=now) for e in clinic]
    monkeypatch.setattr(ledger_module, "_ledger_rows",
                        lambda **window: list(_ledger_queryset(**window)))
    fresh = [hours_ledger(enrollment=e, today=today, now=now) for e in clinic]
    assert [vars(ledger) | {"weeks": [vars(w) for w in ledger.weeks]} for ledger in compiled] \
        == [vars(ledger) | {"weeks": [vars(w) for w in ledger.weeks]} for ledger in fresh]
    assert any(ledger.minutes_attended for ledger in compiled)


def test_one_query_runs_for_the_rows(clinic, django_assert_num_queries):
    window = {"participant_id": clinic[0].participant_id, "start": dt.date(2026, 1, 7),
              "end": dt.date(2026, 1, 28)}
    with django_assert_num_queries(1):
        _ledger_rows(**window)


def test_the_charts_lists_read_the_rows_the_orm_query_reads(clinic):
    """The chart reads the ledger's rows with its lists (chart.chart_lists, one statement)."""
    for enrollment in clinic:
        for start, end in WINDOWS:
            lists = chart.chart_lists(participant_id=enrollment.participant_id,
                                      today=dt.date(2026, 1, 20), ledger_window=(start, end))
            rows = sorted(lists.ledger_rows, key=repr)
            assert rows == _orm_rows(participant_id=enrollment.participant_id, start=start,
                                     end=end)
            if start.year == 2025 or end - start > dt.timedelta(days=7):
                assert (rows != []) == (start.year == 2026)
    no_window = chart.chart_lists(participant_id=clinic[0].participant_id,
                                  today=dt.date(2026, 1, 20))
    assert no_window.ledger_rows is None


def test_the_charts_ledger_is_the_ledger_in_one_query_fewer(clinic, django_assert_num_queries):
    person = clinic[0].participant
    today = dt.date(2026, 1, 20)
    with django_assert_num_queries(2):  # the enrollments, the lists
        read = chart.participant_chart(participant=person, today=today)
    assert read.ledger_rows is not None
    with django_assert_num_queries(0):
        from_lists = chart_care(participant=person, enrollments=read.enrollments,
                                ledger_rows=read.ledger_rows).ledger
    alone = hours_ledger(enrollment=read.enrollments[0])
    assert vars(from_lists) | {"weeks": [vars(w) for w in from_lists.weeks]} \
        == vars(alone) | {"weeks": [vars(w) for w in alone.weeks]}
    assert from_lists.minutes_attended and from_lists.enrollment == clinic[0]
