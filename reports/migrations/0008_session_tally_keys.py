"""Each session's tally (reports.SessionTally) keeps the session's keys the attendance report
groups and filters by: its site, local date, status, track, kind, ISO weekday, part of the day
in its site's zone (0 morning, 1 from noon, 2 from 5 pm) and length in microseconds.

The report's cells read the held sessions of a range at the asker's sites. Through the tally
they read every tally the clinic ever had (3,600 at 2,000 participants, 11,400 with 26 weeks of
history) and joined it to the range's sessions and their sites; with the keys on the tally, an
index on (site_id, local_date) finds the range's tallies alone.

The invariant: a tally's keys are its session's (and its site's zone's part of the day), at the
end of every statement, in the writer's transaction, whoever writes:
- a tally inserted (the attendance triggers of 0002 insert a session's tally with its first row,
  as an INSERT ... ON CONFLICT DO UPDATE that every attendance statement runs), or any of its
  keys written, takes them from its session and site, read FOR SHARE (a reschedule or a zone
  change in flight commits first and is read; one after waits for the tally's commit);
- a session whose start, end, site, date, status, track or kind changes rewrites its tally;
- a site whose time zone changes rewrites its sessions' tallies (all of its history).
A deleted session's tally (zeros) keeps NULL keys, which no report reads.

Not atomic, as iop_sessions 0013: the columns are added (a moment's exclusive lock each), then
the triggers in one transaction, then the tallies already there are filled in batches of
session ids, each its own transaction (each row goes through the new trigger, so a tally written
or a session moved meanwhile is right either way), then VACUUM (ANALYZE), then the index is
built on the filled rows (holding writes to the tallies, so attendance writes, not reads, while
it builds: a few milliseconds).
"""
import django.db.models.deletion
from django.db import migrations, models

KEYS = "site_id, local_date, status, track_id, kind, weekday, part, length"

PG_TRIGGERS = f"""
CREATE FUNCTION reports_session_tally_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.site_id, s.local_date, s.status, s.track_id, s.kind,
           ((s.local_date - DATE '2001-01-01') % 7 + 7) % 7 + 1,
           width_bucket(date_part('hour', s.starts_at AT TIME ZONE site.time_zone),
                        ARRAY[12, 17]::float8[]),
           (date_part('epoch', s.ends_at - s.starts_at) * 1000000)::bigint
    INTO NEW.site_id, NEW.local_date, NEW.status, NEW.track_id, NEW.kind, NEW.weekday,
         NEW.part, NEW.length
    FROM iop_sessions_therapysession s JOIN programs_site site ON site.id = s.site_id
    WHERE s.id = NEW.session_id FOR SHARE OF s, site;
    RETURN NEW;
END
$$;

CREATE TRIGGER reports_session_tally_keys
    BEFORE INSERT OR UPDATE OF session_id, {KEYS} ON reports_session_tally
    FOR EACH ROW EXECUTE FUNCTION reports_session_tally_keys();

-- Writing a tally's session_id (to itself) makes reports_session_tally_keys read its keys again.
CREATE FUNCTION reports_session_tally_session_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reports_session_tally SET session_id = session_id WHERE session_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_session_tally_session_moved AFTER UPDATE
    ON iop_sessions_therapysession FOR EACH ROW
    WHEN (OLD.starts_at IS DISTINCT FROM NEW.starts_at OR OLD.ends_at IS DISTINCT FROM NEW.ends_at
          OR OLD.site_id IS DISTINCT FROM NEW.site_id
          OR OLD.local_date IS DISTINCT FROM NEW.local_date
          OR OLD.status IS DISTINCT FROM NEW.status OR OLD.track_id IS DISTINCT FROM NEW.track_id
          OR OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION reports_session_tally_session_moved();

CREATE FUNCTION reports_session_tally_zone_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reports_session_tally t SET session_id = t.session_id
    FROM iop_sessions_therapysession s WHERE s.site_id = NEW.id AND t.session_id = s.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_session_tally_zone_moved AFTER UPDATE OF time_zone
    ON programs_site FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION reports_session_tally_zone_moved();
"""
# One batch: the keys trigger reads every tally's keys again, locked.
PG_FILL_BATCH = ("UPDATE reports_session_tally SET session_id = session_id "
                 "WHERE session_id >= %s AND session_id < %s")
FILL_BATCH_ROWS = 5000
PG_BACKWARD = """
DROP TRIGGER IF EXISTS reports_session_tally_keys ON reports_session_tally;
DROP TRIGGER IF EXISTS reports_session_tally_session_moved ON iop_sessions_therapysession;
DROP TRIGGER IF EXISTS reports_session_tally_zone_moved ON programs_site;
DROP FUNCTION IF EXISTS reports_session_tally_keys();
DROP FUNCTION IF EXISTS reports_session_tally_session_moved();
DROP FUNCTION IF EXISTS reports_session_tally_zone_moved();
"""

# The embedded default (`make run`) runs on SQLite: a BEFORE trigger cannot set the new row, so
# AFTER triggers write it (SQLite runs them within the statement). The hour in the site's zone
# and the length by Django's own functions, which every Django connection to SQLite registers
# (as the report's SQLite statements use them).
_HOUR = "django_datetime_extract('hour', s.starts_at, site.time_zone, 'UTC')"
_SQLITE_SET_KEYS = (
    f"UPDATE reports_session_tally SET ({KEYS}) = (SELECT s.site_id, s.local_date, s.status, "
    "s.track_id, s.kind, (CAST(strftime('%w', s.local_date) AS INTEGER) + 6) % 7 + 1, "
    f"CASE WHEN {_HOUR} >= 17 THEN 2 WHEN {_HOUR} >= 12 THEN 1 ELSE 0 END, "
    "django_timestamp_diff(s.ends_at, s.starts_at) "
    "FROM iop_sessions_therapysession s JOIN programs_site site ON site.id = s.site_id "
    "WHERE s.id = reports_session_tally.session_id)")
SQLITE_TRIGGERS = [
    "CREATE TRIGGER reports_session_tally_keys AFTER INSERT ON reports_session_tally "
    f"BEGIN {_SQLITE_SET_KEYS} WHERE session_id = NEW.session_id; END",
    "CREATE TRIGGER reports_session_tally_session_moved AFTER UPDATE OF starts_at, ends_at, "
    "site_id, local_date, status, track_id, kind ON iop_sessions_therapysession "
    f"BEGIN {_SQLITE_SET_KEYS} WHERE session_id = NEW.id; END",
    "CREATE TRIGGER reports_session_tally_zone_moved AFTER UPDATE OF time_zone ON programs_site "
    f"WHEN OLD.time_zone IS NOT NEW.time_zone BEGIN {_SQLITE_SET_KEYS} WHERE session_id IN "
    "(SELECT id FROM iop_sessions_therapysession WHERE site_id = NEW.id); END",
]
# A one-machine clinic's tallies, in one statement.
SQLITE_FILL = _SQLITE_SET_KEYS
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS reports_session_tally_{name}"
                   for name in ("keys", "session_moved", "zone_moved")]


def _vendor(schema_editor) -> str:
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no session tally key triggers for {vendor}")
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


def tallies_fill(apps, schema_editor) -> None:
    """Every tally already there takes its session's keys, a batch of session ids a
    transaction (autocommit: this operation is not atomic)."""
    if _vendor(schema_editor) == "sqlite":
        schema_editor.execute(SQLITE_FILL, params=None)
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT MIN(session_id), MAX(session_id) FROM reports_session_tally")
        low, high = cursor.fetchone()
        if low is None:
            return
        for start in range(low, high + 1, FILL_BATCH_ROWS):
            cursor.execute(PG_FILL_BATCH, [start, start + FILL_BATCH_ROWS])
        cursor.execute("VACUUM (ANALYZE) reports_session_tally")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("iop_sessions", "0014_excuse_session_start"),
        ("programs", "0007_program_family_contact_policy"),
        ("reports", "0007_billing_one_row_plans"),
    ]

    operations = [
        migrations.AddField(
            model_name="sessiontally",
            name="kind",
            field=models.CharField(editable=False, max_length=12, null=True, verbose_name="kind"),
        ),
        migrations.AddField(
            model_name="sessiontally",
            name="length",
            field=models.BigIntegerField(editable=False, null=True, verbose_name="length (microseconds)"),
        ),
        migrations.AddField(
            model_name="sessiontally",
            name="local_date",
            field=models.DateField(editable=False, null=True, verbose_name="local date"),
        ),
        migrations.AddField(
            model_name="sessiontally",
            name="part",
            field=models.SmallIntegerField(editable=False, help_text="0 morning, 1 afternoon (noon on), 2 evening (5 pm on), at the site.", null=True, verbose_name="part of the day"),
        ),
        migrations.AddField(
            model_name="sessiontally",
            name="site",
            field=models.ForeignKey(db_constraint=False, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="programs.site", verbose_name="site"),
        ),
        migrations.AddField(
            model_name="sessiontally",
            name="status",
            field=models.CharField(editable=False, max_length=10, null=True, verbose_name="session status"),
        ),
        migrations.AddField(
            model_name="sessiontally",
            name="track",
            field=models.ForeignKey(db_constraint=False, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="programs.track", verbose_name="track"),
        ),
        migrations.AddField(
            model_name="sessiontally",
            name="weekday",
            field=models.SmallIntegerField(editable=False, help_text="1 Monday to 7 Sunday.", null=True, verbose_name="ISO weekday"),
        ),
        migrations.RunPython(triggers_create, triggers_drop, atomic=True),
        migrations.RunPython(tallies_fill, migrations.RunPython.noop, atomic=False),
        migrations.AddIndex(
            model_name="sessiontally",
            index=models.Index(fields=["site", "local_date"], name="reports_tally_site_day_idx"),
        ),
    ]
