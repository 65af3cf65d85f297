"""Each follow-up's session's site (FollowUp.session_site), kept by the database.

"The follow-ups at these sites" is the person's home site or the session's site. Read through a
join, the session's side held every session the clinic ever held, so everyone's resolved and
whole follow-up lists grew with the clinic's history; stored on the follow-up, it is read with
the follow-up.

The invariant: a follow-up's `session_site_id` is its session's `site_id` (NULL without a
session), at the end of every statement, in the writer's transaction, whoever writes (services,
bulk inserts, the benchmark's SQL):
- a follow-up inserted, or its session or session site written, takes its session's site; the
  session is read FOR SHARE, so a move of that session's site in flight commits first and is
  read (a move after it waits for the follow-up's commit, then sees it);
- a session whose site changes moves its follow-ups with it (no page or service moves one today:
  its site is fixed in the admin and by `session_change`; the trigger keeps it right anyway);
- a session deleted: Django's SET_NULL empties `session_id`, and with it the site.

Not atomic, so that follow-ups are never locked for long (Today reads them on every request):
the column is added (a moment's exclusive lock), then both triggers in one transaction, then the
follow-ups already there are filled in batches by primary key, each its own transaction (an
update of 17,733 rows in one transaction took about a second, holding them all): each row goes
through the new trigger, so a follow-up written meanwhile, or a session moved meanwhile, is
right either way. Then VACUUM (ANALYZE): the fill rewrote every row, and index-only scans need
the pages all-visible again. The column's foreign key comes with it (no row to check then);
each filled row is checked as it is filled.
"""
import django.db.models.deletion
from django.db import migrations, models

PG_TRIGGERS = """
CREATE FUNCTION followup_session_site() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.session_id IS NOT DISTINCT FROM OLD.session_id
            AND NEW.session_site_id IS NOT DISTINCT FROM OLD.session_site_id THEN
        RETURN NEW;
    END IF;
    IF NEW.session_id IS NULL THEN
        NEW.session_site_id := NULL;
    ELSE
        SELECT s.site_id INTO NEW.session_site_id FROM iop_sessions_therapysession s
        WHERE s.id = NEW.session_id FOR SHARE;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER followup_session_site BEFORE INSERT OR UPDATE OF session_id, session_site_id
    ON iop_sessions_followup FOR EACH ROW EXECUTE FUNCTION followup_session_site();

CREATE FUNCTION followup_session_site_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE iop_sessions_followup SET session_site_id = NEW.site_id WHERE session_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER followup_session_site_moved AFTER UPDATE OF site_id
    ON iop_sessions_therapysession FOR EACH ROW
    WHEN (OLD.site_id IS DISTINCT FROM NEW.site_id)
    EXECUTE FUNCTION followup_session_site_moved();
"""
# One batch: the trigger sees the site change from NULL and reads it again, locked.
PG_FILL_BATCH = """
UPDATE iop_sessions_followup f SET session_site_id = s.site_id
FROM iop_sessions_therapysession s
WHERE s.id = f.session_id AND f.id >= %s AND f.id < %s
    AND f.session_site_id IS DISTINCT FROM s.site_id
"""
FILL_BATCH_ROWS = 2000
PG_BACKWARD = """
DROP TRIGGER IF EXISTS followup_session_site ON iop_sessions_followup;
DROP TRIGGER IF EXISTS followup_session_site_moved ON iop_sessions_therapysession;
DROP FUNCTION IF EXISTS followup_session_site();
DROP FUNCTION IF EXISTS followup_session_site_moved();
"""

# The embedded default (`make run`) runs on SQLite: a BEFORE trigger cannot set the new row,
# so AFTER triggers write it (SQLite runs them within the statement, and does not recurse:
# the WHEN of the update trigger stops it anyway once the site is right).
_SITE_OF_NEW = "(SELECT s.site_id FROM iop_sessions_therapysession s WHERE s.id = NEW.session_id)"
_SET_NEW = (f"UPDATE iop_sessions_followup SET session_site_id = {_SITE_OF_NEW} "
            "WHERE id = NEW.id;")
SQLITE_TRIGGERS = [
    "CREATE TRIGGER followup_session_site_moved AFTER UPDATE OF site_id "
    "ON iop_sessions_therapysession WHEN OLD.site_id IS NOT NEW.site_id BEGIN "
    "UPDATE iop_sessions_followup SET session_site_id = NEW.site_id "
    "WHERE session_id = NEW.id; END",
    f"CREATE TRIGGER followup_session_site_insert AFTER INSERT ON iop_sessions_followup "
    f"BEGIN {_SET_NEW} END",
    f"CREATE TRIGGER followup_session_site_update AFTER UPDATE OF session_id, session_site_id "
    f"ON iop_sessions_followup WHEN NEW.session_site_id IS NOT {_SITE_OF_NEW} "
    f"BEGIN {_SET_NEW} END",
]
# A one-machine clinic's follow-ups, in one statement.
SQLITE_FILL = ("UPDATE iop_sessions_followup SET session_site_id = (SELECT s.site_id FROM "
               "iop_sessions_therapysession s WHERE s.id = iop_sessions_followup.session_id)")
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS followup_session_site_insert",
    "DROP TRIGGER IF EXISTS followup_session_site_update",
    "DROP TRIGGER IF EXISTS followup_session_site_moved",
]


def _vendor(schema_editor) -> str:
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no follow-up session-site triggers for {vendor}")
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


def followups_fill(apps, schema_editor) -> None:
    """Every follow-up already there takes its session's site, a batch of ids a transaction
    (autocommit: this operation is not atomic)."""
    if _vendor(schema_editor) == "sqlite":
        schema_editor.execute(SQLITE_FILL, params=None)
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM iop_sessions_followup")
        low, high = cursor.fetchone()
        if low is None:
            return
        for start in range(low, high + 1, FILL_BATCH_ROWS):
            cursor.execute(PG_FILL_BATCH, [start, start + FILL_BATCH_ROWS])
        cursor.execute("VACUUM (ANALYZE) iop_sessions_followup")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('iop_sessions', '0010_followup_open_idx_include'),
        ('programs', '0007_program_family_contact_policy'),
    ]

    operations = [
        migrations.AddField(
            model_name='followup',
            name='session_site',
            field=models.ForeignKey(blank=True, db_index=False, editable=False, help_text='Where the session is held; kept from the session by the database.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='programs.site', verbose_name="session's site"),
        ),
        migrations.RunPython(triggers_create, triggers_drop, atomic=True),
        migrations.RunPython(followups_fill, migrations.RunPython.noop, atomic=False),
        # Built on the filled rows (each holds writes to follow-ups, not reads, while it
        # builds: milliseconds at 2,000); the new open index before the old one goes, so
        # Today's count always has one.
        migrations.AddIndex(
            model_name='followup',
            index=models.Index(condition=models.Q(('status', 'open')), fields=['created_at', 'id'], include=('participant', 'session_site'), name='followup_open_sites_idx'),
        ),
        migrations.RemoveIndex(
            model_name='followup',
            name='followup_open_idx',
        ),
        migrations.AddIndex(
            model_name='followup',
            index=models.Index(condition=models.Q(('status', 'resolved')), fields=['created_at', 'id'], include=('participant', 'session_site'), name='followup_resolved_idx'),
        ),
        migrations.AddIndex(
            model_name='followup',
            index=models.Index(fields=['created_at', 'id'], include=('participant', 'session_site'), name='followup_created_idx'),
        ),
    ]
