"""On PostgreSQL the database itself refuses UPDATE and DELETE on the audit tables, so neither
a queryset.update() nor a psql session under the app's role can rewrite history.

TRUNCATE is left alone: the test runner empties tables with it between transactional tests.
Deleting a user who made audited changes is refused too (auditlog would null the actor):
deactivate staff accounts instead.
"""
from django.db import migrations

TABLES = ("auditlog_logentry", "audit_accessevent")

FORWARD = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
""" + "".join(f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
""" for table in TABLES) + """
-- chart_audit_trail filters on additional_data__participant, i.e. this expression.
CREATE INDEX IF NOT EXISTS auditlog_logentry_participant_idx
    ON auditlog_logentry ((additional_data -> 'participant'));
"""

BACKWARD = "".join(
    f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};\n" for table in TABLES
) + """
DROP FUNCTION IF EXISTS audit_refuse_change();
DROP INDEX IF EXISTS auditlog_logentry_participant_idx;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("auditlog", "0017_add_actor_email"),
    ]

    operations = [migrations.RunPython(forward, backward)]
