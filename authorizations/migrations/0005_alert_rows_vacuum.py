"""VACUUM (ANALYZE) the alert rows the previous migration filled (PostgreSQL only).

The backfill leaves the table's visibility map unset: until a vacuum, Today's box cannot read its
site's rows from authorizations_alert_site alone and fetches each row from the table as well.
Autovacuum would get there, when it runs; VACUUM cannot run in a transaction, hence a migration
of its own (as reports 0004).
"""
from django.db import migrations


def vacuum(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("VACUUM (ANALYZE) authorizations_alert_row", params=None)


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ("authorizations", "0004_alert_rows"),
    ]

    operations = [
        migrations.RunPython(vacuum, migrations.RunPython.noop, atomic=False),
    ]
