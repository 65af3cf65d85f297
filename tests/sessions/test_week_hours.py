"""The week's hours kept by triggers (iop_sessions.WeekHours) are never stale.

Attendance is changed in every way the app changes it (marking one, several, the rest present,
a mark corrected, an excuse approved, a session cancelled, moved to another day, a closure, a
discharge, deletes, bulk updates and inserts, a session type that stops counting) and after
each change Today's at-risk list and the attendance report's "below the weekly minimum" lists
must equal the same figures computed afresh from the attendance rows, and the stored sums must
equal the rows summed again.
"""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from participants.models import EnrollmentStatus
from reports.selectors import ReportScope, attendance_report
from sessions.models import Attendance, AttendanceStatus, SessionStatus, TherapySession, WeekHours
from sessions.selectors.ledger import hours_ledger, participants_at_risk
from sessions.services.attendance import (
    MarkRequest,
    attendance_mark,
    attendance_mark_many,
    attendance_mark_rest_present,
)
from sessions.services.enrollment import enrollment_discharge
from sessions.services.excuses import excuse_approve, excuse_request
from sessions.services.schedule import closure_add, session_cancel
from sessions.services.session_change import session_change
from tests.factories import EnrollmentFactory, TrackFactory

from .test_ledger import at_local, attend, session

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 1, 5)
ATTENDED = AttendanceStatus.attended()


def _day(offset: int) -> dt.date:
    return MONDAY + dt.timedelta(days=offset)


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _counted_rows():
    """Attendance rows the hours count, with what the sums need of their session."""
    return [
        (row, row.session, int((row.session.ends_at - row.session.starts_at).total_seconds() // 60))
        for row in Attendance.objects.select_related("session__session_type")
        if row.status != AttendanceStatus.CANCELLED
        and row.session.status == SessionStatus.SCHEDULED
    ]


def _sums_afresh() -> dict:
    sums = defaultdict(lambda: [0, 0, 0, 0])
    for row, therapy_session, length in _counted_rows():
        key = (_monday(therapy_session.local_date), row.participant_id,
               therapy_session.session_type_id)
        if row.status in ATTENDED:
            sums[key][0] += length if row.minutes_attended is None else row.minutes_attended
        sums[key][1] += length
        sums[key][2] += length if row.status == AttendanceStatus.EXPECTED else 0
        sums[key][3] += length if row.status == AttendanceStatus.EXCUSED else 0
    return {key: tuple(value) for key, value in sums.items() if any(value)}


def _sums_stored() -> dict:
    rows = WeekHours.objects.values_list("week", "participant_id", "session_type_id",
                                         "attended_minutes", "offered_minutes",
                                         "expected_minutes", "excused_minutes")
    return {tuple(row[:3]): tuple(row[3:]) for row in rows if any(row[3:])}


def _below_afresh(enrollments, *, monday: dt.date, today: dt.date) -> list[tuple]:
    """The report's rule, row by row: (code, attended, offered, ahead, excused, unmarked) of
    each enrollment whose full week is under its minimum, by name."""
    sunday = monday + dt.timedelta(days=6)
    rows = _counted_rows()
    found = []
    for enrollment in enrollments:
        enrollment.refresh_from_db()
        end = enrollment.discharge_date or enrollment.planned_end_date
        if enrollment.admission_date > monday or end < sunday:
            continue
        attended = offered = ahead = excused = unmarked = 0
        for row, therapy_session, length in rows:
            if (row.participant_id != enrollment.participant_id
                    or not monday <= therapy_session.local_date <= sunday
                    or not therapy_session.session_type.counts_toward_hours):
                continue
            offered += length
            if row.status in ATTENDED:
                attended += length if row.minutes_attended is None else row.minutes_attended
            elif row.status == AttendanceStatus.EXCUSED:
                excused += length
            elif row.status == AttendanceStatus.EXPECTED and therapy_session.local_date >= today:
                ahead += length
            elif row.status == AttendanceStatus.EXPECTED:
                unmarked += length
        minimum = enrollment.track.program.min_weekly_hours * 60
        if attended + ahead < minimum:
            found.append((enrollment.participant.last_name, enrollment.participant.first_name,
                          enrollment.pk, str(enrollment.participant.code), attended, offered,
                          ahead, excused, unmarked))
    return [row[3:] for row in sorted(found)]


def _listed(rows) -> list[tuple]:
    return [(row.participant_code, row.attended_minutes, row.offered_minutes, row.ahead_minutes,
             row.excused_minutes, row.unmarked_minutes) for row in rows]


SEEN: dict[str, int] = defaultdict(int)


def assert_fresh(site, enrollments, *, today: dt.date) -> None:
    assert _sums_stored() == _sums_afresh()

    at_risk = {row.enrollment.pk: (row.attended_minutes, row.scheduled_ahead_minutes)
               for row in participants_at_risk(site_ids=[site.pk], today=today)}
    expected = {}
    for enrollment in enrollments:
        enrollment.refresh_from_db()
        if enrollment.status != EnrollmentStatus.ACTIVE:
            continue
        week = hours_ledger(enrollment=enrollment, today=today).current_week
        if week is not None and week.at_risk:
            expected[enrollment.pk] = (week.attended_minutes, week.scheduled_ahead_minutes)
    assert at_risk == expected
    SEEN["at risk"] += len(at_risk)

    report = attendance_report(scope=ReportScope(
        site_ids=(site.pk,), date_from=today - dt.timedelta(weeks=4), date_to=today, today=today))
    assert _listed(report.below_this_week) == _below_afresh(
        enrollments, monday=_monday(today), today=today)
    assert _listed(report.below_last_week) == _below_afresh(
        enrollments, monday=_monday(today) - dt.timedelta(days=7), today=today)
    SEEN["below"] += len(report.below_this_week) + len(report.below_last_week)


def test_it_keeps_the_weeks_hours_fresh_through_every_change_the_app_makes(site, director):
    SEEN.clear()
    track = TrackFactory(site=site, mode="rolling", end_date=None, start_date=MONDAY,
                         program__min_weekly_hours=Decimal("7.5"),
                         program__excused_notice_hours=24)
    evenings = {offset: session(track, _day(offset)) for offset in range(5)}  # Mon-Fri 18-21
    morning = session(track, _day(2), hour=10, hours=1.5)  # Wednesday 10:00-11:30
    next_monday = session(track, _day(7))
    enrollments = [EnrollmentFactory(track=track) for _ in range(8)]
    for enrollment in enrollments:
        for therapy_session in [*evenings.values(), morning, next_monday]:
            attend(enrollment, therapy_session, "expected")
    people = [enrollment.participant for enrollment in enrollments]

    def row(person, therapy_session) -> Attendance:
        return Attendance.objects.get(participant=person, session=therapy_session)

    wednesday = _day(2)
    assert_fresh(site, enrollments, today=wednesday)
    with time_machine.travel(at_local(site, wednesday, 19, 30), tick=False):
        # Marking one at a time, and correcting a mark.
        attendance_mark(attendance=row(people[0], evenings[0]), status="present", by=director)
        attendance_mark(attendance=row(people[1], evenings[0]), status="late", minutes=100,
                        by=director)
        attendance_mark(attendance=row(people[2], evenings[0]), status="absent", by=director)
        assert_fresh(site, enrollments, today=wednesday)
        attendance_mark(attendance=row(people[0], evenings[0]), status="left_early",
                        minutes=30, by=director)
        assert_fresh(site, enrollments, today=wednesday)

        # Several at once, then the rest of a session present.
        attendance_mark_many(marks=[
            MarkRequest(attendance_id=row(person, evenings[1]).pk, status=status, minutes=minutes)
            for person, (status, minutes) in zip(people, [
                ("present", None), ("absent", None), ("late", 60), ("excused", None),
                ("absent", None), ("present", 120)], strict=False)], by=director)
        attendance_mark_rest_present(session=morning, by=director)
        assert_fresh(site, enrollments, today=wednesday)

        # An excuse for Friday, asked and approved ahead of time.
        request = excuse_request(attendance=row(people[3], evenings[4]), reason="Work shift",
                                 by=director)
        excuse_approve(request=request, by=director)
        assert_fresh(site, enrollments, today=wednesday)

        # Thursday cancelled; next Monday's session moved to Friday morning (into this week);
        # then the site closes on Friday.
        session_cancel(session=evenings[3], reason="Facilitator ill", by=director, notify=False)
        assert_fresh(site, enrollments, today=wednesday)
        session_change(session=next_monday, by=director, notify=False,
                       starts_at_local=dt.datetime.combine(_day(4), dt.time(9, 0)),
                       duration_minutes=120)
        assert_fresh(site, enrollments, today=wednesday)
        closure_add(site=site, date=_day(4), reason="Snow", notify=False)
        assert_fresh(site, enrollments, today=wednesday)

        # A discharge withdraws what is ahead; deletes of a row and of a whole session.
        enrollment_discharge(enrollment=enrollments[7], discharge_date=wednesday,
                             reason="transferred", by=director)
        row(people[6], evenings[1]).delete()
        evenings[2].delete()
        assert_fresh(site, enrollments, today=wednesday)

        # Bulk writes: a whole session updated, a new session and its rows created at once,
        # and plain SQL.
        Attendance.objects.filter(session=evenings[1]).update(status="present",
                                                              minutes_attended=None)
        extra = session(track, _day(5), hour=9, hours=2)  # Saturday morning, still ahead
        Attendance.objects.bulk_create([
            Attendance(session=extra, participant=person, enrollment=enrollment)
            for person, enrollment in zip(people[:5], enrollments[:5], strict=True)])
        with connection.cursor() as cursor:
            cursor.execute("UPDATE iop_sessions_attendance SET status = 'absent', "
                           "minutes_attended = NULL WHERE session_id = %s AND participant_id = %s",
                           [morning.pk, people[4].pk])
        assert_fresh(site, enrollments, today=wednesday)

        # Sessions moved or restored without the services (the admin).
        TherapySession.objects.filter(pk=extra.pk).update(
            starts_at=at_local(site, _day(6), 9), ends_at=at_local(site, _day(6), 12),
            local_date=_day(6))
        TherapySession.objects.filter(pk=evenings[3].pk).update(
            status="scheduled", cancel_reason="", cancelled_at=None, cancelled_by=None)
        assert_fresh(site, enrollments, today=wednesday)

        # A session type that stops counting toward the hours.
        morning.session_type.counts_toward_hours = False
        morning.session_type.save()
        assert_fresh(site, enrollments, today=wednesday)

    # Other times of the week read the same sums: before Wednesday evening's session, and
    # once the week is over (last week's list of the report).
    with time_machine.travel(at_local(site, wednesday, 8), tick=False):
        assert_fresh(site, enrollments, today=wednesday)
    with time_machine.travel(at_local(site, _day(8), 12), tick=False):
        assert_fresh(site, enrollments, today=_day(8))
    assert SEEN["at risk"] and SEEN["below"]  # the lists were not empty all along


def test_the_embedded_defaults_row_triggers_keep_the_same_sums_on_sqlite():
    """`make run`'s SQLite has no statement triggers: the migration installs one a row there.
    Random writes to bare attendance and session tables (marks, moves, cancellations, deletes)
    must leave the sums equal to the rows summed afresh (a row of zeros counts as none)."""
    import importlib
    import random
    import sqlite3

    migration = importlib.import_module("sessions.migrations.0009_week_hours")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE iop_sessions_therapysession (id INTEGER PRIMARY KEY, "
               "session_type_id int, starts_at text, ends_at text, local_date text, status text)")
    db.execute("CREATE TABLE iop_sessions_attendance (id INTEGER PRIMARY KEY, session_id int, "
               "participant_id int, status text, minutes_attended int)")
    db.execute("CREATE TABLE iop_sessions_week_hours (id INTEGER PRIMARY KEY, participant_id int, "
               "week text, session_type_id int, attended_minutes int DEFAULT 0, "
               "offered_minutes int DEFAULT 0, expected_minutes int DEFAULT 0, "
               "excused_minutes int DEFAULT 0, UNIQUE (week, participant_id, session_type_id))")
    rng = random.Random(13)
    statuses = [status for status, _ in AttendanceStatus.choices]

    def when() -> tuple:
        start = dt.datetime(2026, 1, 1, 9) + dt.timedelta(days=rng.randint(0, 20),
                                                          hours=rng.randint(0, 12))
        end = start + dt.timedelta(minutes=rng.choice([60, 90, 180]))
        return (start.isoformat(" "), end.isoformat(" "), start.date().isoformat())

    def mark() -> tuple:
        status = rng.choice(statuses)
        return status, rng.choice([None, 30, 45]) if status in ATTENDED else None

    for number in range(1, 7):
        db.execute("INSERT INTO iop_sessions_therapysession VALUES (?, ?, ?, ?, ?, ?)",
                   (number, rng.randint(1, 2), *when(), "scheduled"))
    # Rows written before the migration are summed by its backfill.
    for participant in range(1, 4):
        db.execute("INSERT INTO iop_sessions_attendance (session_id, participant_id, status, "
                   "minutes_attended) VALUES (?, ?, ?, ?)", (participant, participant, *mark()))
    for statement in migration.SQLITE_FORWARD:
        db.execute(statement)
    for _ in range(400):
        ids = [row[0] for row in db.execute("SELECT id FROM iop_sessions_attendance")]
        action = rng.choice(["insert", "insert", "mark", "mark", "move", "delete", "session",
                             "cancel"])
        if action == "insert" or not ids:
            db.execute("INSERT INTO iop_sessions_attendance (session_id, participant_id, status, "
                       "minutes_attended) VALUES (?, ?, ?, ?)",
                       (rng.randint(1, 6), rng.randint(1, 5), *mark()))
        elif action == "mark":
            db.execute("UPDATE iop_sessions_attendance SET status = ?, minutes_attended = ? "
                       "WHERE id = ?", (*mark(), rng.choice(ids)))
        elif action == "move":
            db.execute("UPDATE iop_sessions_attendance SET session_id = ? WHERE id = ?",
                       (rng.randint(1, 6), rng.choice(ids)))
        elif action == "delete":
            db.execute("DELETE FROM iop_sessions_attendance WHERE id = ?", (rng.choice(ids),))
        elif action == "session":
            db.execute("UPDATE iop_sessions_therapysession SET starts_at = ?, ends_at = ?, "
                       "local_date = ?, session_type_id = ? WHERE id = ?",
                       (*when(), rng.randint(1, 2), rng.randint(1, 6)))
        else:
            db.execute("UPDATE iop_sessions_therapysession SET status = ? WHERE id = ?",
                       (rng.choice(["scheduled", "scheduled", "cancelled"]), rng.randint(1, 6)))

    live = defaultdict(lambda: [0, 0, 0, 0])
    for participant, status, minutes, start, end, local_date, kind in db.execute(
            "SELECT a.participant_id, a.status, a.minutes_attended, s.starts_at, s.ends_at, "
            "s.local_date, s.session_type_id FROM iop_sessions_attendance a "
            "JOIN iop_sessions_therapysession s ON s.id = a.session_id "
            "WHERE s.status = 'scheduled' AND a.status <> 'cancelled'"):
        length = int((dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start))
                     .total_seconds() // 60)
        sums = live[(_monday(dt.date.fromisoformat(local_date)).isoformat(), participant, kind)]
        sums[0] += (length if minutes is None else minutes) if status in ATTENDED else 0
        sums[1] += length
        sums[2] += length if status == "expected" else 0
        sums[3] += length if status == "excused" else 0
    stored = {tuple(row[:3]): tuple(row[3:]) for row in db.execute(
        "SELECT week, participant_id, session_type_id, attended_minutes, offered_minutes, "
        "expected_minutes, excused_minutes FROM iop_sessions_week_hours") if any(row[3:])}
    assert stored == {key: tuple(value) for key, value in live.items() if any(value)}
    assert len(stored) >= 5
