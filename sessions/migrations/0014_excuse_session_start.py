"""Each excused-absence request's session's site and start (ExcusedAbsenceRequest.session_site,
.session_starts_at), kept by the database.

Today lists the requests waiting for review at the user's sites, the soonest session first, 50
at most. Read through joins, PostgreSQL took every pending request, looked up its attendance,
session and participant (~8.6 buffers each) to filter and sort them, then kept 50: with 261
pending requests, 2,250 of Today's ~5,000 buffers, and growing with every request nobody answers.
Kept on the request, a partial index of the pending ones gives them in the session's order, the
site checked from the index, and the read stops at the 50 shown.

The invariant: a request's `session_site_id` and `session_starts_at` are its attendance's
session's `site_id` and `starts_at`, at the end of every statement, in the writer's
transaction, whoever writes (services, bulk inserts, the benchmark's SQL):
- a request inserted, or its attendance or either kept column written, takes its session's
  site and start; the attendance is read FOR KEY SHARE (its session is in a unique key, so a
  move of the row to another session in flight commits first and is read, and marking it is
  not held up) and the session FOR SHARE (a move of its time or site in flight commits first);
- an attendance row moved to another session moves its requests with it;
- a session whose site or start changes (moved, rescheduled) moves its requests with it,
  whoever set them;
- a session or attendance row deleted deletes its requests (CASCADE).

Not atomic, as 0011 and 0013: the columns are added (a moment's exclusive lock), then the
triggers in one transaction, then the requests already there are filled in batches by primary
key, each its own transaction (each row goes through the new trigger, so a request written or a
session moved meanwhile is right either way), then VACUUM (ANALYZE), then the index is built on
the filled rows (holding writes to requests, not reads, while it builds).
"""
import django.db.models.deletion
from django.db import migrations, models

PG_TRIGGERS = """
CREATE FUNCTION excuse_session_start() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.attendance_id IS NOT DISTINCT FROM OLD.attendance_id
            AND NEW.session_site_id IS NOT DISTINCT FROM OLD.session_site_id
            AND NEW.session_starts_at IS NOT DISTINCT FROM OLD.session_starts_at THEN
        RETURN NEW;
    END IF;
    SELECT s.site_id, s.starts_at INTO NEW.session_site_id, NEW.session_starts_at
    FROM iop_sessions_attendance a JOIN iop_sessions_therapysession s ON s.id = a.session_id
    WHERE a.id = NEW.attendance_id FOR KEY SHARE OF a FOR SHARE OF s;
    RETURN NEW;
END
$$;

CREATE TRIGGER excuse_session_start
    BEFORE INSERT OR UPDATE OF attendance_id, session_site_id, session_starts_at
    ON iop_sessions_excusedabsencerequest FOR EACH ROW EXECUTE FUNCTION excuse_session_start();

CREATE FUNCTION excuse_session_start_row_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE iop_sessions_excusedabsencerequest e
    SET session_site_id = s.site_id, session_starts_at = s.starts_at
    FROM iop_sessions_therapysession s
    WHERE s.id = NEW.session_id AND e.attendance_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER excuse_session_start_row_moved AFTER UPDATE OF session_id
    ON iop_sessions_attendance FOR EACH ROW
    WHEN (OLD.session_id IS DISTINCT FROM NEW.session_id)
    EXECUTE FUNCTION excuse_session_start_row_moved();

CREATE FUNCTION excuse_session_start_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE iop_sessions_excusedabsencerequest e
    SET session_site_id = NEW.site_id, session_starts_at = NEW.starts_at
    FROM iop_sessions_attendance a
    WHERE a.session_id = NEW.id AND e.attendance_id = a.id
        AND (e.session_site_id IS DISTINCT FROM NEW.site_id
             OR e.session_starts_at IS DISTINCT FROM NEW.starts_at);
    RETURN NULL;
END
$$;

CREATE TRIGGER excuse_session_start_moved AFTER UPDATE
    ON iop_sessions_therapysession FOR EACH ROW
    WHEN (OLD.site_id IS DISTINCT FROM NEW.site_id OR OLD.starts_at IS DISTINCT FROM NEW.starts_at)
    EXECUTE FUNCTION excuse_session_start_moved();
"""
# One batch: the trigger sees the columns change from NULL and reads them again, locked.
PG_FILL_BATCH = """
UPDATE iop_sessions_excusedabsencerequest e
SET session_site_id = s.site_id, session_starts_at = s.starts_at
FROM iop_sessions_attendance a JOIN iop_sessions_therapysession s ON s.id = a.session_id
WHERE a.id = e.attendance_id AND e.id >= %s AND e.id < %s
    AND (e.session_site_id IS DISTINCT FROM s.site_id
         OR e.session_starts_at IS DISTINCT FROM s.starts_at)
"""
FILL_BATCH_ROWS = 2000
PG_BACKWARD = """
DROP TRIGGER IF EXISTS excuse_session_start ON iop_sessions_excusedabsencerequest;
DROP TRIGGER IF EXISTS excuse_session_start_row_moved ON iop_sessions_attendance;
DROP TRIGGER IF EXISTS excuse_session_start_moved ON iop_sessions_therapysession;
DROP FUNCTION IF EXISTS excuse_session_start();
DROP FUNCTION IF EXISTS excuse_session_start_row_moved();
DROP FUNCTION IF EXISTS excuse_session_start_moved();
"""

# The embedded default (`make run`) runs on SQLite: a BEFORE trigger cannot set the new row,
# so AFTER triggers write it (SQLite runs them within the statement; the WHEN of the update
# trigger stops it once the columns are right).
_OF_NEW = ("(SELECT s.{column} FROM iop_sessions_attendance a JOIN iop_sessions_therapysession s"
           " ON s.id = a.session_id WHERE a.id = NEW.attendance_id)")
_SITE_OF_NEW = _OF_NEW.format(column="site_id")
_START_OF_NEW = _OF_NEW.format(column="starts_at")
_SET_NEW = (f"UPDATE iop_sessions_excusedabsencerequest SET session_site_id = {_SITE_OF_NEW}, "
            f"session_starts_at = {_START_OF_NEW} WHERE id = NEW.id;")
SQLITE_TRIGGERS = [
    "CREATE TRIGGER excuse_session_start_moved AFTER UPDATE OF site_id, starts_at "
    "ON iop_sessions_therapysession "
    "WHEN OLD.site_id IS NOT NEW.site_id OR OLD.starts_at IS NOT NEW.starts_at BEGIN "
    "UPDATE iop_sessions_excusedabsencerequest SET session_site_id = NEW.site_id, "
    "session_starts_at = NEW.starts_at WHERE attendance_id IN "
    "(SELECT id FROM iop_sessions_attendance WHERE session_id = NEW.id); END",
    "CREATE TRIGGER excuse_session_start_row_moved AFTER UPDATE OF session_id "
    "ON iop_sessions_attendance WHEN OLD.session_id IS NOT NEW.session_id BEGIN "
    "UPDATE iop_sessions_excusedabsencerequest SET "
    "session_site_id = (SELECT site_id FROM iop_sessions_therapysession WHERE id = NEW.session_id), "
    "session_starts_at = (SELECT starts_at FROM iop_sessions_therapysession "
    "WHERE id = NEW.session_id) WHERE attendance_id = NEW.id; END",
    f"CREATE TRIGGER excuse_session_start_insert AFTER INSERT "
    f"ON iop_sessions_excusedabsencerequest BEGIN {_SET_NEW} END",
    f"CREATE TRIGGER excuse_session_start_update AFTER UPDATE OF attendance_id, session_site_id, "
    f"session_starts_at ON iop_sessions_excusedabsencerequest "
    f"WHEN NEW.session_site_id IS NOT {_SITE_OF_NEW} "
    f"OR NEW.session_starts_at IS NOT {_START_OF_NEW} BEGIN {_SET_NEW} END",
]
# A one-machine clinic's requests, in one statement.
SQLITE_FILL = (f"UPDATE iop_sessions_excusedabsencerequest SET "
               f"session_site_id = {_SITE_OF_NEW.replace('NEW.', 'iop_sessions_excusedabsencerequest.')}, "
               f"session_starts_at = {_START_OF_NEW.replace('NEW.', 'iop_sessions_excusedabsencerequest.')}")
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS excuse_session_start_insert",
    "DROP TRIGGER IF EXISTS excuse_session_start_update",
    "DROP TRIGGER IF EXISTS excuse_session_start_row_moved",
    "DROP TRIGGER IF EXISTS excuse_session_start_moved",
]


def _vendor(schema_editor) -> str:
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no excuse session-start triggers for {vendor}")
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


def requests_fill(apps, schema_editor) -> None:
    """Every request already there takes its session's site and start, a batch of ids a
    transaction (autocommit: this operation is not atomic)."""
    if _vendor(schema_editor) == "sqlite":
        schema_editor.execute(SQLITE_FILL, params=None)
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM iop_sessions_excusedabsencerequest")
        low, high = cursor.fetchone()
        if low is None:
            return
        for start in range(low, high + 1, FILL_BATCH_ROWS):
            cursor.execute(PG_FILL_BATCH, [start, start + FILL_BATCH_ROWS])
        cursor.execute("VACUUM (ANALYZE) iop_sessions_excusedabsencerequest")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("iop_sessions", "0013_attendance_session_date"),
        ("programs", "0007_program_family_contact_policy"),
    ]

    operations = [
        migrations.AddField(
            model_name="excusedabsencerequest",
            name="session_site",
            field=models.ForeignKey(blank=True, db_index=False, editable=False, help_text="Where the session is held; kept from the session by the database.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="programs.site", verbose_name="session's site"),
        ),
        migrations.AddField(
            model_name="excusedabsencerequest",
            name="session_starts_at",
            field=models.DateTimeField(blank=True, editable=False, help_text="When the session starts; kept from the session by the database.", null=True, verbose_name="session's start"),
        ),
        migrations.RunPython(triggers_create, triggers_drop, atomic=True),
        migrations.RunPython(requests_fill, migrations.RunPython.noop, atomic=False),
        migrations.AddIndex(
            model_name="excusedabsencerequest",
            index=models.Index(condition=models.Q(("status", "pending")), fields=["session_starts_at", "id"], include=("session_site",), name="excuse_pending_start_idx"),
        ),
    ]
