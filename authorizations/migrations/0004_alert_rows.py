"""Today's authorization alerts kept as rows (authorizations.AuthorizationAlertRow), by triggers.

`authorizations_alert_rows_refresh(enrollment ids)` derives every alert row of those enrollments
again from what the alert rule reads (selectors._alert_kinds_sql, `missing_authorizations`):
their approved or expired authorizations with the stored usage, whether another approved or
requested one of the same code ends later (superseded), the program's alert settings, the
enrollment's site, and, for a payer that requires an authorization, whether one is recorded.
The rule's comparisons with today's date become each row's `shown_from` / `shown_until`:
  expired      not superseded, shown from the day after the end;
  over units   shown until the end unless superseded (then always);
  after end    not superseded, shown until the end;
  low units    units left at or under the program's threshold, shown until the end;
  review due   shown from the review date less the program's days, until the end;
  missing      always.
Statement triggers on each table the rule reads call it for the enrollments a statement
touched, in the same transaction; an update calls it only when a column the rule reads changed
(the usage refresh beat rewrites every usage row every few minutes, mostly unchanged). One
enrollment's rows are rewritten under a transaction-level advisory lock of that enrollment, in
id order, so two writers of one enrollment take turns (each DELETE then sees the other's rows).
The function runs without JIT: a plan over an array of ids of unknown length is costed above
jit_above_cost, and compiling it took ~2 s of a 2,000-enrollment refresh that runs in ~50 ms.
PostgreSQL only: on SQLite the table stays empty and Today works the rule out as before.
"""
import django.db.models.deletion
from django.db import migrations, models

ACTIVE = "'active'"
USAGE = "('approved', 'expired')"
MISSING = "('approved', 'requested')"

REFRESH = f"""
CREATE FUNCTION authorizations_alert_rows_refresh(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(1095521362, (x.id % 2147483647)::int)
    FROM (SELECT DISTINCT unnest(ids) AS id ORDER BY 1) x;
    DELETE FROM authorizations_alert_row WHERE enrollment_id = ANY(ids);
    WITH f AS (
        SELECT au.id, au.enrollment_id, au.payer_id, au.end_date, au.next_review_date,
               au.units_authorized, e.participant_id, t.site_id,
               pr.authorization_alert_units AS alert_units,
               pr.authorization_review_days AS review_days,
               COALESCE(u.used, 0) AS used, u.over_from, u.after_end_from,
               EXISTS (SELECT 1 FROM authorizations_authorization o
                       WHERE o.enrollment_id = au.enrollment_id AND o.id <> au.id
                         AND o.service_code = au.service_code AND o.status IN {MISSING}
                         AND o.end_date > au.end_date) AS superseded
        FROM authorizations_authorization au
        JOIN participants_enrollment e ON e.id = au.enrollment_id
        JOIN programs_track t ON t.id = e.track_id
        JOIN programs_program pr ON pr.id = t.program_id
        LEFT JOIN authorizations_authorizationusage u ON u.authorization_id = au.id
        WHERE au.enrollment_id = ANY(ids) AND e.status = {ACTIVE} AND au.status IN {USAGE}
    )
    INSERT INTO authorizations_alert_row
        (site_id, enrollment_id, participant_id, authorization_id, payer_id, kind, on_date,
         shown_from, shown_until)
    SELECT site_id, enrollment_id, participant_id, id, payer_id, 1, end_date, end_date + 1,
           NULL
    FROM f WHERE NOT superseded
    UNION ALL
    SELECT site_id, enrollment_id, participant_id, id, payer_id, 2, over_from, NULL,
           CASE WHEN superseded THEN NULL ELSE end_date END
    FROM f WHERE over_from IS NOT NULL
    UNION ALL
    SELECT site_id, enrollment_id, participant_id, id, payer_id, 3, after_end_from, NULL,
           end_date
    FROM f WHERE after_end_from IS NOT NULL AND NOT superseded
    UNION ALL
    SELECT site_id, enrollment_id, participant_id, id, payer_id, 4, end_date, NULL, end_date
    FROM f WHERE units_authorized - used <= alert_units
    UNION ALL
    SELECT site_id, enrollment_id, participant_id, id, payer_id, 5, next_review_date,
           next_review_date - review_days, end_date
    FROM f WHERE next_review_date IS NOT NULL
    UNION ALL
    SELECT t.site_id, e.id, e.participant_id, NULL, c.payer_id, 6, e.admission_date, NULL,
           NULL
    FROM authorizations_coverage c
    JOIN authorizations_payer py ON py.id = c.payer_id AND py.requires_authorization
    JOIN participants_enrollment e ON e.id = c.enrollment_id
    JOIN programs_track t ON t.id = e.track_id
    WHERE c.enrollment_id = ANY(ids) AND e.status = {ACTIVE}
      AND NOT EXISTS (SELECT 1 FROM authorizations_authorization au
                      WHERE au.enrollment_id = e.id AND au.payer_id = c.payer_id
                        AND au.status IN {MISSING});
END
$$;
"""

# Per table: the enrollment ids a statement's rows touch (`{rows}`: new_rows or old_rows), from
# the columns the alert rule reads (`{rows}` then being the rows whose columns moved), and,
# for an update, which those columns are (with the key). An update's moved rows are the new
# rows less the old ones and the old less the new, by EXCEPT (a hashed set operation): a join
# of the two transition tables was planned once a connection for the first statement's row
# count, and for beat's refresh of every usage row (1,800, unchanged) after a one-row
# statement it was a nested loop of 1,800 x 1,800, 170 ms instead of 6.
TABLES = {
    "authorizations_authorization": (
        "SELECT r.enrollment_id FROM {rows} r",
        "id, enrollment_id, payer_id, status, service_code, units_authorized, end_date, "
        "next_review_date",
    ),
    "authorizations_authorizationusage": (
        "SELECT au.enrollment_id FROM {rows} r "
        "JOIN authorizations_authorization au ON au.id = r.authorization_id",
        "authorization_id, used, over_from, after_end_from",
    ),
    "authorizations_coverage": (
        "SELECT r.enrollment_id FROM {rows} r",
        "id, enrollment_id, payer_id",
    ),
    "authorizations_payer": (
        "SELECT c.enrollment_id FROM {rows} r "
        "JOIN authorizations_coverage c ON c.payer_id = r.id",
        "id, requires_authorization",
    ),
    "participants_enrollment": (
        "SELECT r.id FROM {rows} r",
        "id, status, track_id, participant_id, admission_date",
    ),
    "programs_track": (
        "SELECT e.id FROM {rows} r JOIN participants_enrollment e ON e.track_id = r.id",
        "id, site_id, program_id",
    ),
    "programs_program": (
        "SELECT e.id FROM {rows} r JOIN programs_track t ON t.program_id = r.id "
        "JOIN participants_enrollment e ON e.track_id = t.id",
        "id, authorization_alert_units, authorization_review_days",
    ),
}
# Rows of these are inserted with nothing to alert about yet (no coverage, enrollment or
# authorization names them) and deleted only once nothing names them: updates only.
UPDATES_ONLY = {"authorizations_payer", "programs_track", "programs_program"}


def _call(ids_sql: str) -> str:
    return (f"PERFORM authorizations_alert_rows_refresh(ARRAY("
            f"SELECT DISTINCT x.id FROM ({ids_sql}) x (id) WHERE x.id IS NOT NULL)::bigint[]);")


def _moved(columns: str) -> str:
    return (f"((SELECT {columns} FROM new_rows EXCEPT SELECT {columns} FROM old_rows) "
            f"UNION ALL (SELECT {columns} FROM old_rows EXCEPT SELECT {columns} FROM new_rows))")


def _events(table: str) -> list[tuple[str, str, str]]:
    """(event, REFERENCING clause, enrollment ids) of the table's triggers."""
    ids_of, columns = TABLES[table]
    events = [("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
               ids_of.format(rows=_moved(columns)))]
    if table not in UPDATES_ONLY:
        events += [("insert", "NEW TABLE AS new_rows", ids_of.format(rows="new_rows")),
                   ("delete", "OLD TABLE AS old_rows", ids_of.format(rows="old_rows"))]
    return events


def _triggers(table: str) -> str:
    sql = ""
    for event, referencing, ids_sql in _events(table):
        name = f"{table}_alerts_{event}"
        sql += f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_call(ids_sql)}
    RETURN NULL;
END
$$;
CREATE TRIGGER {name} AFTER {event.upper()} ON {table}
    REFERENCING {referencing}
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();
"""
    return sql


# Each refresh deletes and inserts an enrollment's rows, and a page holding a changed row loses
# its all-visible bit: Today's index-only read then fetches those rows from the table (1.4 ms
# instead of 0.9 at 2,000). The table is small (~5,000 rows, ~60 pages), so autovacuum may visit
# it after a few hundred changed rows instead of a fifth of the table.
VACUUM_OFTEN = """
ALTER TABLE authorizations_alert_row SET (
    autovacuum_vacuum_threshold = 200, autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 200, autovacuum_vacuum_insert_scale_factor = 0);
"""

FORWARD = (REFRESH + VACUUM_OFTEN + "".join(_triggers(table) for table in TABLES)
           + "SELECT authorizations_alert_rows_refresh(ARRAY(SELECT id FROM "
             "participants_enrollment WHERE status = 'active' ORDER BY id));\n"
           + "ANALYZE authorizations_alert_row;\n")


def _backward() -> str:
    sql = ""
    for table in TABLES:
        for event, _referencing, _ids in _events(table):
            name = f"{table}_alerts_{event}"
            sql += f"DROP TRIGGER IF EXISTS {name} ON {table};\nDROP FUNCTION IF EXISTS {name}();\n"
    return sql + "DROP FUNCTION IF EXISTS authorizations_alert_rows_refresh(bigint[]);\n"


BACKWARD = _backward()


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("authorizations", "0003_override_resume"),
        ("participants", "0006_participant_search_trigram_idx"),
        ("programs", "0007_program_family_contact_policy"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuthorizationAlertRow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.PositiveSmallIntegerField()),
                ("on_date", models.DateField(null=True)),
                ("shown_from", models.DateField(null=True)),
                ("shown_until", models.DateField(null=True)),
                ("authorization", models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="authorizations.authorization")),
                ("enrollment", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="participants.enrollment")),
                ("participant", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="participants.participant")),
                ("payer", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="authorizations.payer")),
                ("site", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="programs.site")),
            ],
            options={
                "verbose_name": "authorization alert",
                "verbose_name_plural": "authorization alerts",
                "db_table": "authorizations_alert_row",
                "indexes": [models.Index(fields=["site", "on_date"], include=("shown_from", "shown_until", "kind", "authorization", "participant", "payer"), name="authorizations_alert_site"), models.Index(fields=["enrollment"], name="authorizations_alert_enrol")],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
