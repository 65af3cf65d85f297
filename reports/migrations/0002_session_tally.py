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
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
