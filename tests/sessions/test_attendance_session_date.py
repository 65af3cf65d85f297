"""Each attendance row keeps its session's local date (Attendance.session_date), kept by the
database's triggers on every write path: created one by one or in bulk, by the ORM or in plain
SQL, moved to another session, its session moved to another day (by the schedule change service,
a queryset update or a full save), or the column written wrong by hand. After each, the kept
dates equal the live ones (what the attendance report by clinician finds its rows by)."""
import datetime as dt

import pytest
from django.db import connection

from sessions.models import Attendance, TherapySession
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _stored() -> dict[int, dt.date | None]:
    return dict(Attendance.objects.values_list("pk", "session_date"))


def _live() -> dict[int, dt.date]:
    """What each row's date must be, read from its session."""
    return dict(Attendance.objects.values_list("pk", "session__local_date"))


def _session(day: int) -> TherapySession:
    return factories.TherapySessionFactory(
        starts_at=dt.datetime(2026, 3, day, 15, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 3, day, 16, 0, tzinfo=dt.UTC))


def test_it_is_the_sessions_date_from_every_way_of_creating_one():
    first, second = _session(2), _session(3)
    assert first.local_date != second.local_date
    created = factories.AttendanceFactory(session=first)
    assert created.session_date is None  # the database holds it, not the saved instance
    created.refresh_from_db()
    assert created.session_date == first.local_date

    bulk = Attendance.objects.bulk_create([
        Attendance(session=session, participant=factories.ParticipantFactory())
        for session in (first, second)])
    with connection.cursor() as cursor:  # as bench/clinic.py and imports write them
        cursor.execute(
            "INSERT INTO iop_sessions_attendance (session_id, participant_id, status, note,"
            " confirmation) VALUES (%s, %s, 'expected', '', '')",
            [second.pk, factories.ParticipantFactory().pk])
    stored = _stored()
    assert stored == _live()
    assert [stored[row.pk] for row in bulk] == [first.local_date, second.local_date]
    assert sorted(stored.values()) == [first.local_date] * 2 + [second.local_date] * 2


def test_it_follows_its_session_and_the_sessions_day():
    first, second = _session(2), _session(3)
    moved = factories.AttendanceFactory(session=first)
    staying = factories.AttendanceFactory(session=second)

    moved.session = second  # a full save, with the stale date the instance holds
    moved.save()
    assert Attendance.objects.get(pk=moved.pk).session_date == second.local_date
    Attendance.objects.filter(pk=moved.pk).update(session=first)
    assert _stored() == _live()

    # The session moved to another day, by a queryset update and by a full save.
    TherapySession.objects.filter(pk=second.pk).update(
        starts_at=dt.datetime(2026, 3, 9, 15, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 3, 9, 16, 0, tzinfo=dt.UTC), local_date=dt.date(2026, 3, 9))
    assert Attendance.objects.get(pk=staying.pk).session_date == dt.date(2026, 3, 9)
    first.refresh_from_db()
    first.starts_at += dt.timedelta(days=14)
    first.ends_at += dt.timedelta(days=14)
    first.local_date += dt.timedelta(days=14)
    first.save()
    assert Attendance.objects.get(pk=moved.pk).session_date == dt.date(2026, 3, 16)
    assert _stored() == _live()


def test_a_date_written_by_hand_is_put_right():
    session = _session(2)
    row = factories.AttendanceFactory(session=session)
    Attendance.objects.filter(pk=row.pk).update(session_date=dt.date(2020, 1, 1))
    assert Attendance.objects.get(pk=row.pk).session_date == session.local_date
    Attendance.objects.filter(pk=row.pk).update(session_date=None)
    assert _stored() == _live()
