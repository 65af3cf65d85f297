"""Each follow-up's participant's home site (FollowUp.home_site), kept by the database.

"The follow-ups at these sites" is the person's home site or the session's site (the session's
is kept on the follow-up since 0011). The person's side was read from the participants: Today's
count and the follow-up list's count hashed the ids of every participant whose home is at the
sites (everyone ever admitted there: 3,970 of 7,940 with 26 weeks of history at 2,000), and a
clinician's list looked each person up. Stored on the follow-up, both sides are read with it,
and the counts from an index alone.

The invariant, as 0011's: a follow-up's `home_site_id` is its participant's `home_site_id`, at
the end of every statement, in the writer's transaction, whoever writes (services, bulk
inserts, the benchmark's SQL):
- a follow-up inserted, or its participant or home site written, takes its participant's home
  site; the participant is read FOR SHARE, so a move of that person's home in flight commits
  first and is read (a move after it waits for the follow-up's commit, then sees it);
- a participant whose home site changes (the participant form, the admin) moves their
  follow-ups, open and resolved, with them.

Not atomic, as 0011: the column is added (a moment's exclusive lock), then the triggers in one
transaction, then the follow-ups already there are filled in batches by primary key, each its
own transaction, each row through the new trigger; then VACUUM (ANALYZE) so that index-only
scans find the pages all-visible again. The three indexes on (created_at, id) are built again
to include the home site (the new one before the old one goes, so the lists always have one).
"""
import django.db.models.deletion
from django.db import migrations, models

PG_TRIGGERS = """
CREATE FUNCTION followup_home_site() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.participant_id IS NOT DISTINCT FROM OLD.participant_id
            AND NEW.home_site_id IS NOT DISTINCT FROM OLD.home_site_id THEN
        RETURN NEW;
    END IF;
    SELECT p.home_site_id INTO NEW.home_site_id FROM participants_participant p
    WHERE p.id = NEW.participant_id FOR SHARE;
    RETURN NEW;
END
$$;

CREATE TRIGGER followup_home_site BEFORE INSERT OR UPDATE OF participant_id, home_site_id
    ON iop_sessions_followup FOR EACH ROW EXECUTE FUNCTION followup_home_site();

CREATE FUNCTION followup_home_site_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE iop_sessions_followup SET home_site_id = NEW.home_site_id
    WHERE participant_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER followup_home_site_moved AFTER UPDATE OF home_site_id
    ON participants_participant FOR EACH ROW
    WHEN (OLD.home_site_id IS DISTINCT FROM NEW.home_site_id)
    EXECUTE FUNCTION followup_home_site_moved();
"""
# One batch: the trigger sees the home site change from NULL and reads it again, locked.
PG_FILL_BATCH = """
UPDATE iop_sessions_followup f SET home_site_id = p.home_site_id
FROM participants_participant p
WHERE p.id = f.participant_id AND f.id >= %s AND f.id < %s
    AND f.home_site_id IS DISTINCT FROM p.home_site_id
"""
FILL_BATCH_ROWS = 2000
PG_BACKWARD = """
DROP TRIGGER IF EXISTS followup_home_site ON iop_sessions_followup;
DROP TRIGGER IF EXISTS followup_home_site_moved ON participants_participant;
DROP FUNCTION IF EXISTS followup_home_site();
DROP FUNCTION IF EXISTS followup_home_site_moved();
"""

# The embedded default (`make run`) runs on SQLite: AFTER triggers write the new row, as 0011's.
_HOME_OF_NEW = ("(SELECT p.home_site_id FROM participants_participant p "
                "WHERE p.id = NEW.participant_id)")
_SET_NEW = f"UPDATE iop_sessions_followup SET home_site_id = {_HOME_OF_NEW} WHERE id = NEW.id;"
SQLITE_TRIGGERS = [
    "CREATE TRIGGER followup_home_site_moved AFTER UPDATE OF home_site_id "
    "ON participants_participant WHEN OLD.home_site_id IS NOT NEW.home_site_id BEGIN "
    "UPDATE iop_sessions_followup SET home_site_id = NEW.home_site_id "
    "WHERE participant_id = NEW.id; END",
    f"CREATE TRIGGER followup_home_site_insert AFTER INSERT ON iop_sessions_followup "
    f"BEGIN {_SET_NEW} END",
    f"CREATE TRIGGER followup_home_site_update AFTER UPDATE OF participant_id, home_site_id "
    f"ON iop_sessions_followup WHEN NEW.home_site_id IS NOT {_HOME_OF_NEW} "
    f"BEGIN {_SET_NEW} END",
]
SQLITE_FILL = ("UPDATE iop_sessions_followup SET home_site_id = (SELECT p.home_site_id FROM "
               "participants_participant p WHERE p.id = iop_sessions_followup.participant_id)")
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS followup_home_site_insert",
    "DROP TRIGGER IF EXISTS followup_home_site_update",
    "DROP TRIGGER IF EXISTS followup_home_site_moved",
]


def _vendor(schema_editor) -> str:
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no follow-up home-site triggers for {vendor}")
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
    """Every follow-up already there takes its participant's home site, a batch of ids a
    transaction (autocommit: this operation is not atomic)."""
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


_INCLUDE = ("participant", "session_site", "home_site")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("iop_sessions", "0014_excuse_session_start"),
        ("participants", "0008_enrollment_ends_idx"),
        ("programs", "0007_program_family_contact_policy"),
    ]

    operations = [
        migrations.AddField(
            model_name="followup",
            name="home_site",
            field=models.ForeignKey(blank=True, db_index=False, editable=False, help_text="Where the participant's home is; kept from the participant by the database.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="programs.site", verbose_name="participant's home site"),
        ),
        migrations.RunPython(triggers_create, triggers_drop, atomic=True),
        migrations.RunPython(followups_fill, migrations.RunPython.noop, atomic=False),
        # Each built on the filled rows before the one it replaces goes (each holds writes to
        # follow-ups, not reads, while it builds).
        migrations.AddIndex(
            model_name="followup",
            index=models.Index(condition=models.Q(("status", "open")), fields=["created_at", "id"], include=_INCLUDE, name="followup_open_homes_idx"),
        ),
        migrations.RemoveIndex(model_name="followup", name="followup_open_sites_idx"),
        migrations.AddIndex(
            model_name="followup",
            index=models.Index(condition=models.Q(("status", "resolved")), fields=["created_at", "id"], include=_INCLUDE, name="followup_resolved_homes_idx"),
        ),
        migrations.RemoveIndex(model_name="followup", name="followup_resolved_idx"),
        migrations.AddIndex(
            model_name="followup",
            index=models.Index(fields=["created_at", "id"], include=_INCLUDE, name="followup_created_homes_idx"),
        ),
        migrations.RemoveIndex(model_name="followup", name="followup_created_idx"),
    ]
