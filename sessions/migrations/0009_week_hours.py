"""Minutes per participant, ISO week and session type (iop_sessions.WeekHours), kept by triggers.

Two sources move the sums: attendance rows (marked, excused, added, moved, deleted) and the
sessions they belong to (cancelled or restored, rescheduled to another time or day, given another
type, deleted). Each has statement triggers that take the statement's transition tables, add the
new rows' minutes and subtract the old rows', per (week, participant, type) in key order (so two
bulk writes lock sum rows in the same order), skipping sums that did not move (a note changed).
The invariant: the stored sums equal the live attendance summed against the live sessions, at the
end of every statement, in the writer's transaction. Creating the triggers locks attendance and
sessions against writes until this migration commits, so the backfill that follows misses none.
"""
import django.db.models.deletion
from django.db import migrations, models

ATTENDED = "('present', 'late', 'left_early')"
# A row counts when the clinic did not cancel it and its session is scheduled. Lengths are whole
# minutes per row, as the hours ledger counts them.
PG_ROWS = """
    SELECT a.participant_id, s.local_date - (EXTRACT(ISODOW FROM s.local_date)::int - 1) AS week,
           s.session_type_id, a.status, a.minutes_attended,
           FLOOR(EXTRACT(EPOCH FROM (s.ends_at - s.starts_at)) / 60)::bigint AS length,
           {sign} AS sign
    FROM {attendance} a JOIN {sessions} s ON s.id = a.session_id
    WHERE s.status = 'scheduled' AND a.status <> 'cancelled'{more}
"""
DELTA = f"""
    INSERT INTO iop_sessions_week_hours AS h
        (participant_id, week, session_type_id, attended_minutes, offered_minutes,
         expected_minutes, excused_minutes)
    SELECT * FROM (
        SELECT d.participant_id, d.week, d.session_type_id,
               SUM(d.sign * CASE WHEN d.status IN {ATTENDED}
                                 THEN COALESCE(d.minutes_attended, d.length) ELSE 0 END) AS a,
               SUM(d.sign * d.length) AS o,
               SUM(d.sign * CASE WHEN d.status = 'expected' THEN d.length ELSE 0 END) AS u,
               SUM(d.sign * CASE WHEN d.status = 'excused' THEN d.length ELSE 0 END) AS e
        FROM ({{rows}}) AS d
        GROUP BY d.week, d.participant_id, d.session_type_id
    ) AS c
    WHERE (c.a, c.o, c.u, c.e) <> (0, 0, 0, 0)
    ORDER BY c.week, c.participant_id, c.session_type_id
    ON CONFLICT (week, participant_id, session_type_id) DO UPDATE SET
        attended_minutes = h.attended_minutes + EXCLUDED.attended_minutes,
        offered_minutes = h.offered_minutes + EXCLUDED.offered_minutes,
        expected_minutes = h.expected_minutes + EXCLUDED.expected_minutes,
        excused_minutes = h.excused_minutes + EXCLUDED.excused_minutes;
"""


def _pg_rows(*, attendance: str, sessions: str, sign: int, more: str = "") -> str:
    return PG_ROWS.format(attendance=attendance, sessions=sessions, sign=sign, more=more)


_ATTENDANCE_NEW = _pg_rows(attendance="new_rows", sessions="iop_sessions_therapysession", sign=1)
_ATTENDANCE_OLD = _pg_rows(attendance="old_rows", sessions="iop_sessions_therapysession", sign=-1)
# A session update moves its attendance only when what the sums read of it changed.
_MOVED = (" AND s.id IN (SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
          "WHERE (o.status, o.starts_at, o.ends_at, o.local_date, o.session_type_id) "
          "IS DISTINCT FROM (n.status, n.starts_at, n.ends_at, n.local_date, n.session_type_id))")
_SESSIONS_NEW = _pg_rows(attendance="iop_sessions_attendance", sessions="new_rows", sign=1)
_SESSIONS_OLD = _pg_rows(attendance="iop_sessions_attendance", sessions="old_rows", sign=-1)


# An attendance statement adds its rows to the weeks of their sessions as it reads them, while a
# session update moves the rows it reads from the old week to the new. Without a lock between the
# two, a mark and a reschedule of the same session in two transactions each miss the other's
# change: the mark lands in the week the session was leaving. So the attendance triggers first
# take a share lock on their sessions (in id order), which waits for an uncommitted change of
# the session and makes the session's own update wait for the mark; the sums that follow are
# then read in a fresh snapshot (READ COMMITTED takes one a statement).
def _lock_sessions(rows: str) -> str:
    return (f"PERFORM 1 FROM iop_sessions_therapysession WHERE id IN ({rows}) "
            "ORDER BY id FOR SHARE;")


_LOCKS = {"INSERT": _lock_sessions("SELECT session_id FROM new_rows"),
          "DELETE": _lock_sessions("SELECT session_id FROM old_rows"),
          "UPDATE": _lock_sessions("SELECT session_id FROM new_rows "
                                   "UNION SELECT session_id FROM old_rows")}


def _pg_function(name: str, *, new: str, old: str, moved: str = "",
                 locks: dict[str, str] | None = None) -> str:
    lock = locks or {}
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {lock.get("INSERT", "")}
        {DELTA.format(rows=new)}
    ELSIF TG_OP = 'DELETE' THEN
        {lock.get("DELETE", "")}
        {DELTA.format(rows=old)}
    ELSE
        {lock.get("UPDATE", "")}
        {DELTA.format(rows=new.rstrip() + moved + " UNION ALL " + old.rstrip() + moved)}
    END IF;
    RETURN NULL;
END
$$;"""


def _pg_triggers(table: str, function: str, prefix: str) -> str:
    return f"""
CREATE TRIGGER {prefix}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {prefix}_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {prefix}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();"""


FORWARD = "\n".join([
    _pg_function("week_hours_from_attendance", new=_ATTENDANCE_NEW, old=_ATTENDANCE_OLD,
                 locks=_LOCKS),
    _pg_function("week_hours_from_sessions", new=_SESSIONS_NEW, old=_SESSIONS_OLD, moved=_MOVED),
    _pg_triggers("iop_sessions_attendance", "week_hours_from_attendance",
                 "week_hours_attendance"),
    _pg_triggers("iop_sessions_therapysession", "week_hours_from_sessions",
                 "week_hours_sessions"),
    DELTA.format(rows=_pg_rows(attendance="iop_sessions_attendance",
                               sessions="iop_sessions_therapysession", sign=1)),
    # Statistics for the planner straight away: an empty-looking table is read row by row.
    "ANALYZE iop_sessions_week_hours;",
])

BACKWARD = "\n".join(
    [f"DROP TRIGGER IF EXISTS week_hours_attendance_{op} ON iop_sessions_attendance;"
     for op in ("insert", "update", "delete")]
    + [f"DROP TRIGGER IF EXISTS week_hours_sessions_{op} ON iop_sessions_therapysession;"
       for op in ("insert", "update", "delete")]
    + ["DROP FUNCTION IF EXISTS week_hours_from_attendance();",
       "DROP FUNCTION IF EXISTS week_hours_from_sessions();"])


# The embedded default (`make run`) runs on SQLite, which has no statement triggers nor
# transition tables: one trigger a row, with the same sums.
def _sqlite_delta(*, attendance: str, session: str, sign: int, where: str) -> str:
    length = (f"((CAST(strftime('%s', {session}.ends_at) AS integer) "
              f"- CAST(strftime('%s', {session}.starts_at) AS integer)) / 60)")
    week = (f"date({session}.local_date, '-' || "
            f"((CAST(strftime('%w', {session}.local_date) AS integer) + 6) % 7) || ' days')")
    return (
        "INSERT INTO iop_sessions_week_hours (participant_id, week, session_type_id, "
        "attended_minutes, offered_minutes, expected_minutes, excused_minutes) "
        f"SELECT {attendance}.participant_id, {week}, {session}.session_type_id, "
        f"{sign} * (CASE WHEN {attendance}.status IN {ATTENDED} "
        f"THEN COALESCE({attendance}.minutes_attended, {length}) ELSE 0 END), "
        f"{sign} * {length}, "
        f"{sign} * (CASE WHEN {attendance}.status = 'expected' THEN {length} ELSE 0 END), "
        f"{sign} * (CASE WHEN {attendance}.status = 'excused' THEN {length} ELSE 0 END) "
        f"{where} AND {session}.status = 'scheduled' AND {attendance}.status <> 'cancelled' "
        "ON CONFLICT (week, participant_id, session_type_id) DO UPDATE SET "
        "attended_minutes = attended_minutes + excluded.attended_minutes, "
        "offered_minutes = offered_minutes + excluded.offered_minutes, "
        "expected_minutes = expected_minutes + excluded.expected_minutes, "
        "excused_minutes = excused_minutes + excluded.excused_minutes;"
    )


def _from_attendance(row: str, sign: int) -> str:
    return _sqlite_delta(attendance=row, session="s", sign=sign,
                         where=f"FROM iop_sessions_therapysession s WHERE s.id = {row}.session_id")


def _from_session(row: str, sign: int) -> str:
    return _sqlite_delta(attendance="a", session=row, sign=sign,
                         where=f"FROM iop_sessions_attendance a WHERE a.session_id = {row}.id")


SQLITE_FORWARD = [
    "CREATE TRIGGER week_hours_attendance_insert AFTER INSERT ON iop_sessions_attendance "
    f"BEGIN {_from_attendance('NEW', 1)} END",
    "CREATE TRIGGER week_hours_attendance_update AFTER UPDATE ON iop_sessions_attendance "
    f"BEGIN {_from_attendance('OLD', -1)} {_from_attendance('NEW', 1)} END",
    "CREATE TRIGGER week_hours_attendance_delete AFTER DELETE ON iop_sessions_attendance "
    f"BEGIN {_from_attendance('OLD', -1)} END",
    "CREATE TRIGGER week_hours_sessions_insert AFTER INSERT ON iop_sessions_therapysession "
    f"BEGIN {_from_session('NEW', 1)} END",
    "CREATE TRIGGER week_hours_sessions_update AFTER UPDATE OF status, starts_at, ends_at, "
    "local_date, session_type_id ON iop_sessions_therapysession "
    f"BEGIN {_from_session('OLD', -1)} {_from_session('NEW', 1)} END",
    "CREATE TRIGGER week_hours_sessions_delete AFTER DELETE ON iop_sessions_therapysession "
    f"BEGIN {_from_session('OLD', -1)} END",
    # The backfill: every row already there, one row at a time (a one-machine clinic).
    _sqlite_delta(attendance="a", session="s", sign=1,
                  where="FROM iop_sessions_attendance a JOIN iop_sessions_therapysession s "
                        "ON s.id = a.session_id WHERE 1"),
]
SQLITE_BACKWARD = (
    [f"DROP TRIGGER IF EXISTS week_hours_attendance_{op}" for op in ("insert", "update", "delete")]
    + [f"DROP TRIGGER IF EXISTS week_hours_sessions_{op}" for op in ("insert", "update", "delete")]
)


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        statements = statements_by_vendor.get(connection.vendor)
        if statements is None:
            raise NotImplementedError(f"no week-hours triggers for {connection.vendor}")
        for statement in statements:
            schema_editor.execute(statement, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("iop_sessions", "0008_attendance_makeup_for"),
        ("participants", "0005_participant_language"),
        ("programs", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="WeekHours",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("week", models.DateField(verbose_name="week (its Monday)")),
                ("attended_minutes", models.BigIntegerField(default=0)),
                ("offered_minutes", models.BigIntegerField(default=0)),
                ("expected_minutes", models.BigIntegerField(default=0)),
                ("excused_minutes", models.BigIntegerField(default=0)),
                ("participant", models.ForeignKey(
                    db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING,
                    related_name="+", to="participants.participant")),
                ("session_type", models.ForeignKey(
                    db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING,
                    related_name="+", to="programs.sessiontype")),
            ],
            options={
                "verbose_name": "hours of a participant's week",
                "db_table": "iop_sessions_week_hours",
                "constraints": [models.UniqueConstraint(
                    fields=("week", "participant", "session_type"),
                    name="week_hours_one_per_week_and_type")],
            },
        ),
        migrations.RunPython(_run({"postgresql": [FORWARD], "sqlite": SQLITE_FORWARD}),
                             _run({"postgresql": [BACKWARD], "sqlite": SQLITE_BACKWARD})),
    ]
