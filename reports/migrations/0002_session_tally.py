"""Attendance counted per session (reports.SessionTally), kept by statement triggers.

The triggers take each statement's transition tables, add the new rows' counts and subtract the
old rows' per session, in session order (so two bulk writes lock tally rows in the same order),
and skip sessions whose counts did not move (a note or an answer changed). Creating the triggers
locks attendance against writes until this migration commits, so the backfill that follows sees
every row and misses none.
"""
import django.db.models.deletion
from django.db import migrations, models

DELTA = """
    INSERT INTO reports_session_tally AS t
        (session_id, attended, absent, excused, unmarked, recorded_minutes, unrecorded)
    SELECT * FROM (
        SELECT d.session_id,
               SUM(d.sign * (d.status IN ('present', 'late', 'left_early'))::int) AS attended,
               SUM(d.sign * (d.status = 'absent')::int) AS absent,
               SUM(d.sign * (d.status = 'excused')::int) AS excused,
               SUM(d.sign * (d.status = 'expected')::int) AS unmarked,
               SUM(d.sign * CASE WHEN d.status IN ('present', 'late', 'left_early')
                                 THEN COALESCE(d.minutes_attended, 0) ELSE 0 END) AS recorded,
               SUM(d.sign * (d.status IN ('present', 'late', 'left_early')
                             AND d.minutes_attended IS NULL)::int) AS unrecorded
        FROM ({rows}) AS d
        GROUP BY d.session_id
    ) AS c
    WHERE (c.attended, c.absent, c.excused, c.unmarked, c.recorded, c.unrecorded)
          <> (0, 0, 0, 0, 0, 0)
    ORDER BY c.session_id
    ON CONFLICT (session_id) DO UPDATE SET
        attended = t.attended + EXCLUDED.attended, absent = t.absent + EXCLUDED.absent,
        excused = t.excused + EXCLUDED.excused, unmarked = t.unmarked + EXCLUDED.unmarked,
        recorded_minutes = t.recorded_minutes + EXCLUDED.recorded_minutes,
        unrecorded = t.unrecorded + EXCLUDED.unrecorded;
"""
NEW = "SELECT session_id, status, minutes_attended, 1 AS sign FROM new_rows"
OLD = "SELECT session_id, status, minutes_attended, -1 AS sign FROM old_rows"

FORWARD = f"""
CREATE FUNCTION reports_session_tally_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {DELTA.format(rows=NEW)}
    ELSIF TG_OP = 'DELETE' THEN
        {DELTA.format(rows=OLD)}
    ELSE
        {DELTA.format(rows=NEW + " UNION ALL " + OLD)}
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER reports_session_tally_insert AFTER INSERT ON iop_sessions_attendance
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_session_tally_apply();
CREATE TRIGGER reports_session_tally_update AFTER UPDATE ON iop_sessions_attendance
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_session_tally_apply();
CREATE TRIGGER reports_session_tally_delete AFTER DELETE ON iop_sessions_attendance
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_session_tally_apply();
{DELTA.format(rows="SELECT session_id, status, minutes_attended, 1 AS sign "
                   "FROM iop_sessions_attendance")}
"""

BACKWARD = """
DROP TRIGGER IF EXISTS reports_session_tally_insert ON iop_sessions_attendance;
DROP TRIGGER IF EXISTS reports_session_tally_update ON iop_sessions_attendance;
DROP TRIGGER IF EXISTS reports_session_tally_delete ON iop_sessions_attendance;
DROP FUNCTION IF EXISTS reports_session_tally_apply();
"""


# The embedded default (`make run`) runs on SQLite, which has no statement triggers nor
# transition tables: one trigger a row, with the same counts. Its rows are counted one at a
# time, which is fine for a one-machine clinic.
_ATTENDED = "('present', 'late', 'left_early')"


def _sqlite_delta(row: str, sign: int) -> str:
    attended = f"{row}.status IN {_ATTENDED}"
    return (
        "INSERT INTO reports_session_tally (session_id, attended, absent, excused, unmarked, "
        "recorded_minutes, unrecorded) VALUES ("
        f"{row}.session_id, {sign} * ({attended}), {sign} * ({row}.status = 'absent'), "
        f"{sign} * ({row}.status = 'excused'), {sign} * ({row}.status = 'expected'), "
        f"{sign} * (CASE WHEN {attended} THEN COALESCE({row}.minutes_attended, 0) ELSE 0 END), "
        f"{sign} * ({attended} AND {row}.minutes_attended IS NULL)) "
        "ON CONFLICT (session_id) DO UPDATE SET attended = attended + excluded.attended, "
        "absent = absent + excluded.absent, excused = excused + excluded.excused, "
        "unmarked = unmarked + excluded.unmarked, "
        "recorded_minutes = recorded_minutes + excluded.recorded_minutes, "
        "unrecorded = unrecorded + excluded.unrecorded;"
    )


SQLITE_FORWARD = [
    "CREATE TRIGGER reports_session_tally_insert AFTER INSERT ON iop_sessions_attendance "
    f"BEGIN {_sqlite_delta('NEW', 1)} END",
    "CREATE TRIGGER reports_session_tally_update AFTER UPDATE ON iop_sessions_attendance "
    f"BEGIN {_sqlite_delta('OLD', -1)} {_sqlite_delta('NEW', 1)} END",
    "CREATE TRIGGER reports_session_tally_delete AFTER DELETE ON iop_sessions_attendance "
    f"BEGIN {_sqlite_delta('OLD', -1)} END",
    "INSERT INTO reports_session_tally (session_id, attended, absent, excused, unmarked, "
    f"recorded_minutes, unrecorded) SELECT session_id, SUM(status IN {_ATTENDED}), "
    "SUM(status = 'absent'), SUM(status = 'excused'), SUM(status = 'expected'), "
    f"SUM(CASE WHEN status IN {_ATTENDED} THEN COALESCE(minutes_attended, 0) ELSE 0 END), "
    f"SUM(status IN {_ATTENDED} AND minutes_attended IS NULL) "
    "FROM iop_sessions_attendance GROUP BY session_id",
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS reports_session_tally_{op}"
                   for op in ("insert", "update", "delete")]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        statements = statements_by_vendor.get(connection.vendor)
        if statements is None:
            raise NotImplementedError(f"no attendance tally triggers for {connection.vendor}")
        for statement in statements:
            schema_editor.execute(statement, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0001_initial"),
        ("iop_sessions", "0008_attendance_makeup_for"),
    ]

    operations = [
        migrations.CreateModel(
            name="SessionTally",
            fields=[
                ("session", models.OneToOneField(
                    db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING,
                    primary_key=True, related_name="report_tally", serialize=False,
                    to="iop_sessions.therapysession")),
                ("attended", models.IntegerField(default=0)),
                ("absent", models.IntegerField(default=0)),
                ("excused", models.IntegerField(default=0)),
                ("unmarked", models.IntegerField(default=0)),
                ("recorded_minutes", models.BigIntegerField(default=0)),
                ("unrecorded", models.IntegerField(default=0)),
            ],
            options={"verbose_name": "attendance tally of a session",
                     "db_table": "reports_session_tally"},
        ),
        migrations.RunPython(_run({"postgresql": [FORWARD], "sqlite": SQLITE_FORWARD}),
                             _run({"postgresql": [BACKWARD], "sqlite": SQLITE_BACKWARD})),
    ]
