"""Each attendance row's session's local date (Attendance.session_date), kept by the database.

The attendance report by clinician reads the caseload's rows of the report's range. Through the
attendance's participant index it read every row the caseload ever had, then each row's session
to drop those outside the range: with 26 weeks of history, four times the rows of the range
(69,237 rows for about 18,000). With the session's date on the row, an index on (participant,
date) finds only the range's.

The invariant: a row's `session_date` is its session's `local_date`, at the end of every
statement, in the writer's transaction, whoever writes (services, bulk inserts, the benchmark's
SQL):
- a row inserted, or its session or session date written, takes its session's date; the session
  is read FOR SHARE, so a move of that session's date in flight commits first and is read (a
  move after it waits for the row's commit, then sees it);
- a session whose local date changes (moved to another day) moves its rows' date with it:
  the trigger fires on any update of a session whose date differs, whoever set it;
- a session deleted deletes its rows (CASCADE).

Not atomic, as 0011: the column is added (a moment's exclusive lock), then the triggers in one
transaction, then the rows already there are filled in batches by primary key, each its own
transaction (each row goes through the new trigger, so a row written or a session moved
meanwhile is right either way), then VACUUM (ANALYZE), then the index is built on the filled
rows (holding writes to attendance, not reads, while it builds).
"""
from django.db import migrations, models

PG_TRIGGERS = """
CREATE FUNCTION attendance_session_date() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.session_id IS NOT DISTINCT FROM OLD.session_id
            AND NEW.session_date IS NOT DISTINCT FROM OLD.session_date THEN
        RETURN NEW;
    END IF;
    SELECT s.local_date INTO NEW.session_date FROM iop_sessions_therapysession s
    WHERE s.id = NEW.session_id FOR SHARE;
    RETURN NEW;
END
$$;

CREATE TRIGGER attendance_session_date BEFORE INSERT OR UPDATE OF session_id, session_date
    ON iop_sessions_attendance FOR EACH ROW EXECUTE FUNCTION attendance_session_date();

CREATE FUNCTION attendance_session_date_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE iop_sessions_attendance SET session_date = NEW.local_date
    WHERE session_id = NEW.id AND session_date IS DISTINCT FROM NEW.local_date;
    RETURN NULL;
END
$$;

CREATE TRIGGER attendance_session_date_moved AFTER UPDATE
    ON iop_sessions_therapysession FOR EACH ROW
    WHEN (OLD.local_date IS DISTINCT FROM NEW.local_date)
    EXECUTE FUNCTION attendance_session_date_moved();
"""
# One batch: the trigger sees the date change from NULL and reads it again, locked.
PG_FILL_BATCH = """
UPDATE iop_sessions_attendance a SET session_date = s.local_date
FROM iop_sessions_therapysession s
WHERE s.id = a.session_id AND a.id >= %s AND a.id < %s
    AND a.session_date IS DISTINCT FROM s.local_date
"""
FILL_BATCH_ROWS = 5000
PG_BACKWARD = """
DROP TRIGGER IF EXISTS attendance_session_date ON iop_sessions_attendance;
DROP TRIGGER IF EXISTS attendance_session_date_moved ON iop_sessions_therapysession;
DROP FUNCTION IF EXISTS attendance_session_date();
DROP FUNCTION IF EXISTS attendance_session_date_moved();
"""

# The embedded default (`make run`) runs on SQLite: a BEFORE trigger cannot set the new row,
# so AFTER triggers write it (SQLite runs them within the statement, and does not recurse:
# the WHEN of the update trigger stops it anyway once the date is right).
_DATE_OF_NEW = ("(SELECT s.local_date FROM iop_sessions_therapysession s "
                "WHERE s.id = NEW.session_id)")
_SET_NEW = (f"UPDATE iop_sessions_attendance SET session_date = {_DATE_OF_NEW} "
            "WHERE id = NEW.id;")
SQLITE_TRIGGERS = [
    "CREATE TRIGGER attendance_session_date_moved AFTER UPDATE OF local_date "
    "ON iop_sessions_therapysession WHEN OLD.local_date IS NOT NEW.local_date BEGIN "
    "UPDATE iop_sessions_attendance SET session_date = NEW.local_date "
    "WHERE session_id = NEW.id; END",
    f"CREATE TRIGGER attendance_session_date_insert AFTER INSERT ON iop_sessions_attendance "
    f"BEGIN {_SET_NEW} END",
    f"CREATE TRIGGER attendance_session_date_update AFTER UPDATE OF session_id, session_date "
    f"ON iop_sessions_attendance WHEN NEW.session_date IS NOT {_DATE_OF_NEW} "
    f"BEGIN {_SET_NEW} END",
]
# A one-machine clinic's rows, in one statement.
SQLITE_FILL = ("UPDATE iop_sessions_attendance SET session_date = (SELECT s.local_date FROM "
               "iop_sessions_therapysession s WHERE s.id = iop_sessions_attendance.session_id)")
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS attendance_session_date_insert",
    "DROP TRIGGER IF EXISTS attendance_session_date_update",
    "DROP TRIGGER IF EXISTS attendance_session_date_moved",
]


def _vendor(schema_editor) -> str:
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no attendance session-date triggers for {vendor}")
    return vendor


def triggers_create(apps, schema_editor) -> None:
    if _vendor(schema_editor) == "postgresql":
        schema_editor.execute(PG_TRIGGERS, params=None)
    else:
        for statement in SQLITE_TRIGGERS:
            schema_editor.execute(statement, params=None)


def triggers_drop(apps, schema_editor) -> None:
    statements = [PG_BACKWARD] if _vendor(schema_editor) == "postgresql" else SQLITE_BACKWARD
    for statement in statements:
        schema_editor.execute(statement, params=None)


def rows_fill(apps, schema_editor) -> None:
    """Every attendance row already there takes its session's date, a batch of ids a
    transaction (autocommit: this operation is not atomic)."""
    if _vendor(schema_editor) == "sqlite":
        schema_editor.execute(SQLITE_FILL, params=None)
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM iop_sessions_attendance")
        low, high = cursor.fetchone()
        if low is None:
            return
        for start in range(low, high + 1, FILL_BATCH_ROWS):
            cursor.execute(PG_FILL_BATCH, [start, start + FILL_BATCH_ROWS])
        cursor.execute("VACUUM (ANALYZE) iop_sessions_attendance")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("iop_sessions", "0012_stay_hours"),
    ]

    operations = [
        migrations.AddField(
            model_name="attendance",
            name="session_date",
            field=models.DateField(blank=True, editable=False, help_text="The session's date at its site; kept from the session by the database.", null=True, verbose_name="session's date"),
        ),
        migrations.RunPython(triggers_create, triggers_drop, atomic=True),
        migrations.RunPython(rows_fill, migrations.RunPython.noop, atomic=False),
        migrations.AddIndex(
            model_name="attendance",
            index=models.Index(fields=["participant", "session_date"], include=("session", "status", "minutes_attended"), name="attendance_part_day_idx"),
        ),
    ]
