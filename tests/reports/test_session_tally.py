"""The per-session attendance tally (reports.SessionTally) is kept by triggers on every write
path, and the reports read from it the same figures as from the attendance rows themselves."""
import random

import pytest
from django.db import connection
from django.db.models import F, FloatField, Sum
from django.db.models.functions import Coalesce

from reports import selectors as reports
from reports.models import SessionTally
from sessions.models import Attendance, AttendanceStatus, TherapySession
from tests import factories
from tests.reports.world import build_report_world

pytestmark = pytest.mark.django_db

STATUSES = [status for status, _ in AttendanceStatus.choices]


def _mark(rng) -> dict:
    status = rng.choice(STATUSES)
    attended = status in reports.ATTENDED
    return {"status": status,
            "minutes_attended": rng.choice([None, 30, 45, 180]) if attended else None}


def _live_tally() -> dict[int, tuple]:
    """What the tally must hold, counted from the attendance rows (sessions with a row that
    counts; a tally row of zeros is the same as none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session_id, COUNT(*) FILTER (WHERE status IN ('present', 'late', "
            "'left_early')), COUNT(*) FILTER (WHERE status = 'absent'), "
            "COUNT(*) FILTER (WHERE status = 'excused'), "
            "COUNT(*) FILTER (WHERE status = 'expected'), "
            "COALESCE(SUM(minutes_attended) FILTER (WHERE status IN ('present', 'late', "
            "'left_early')), 0), COUNT(*) FILTER (WHERE status IN ('present', 'late', "
            "'left_early') AND minutes_attended IS NULL) "
            "FROM iop_sessions_attendance GROUP BY session_id")
        rows = {row[0]: tuple(row[1:]) for row in cursor.fetchall()}
    return {key: value for key, value in rows.items() if any(value)}


def _stored_tally() -> dict[int, tuple]:
    rows = SessionTally.objects.values_list(
        "session_id", "attended", "absent", "excused", "unmarked", "recorded_minutes",
        "unrecorded")
    return {row[0]: tuple(row[1:]) for row in rows if any(row[1:])}


def _live_participant_minutes(scope) -> dict[int, int]:
    """The staff load's participant minutes as computed before the tally: attendance rows."""
    sessions = TherapySession.objects.filter(
        site_id__in=scope.site_ids, status="scheduled", facilitator__isnull=False,
        local_date__gte=scope.date_from, local_date__lte=scope.held_until)
    length = reports.Minutes(F("session__ends_at"), F("session__starts_at"))
    return {
        facilitator: round(minutes or 0)
        for facilitator, minutes in Attendance.objects.filter(
            session__in=sessions.values("pk"), status__in=reports.ATTENDED)
        .values("session__facilitator_id").order_by()
        .annotate(m=Sum(Coalesce(F("minutes_attended"), length, output_field=FloatField())))
        .values_list("session__facilitator_id", "m")
    }


def _assert_same(w) -> None:
    assert _stored_tally() == _live_tally()
    scope = w.scope()
    assert reports._attendance_cells(scope) == reports._attendance_cells_live(scope)
    load = {row.clinician_id: row.participant_minutes
            for row in reports.staff_load_report(scope=scope) if row.participant_minutes}
    assert load == _live_participant_minutes(scope)


def test_it_keeps_the_tally_equal_to_the_rows_through_every_kind_of_write():
    w = build_report_world()
    rng = random.Random(12)
    sessions = list(TherapySession.objects.filter(site=w.site))
    people = [factories.ParticipantFactory(home_site=w.site) for _ in range(12)]
    _assert_same(w)

    # One row at a time through the ORM, as marking attendance does.
    for person in people[:6]:
        for session in rng.sample(sessions, 4):
            factories.AttendanceFactory(session=session, participant=person, **_mark(rng))
    _assert_same(w)

    # bulk_create, as schedule generation and enrollment do.
    Attendance.objects.bulk_create([
        Attendance(session=session, participant=person, **_mark(rng))
        for person in people[6:] for session in rng.sample(sessions, 5)])
    _assert_same(w)

    # Marking one row, then a whole session at once, then a bulk_update.
    row = Attendance.objects.filter(status="expected").first()
    row.status, row.minutes_attended = "present", 90
    row.save()
    Attendance.objects.filter(session=sessions[0]).update(status="absent", minutes_attended=None)
    rows = list(Attendance.objects.order_by("pk")[:10])
    for row in rows:
        mark = _mark(rng)
        row.status, row.minutes_attended = mark["status"], mark["minutes_attended"]
    Attendance.objects.bulk_update(rows, ["status", "minutes_attended"])
    _assert_same(w)

    # A change that moves no count (a note), and rows moved to another session.
    Attendance.objects.filter(session=sessions[1]).update(note="called back")
    moved_to = factories.TherapySessionFactory(track=w.t1, site=w.site,
                                               session_type=sessions[2].session_type)
    Attendance.objects.filter(session=sessions[2]).update(session=moved_to)
    _assert_same(w)

    # Plain SQL, as the bench clinic and data migrations write.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO iop_sessions_attendance (session_id, participant_id, status, "
            "minutes_attended, note, confirmation) "
            "SELECT s.id, p.id, 'late', NULL, '', '' FROM iop_sessions_therapysession s "
            "CROSS JOIN participants_participant p WHERE NOT EXISTS (SELECT 1 FROM "
            "iop_sessions_attendance a WHERE a.session_id = s.id AND a.participant_id = p.id)")
    _assert_same(w)

    # Deletes: some rows, then a session with its attendance (Django's cascade).
    Attendance.objects.filter(pk__in=Attendance.objects.order_by("?").values("pk")[:15]).delete()
    sessions[4].delete()
    _assert_same(w)


def test_it_rolls_back_with_the_rows_it_counts():
    from django.db import transaction

    w = build_report_world()
    before = _stored_tally()
    with pytest.raises(RuntimeError), transaction.atomic():
        Attendance.objects.update(status="present", minutes_attended=5)
        raise RuntimeError
    assert _stored_tally() == before
    _assert_same(w)


def test_the_embedded_defaults_row_triggers_keep_the_same_counts_on_sqlite():
    """`make run`'s SQLite has no statement triggers: the migration installs one a row there.
    Random inserts, updates and deletes on a bare attendance table must leave the tally equal to
    the rows counted afresh (a row of zeros counts as none)."""
    import importlib
    import sqlite3

    migration = importlib.import_module("reports.migrations.0002_session_tally")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE iop_sessions_attendance (id INTEGER PRIMARY KEY, session_id int, "
               "status text, minutes_attended int)")
    db.execute("CREATE TABLE reports_session_tally (session_id int PRIMARY KEY, attended int "
               "DEFAULT 0, absent int DEFAULT 0, excused int DEFAULT 0, unmarked int DEFAULT 0, "
               "recorded_minutes int DEFAULT 0, unrecorded int DEFAULT 0)")
    rng = random.Random(7)
    # Rows written before the migration are counted by its backfill.
    for session_id in range(1, 4):
        mark = _mark(rng)
        db.execute("INSERT INTO iop_sessions_attendance (session_id, status, minutes_attended) "
                   "VALUES (?, ?, ?)", (session_id, mark["status"], mark["minutes_attended"]))
    for statement in migration.SQLITE_FORWARD:
        db.execute(statement)
    for _ in range(300):
        ids = [row[0] for row in db.execute("SELECT id FROM iop_sessions_attendance")]
        action = rng.choice(["insert", "update", "update", "delete"]) if ids else "insert"
        mark = _mark(rng)
        if action == "insert":
            db.execute("INSERT INTO iop_sessions_attendance (session_id, status, "
                       "minutes_attended) VALUES (?, ?, ?)",
                       (rng.randint(1, 6), mark["status"], mark["minutes_attended"]))
        elif action == "update":
            db.execute("UPDATE iop_sessions_attendance SET status = ?, minutes_attended = ?, "
                       "session_id = ? WHERE id = ?",
                       (mark["status"], mark["minutes_attended"], rng.randint(1, 6),
                        rng.choice(ids)))
        else:
            db.execute("DELETE FROM iop_sessions_attendance WHERE id = ?", (rng.choice(ids),))
    attended = "status IN ('present', 'late', 'left_early')"
    live = {row[0]: row[1:] for row in db.execute(
        f"SELECT session_id, SUM({attended}), SUM(status = 'absent'), SUM(status = 'excused'), "
        f"SUM(status = 'expected'), SUM(CASE WHEN {attended} THEN COALESCE(minutes_attended, 0) "
        f"ELSE 0 END), SUM({attended} AND minutes_attended IS NULL) "
        "FROM iop_sessions_attendance GROUP BY session_id")}
    stored = {row[0]: row[1:] for row in db.execute(
        "SELECT session_id, attended, absent, excused, unmarked, recorded_minutes, unrecorded "
        "FROM reports_session_tally") if any(row[1:])}
    assert stored == {key: value for key, value in live.items() if any(value)}
    assert len(stored) >= 3


def test_the_embedded_defaults_triggers_keep_the_sessions_keys_on_the_tally_on_sqlite():
    """`make run`'s SQLite keeps the session's keys on its tally (migration 0008) by AFTER
    triggers, with Django's own functions for the hour in the site's zone and the length: a
    tally made by a session's first row, sessions moved in time, day, status, track and site,
    and sites moved to another zone, leave every tally's keys as worked out afresh here."""
    import datetime as dt
    import importlib
    import sqlite3
    import zoneinfo

    from django.db.backends.sqlite3 import _functions

    counts = importlib.import_module("reports.migrations.0002_session_tally")
    keys = importlib.import_module("reports.migrations.0008_session_tally_keys")
    db = sqlite3.connect(":memory:")
    _functions.register(db)  # as Django registers them on each of its SQLite connections
    db.execute("CREATE TABLE programs_site (id INTEGER PRIMARY KEY, time_zone text)")
    db.execute("CREATE TABLE iop_sessions_therapysession (id INTEGER PRIMARY KEY, site_id int, "
               "local_date date, status text, track_id int, kind text, starts_at datetime, "
               "ends_at datetime)")
    db.execute("CREATE TABLE iop_sessions_attendance (id INTEGER PRIMARY KEY, session_id int, "
               "status text, minutes_attended int)")
    db.execute("CREATE TABLE reports_session_tally (session_id int PRIMARY KEY, attended int "
               "DEFAULT 0, absent int DEFAULT 0, excused int DEFAULT 0, unmarked int DEFAULT 0, "
               "recorded_minutes int DEFAULT 0, unrecorded int DEFAULT 0, site_id int, "
               "local_date date, status text, track_id int, kind text, weekday int, part int, "
               "length bigint)")
    zones = ["America/New_York", "America/Los_Angeles", "Europe/London", "Pacific/Honolulu"]
    db.executemany("INSERT INTO programs_site (id, time_zone) VALUES (?, ?)",
                   [(1, zones[0]), (2, zones[1])])
    rng = random.Random(8)

    def timing(site_id: int) -> tuple:
        """A start (stored as Django stores it: UTC text), an end and the site's local date."""
        zone = db.execute("SELECT time_zone FROM programs_site WHERE id = ?",
                          (site_id,)).fetchone()[0]
        start = dt.datetime(2026, 2, rng.randint(1, 28), rng.randint(0, 23), rng.choice([0, 59]),
                            rng.choice([0, 30]), tzinfo=dt.UTC)
        end = start + dt.timedelta(minutes=rng.randint(30, 240), seconds=rng.choice([0, 20]))
        local = start.astimezone(zoneinfo.ZoneInfo(zone)).date()
        return (start.strftime("%Y-%m-%d %H:%M:%S"), end.strftime("%Y-%m-%d %H:%M:%S"),
                local.isoformat())

    def add_session(session_id: int) -> None:
        site_id = rng.choice([1, 2])
        start, end, local = timing(site_id)
        db.execute("INSERT INTO iop_sessions_therapysession VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (session_id, site_id, local, rng.choice(["scheduled", "cancelled"]),
                    rng.choice([None, 1, 2]), rng.choice(["group", "individual"]), start, end))

    def mark(session_id: int) -> None:
        db.execute("INSERT INTO iop_sessions_attendance (session_id, status) VALUES (?, ?)",
                   (session_id, rng.choice(STATUSES)))

    # Tallies made before the migration are filled by it.
    for session_id in range(1, 4):
        add_session(session_id)
        mark(session_id)
    for statement in counts.SQLITE_FORWARD:
        db.execute(statement)
    for session_id in range(1, 4):
        mark(session_id)
    for statement in [*keys.SQLITE_TRIGGERS, keys.SQLITE_FILL]:
        db.execute(statement)
    for session_id in range(4, 9):
        add_session(session_id)
    for _ in range(200):
        action = rng.choice(["mark", "mark", "move", "status", "track", "zone"])
        session_id = rng.randint(1, 8)
        if action == "mark":
            mark(session_id)
        elif action == "move":
            site_id = rng.choice([1, 2])
            start, end, local = timing(site_id)
            db.execute("UPDATE iop_sessions_therapysession SET site_id = ?, starts_at = ?, "
                       "ends_at = ?, local_date = ? WHERE id = ?",
                       (site_id, start, end, local, session_id))
        elif action == "status":
            db.execute("UPDATE iop_sessions_therapysession SET status = ?, kind = ? WHERE id = ?",
                       (rng.choice(["scheduled", "cancelled"]),
                        rng.choice(["group", "individual"]), session_id))
        elif action == "track":
            db.execute("UPDATE iop_sessions_therapysession SET track_id = ? WHERE id = ?",
                       (rng.choice([None, 1, 2]), session_id))
        else:
            db.execute("UPDATE programs_site SET time_zone = ? WHERE id = ?",
                       (rng.choice(zones), rng.choice([1, 2])))

    def afresh(row) -> tuple:
        site_id, local, status, track_id, kind, zone, starts_at, ends_at = row
        start = dt.datetime.fromisoformat(starts_at).replace(tzinfo=dt.UTC)
        hour = start.astimezone(zoneinfo.ZoneInfo(zone)).hour
        length = dt.datetime.fromisoformat(ends_at).replace(tzinfo=dt.UTC) - start
        return (site_id, local, status, track_id, kind, dt.date.fromisoformat(local).isoweekday(),
                2 if hour >= 17 else 1 if hour >= 12 else 0, length // dt.timedelta(microseconds=1))

    kept = {row[0]: row[1:] for row in db.execute(
        f"SELECT session_id, {keys.KEYS} FROM reports_session_tally")}
    sessions = {row[0]: afresh(row[1:]) for row in db.execute(
        "SELECT s.id, s.site_id, s.local_date, s.status, s.track_id, s.kind, site.time_zone, "
        "s.starts_at, s.ends_at FROM iop_sessions_therapysession s "
        "JOIN programs_site site ON site.id = s.site_id")}
    assert len(kept) == 8
    assert kept == {session_id: sessions[session_id] for session_id in kept}
