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
PostgreSQL only: on SQLite the table stays empty and Today works the rule out as before.
"""
import django.db.models.deletion
from django.db import migrations, models

ACTIVE = "'active'"
USAGE = "('approved', 'expired')"
MISSING = "('approved', 'requested')"

REFRESH = f"""
CREATE FUNCTION authorizations_alert_rows_refresh(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
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

# Per table: the enrollment ids a statement's rows (`{rows}`: new_rows or old_rows) touch, and
# for an update, what must differ between old (o) and new (n) rows for the alerts to move.
TABLES = {
    "authorizations_authorization": (
        "SELECT enrollment_id FROM {rows}",
        "SELECT n.enrollment_id FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE (n.enrollment_id, n.payer_id, n.status, n.service_code, n.units_authorized, "
        "n.end_date, n.next_review_date) IS DISTINCT FROM (o.enrollment_id, o.payer_id, "
        "o.status, o.service_code, o.units_authorized, o.end_date, o.next_review_date) "
        "UNION ALL SELECT o.enrollment_id FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE n.enrollment_id <> o.enrollment_id",
    ),
    "authorizations_authorizationusage": (
        "SELECT au.enrollment_id FROM {rows} r "
        "JOIN authorizations_authorization au ON au.id = r.authorization_id",
        "SELECT au.enrollment_id FROM new_rows n JOIN old_rows o "
        "ON o.authorization_id = n.authorization_id "
        "JOIN authorizations_authorization au ON au.id = n.authorization_id "
        "WHERE (n.used, n.over_from, n.after_end_from) "
        "IS DISTINCT FROM (o.used, o.over_from, o.after_end_from)",
    ),
    "authorizations_coverage": (
        "SELECT enrollment_id FROM {rows}",
        "SELECT n.enrollment_id FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE (n.enrollment_id, n.payer_id) IS DISTINCT FROM (o.enrollment_id, o.payer_id) "
        "UNION ALL SELECT o.enrollment_id FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE (n.enrollment_id, n.payer_id) IS DISTINCT FROM (o.enrollment_id, o.payer_id)",
    ),
    "authorizations_payer": (
        None,
        "SELECT c.enrollment_id FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "JOIN authorizations_coverage c ON c.payer_id = n.id "
        "WHERE n.requires_authorization IS DISTINCT FROM o.requires_authorization",
    ),
    "participants_enrollment": (
        "SELECT id FROM {rows}",
        "SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE (n.status, n.track_id, n.participant_id, n.admission_date) "
        "IS DISTINCT FROM (o.status, o.track_id, o.participant_id, o.admission_date)",
    ),
    "programs_track": (
        None,
        "SELECT e.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "JOIN participants_enrollment e ON e.track_id = n.id "
        "WHERE (n.site_id, n.program_id) IS DISTINCT FROM (o.site_id, o.program_id)",
    ),
    "programs_program": (
        None,
        "SELECT e.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "JOIN programs_track t ON t.program_id = n.id "
        "JOIN participants_enrollment e ON e.track_id = t.id "
        "WHERE (n.authorization_alert_units, n.authorization_review_days) "
        "IS DISTINCT FROM (o.authorization_alert_units, o.authorization_review_days)",
    ),
}


def _call(ids_sql: str) -> str:
    return (f"PERFORM authorizations_alert_rows_refresh(ARRAY("
            f"SELECT DISTINCT x.id FROM ({ids_sql}) x (id) WHERE x.id IS NOT NULL)::bigint[]);")


def _triggers(table: str, inserted_or_deleted: str | None, updated: str) -> str:
    sql = ""
    events = [("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows", updated)]
    if inserted_or_deleted is not None:
        events += [("insert", "NEW TABLE AS new_rows", inserted_or_deleted.format(rows="new_rows")),
                   ("delete", "OLD TABLE AS old_rows", inserted_or_deleted.format(rows="old_rows"))]
    for event, referencing, ids_sql in events:
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


FORWARD = (REFRESH + "".join(_triggers(table, *ids) for table, ids in TABLES.items())
           + "SELECT authorizations_alert_rows_refresh(ARRAY(SELECT id FROM "
             "participants_enrollment WHERE status = 'active' ORDER BY id));\n"
           + "ANALYZE authorizations_alert_row;\n")


def _backward() -> str:
    sql = ""
    for table, (inserted_or_deleted, _updated) in TABLES.items():
        events = ["update"] + (["insert", "delete"] if inserted_or_deleted is not None else [])
        for event in events:
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
