"""VACUUM (ANALYZE) the billing days the previous migration filled (PostgreSQL only).

The backfill leaves the table's visibility map unset: until a vacuum, the report cannot read a
range from reports_billing_day_key alone and hashes every row of it instead (at 2,000
participants 82,000 rows for 12 weeks, spilling to disk). Autovacuum would get there, when it
runs; VACUUM cannot run in a transaction, hence a migration of its own.
"""
from django.db import migrations


def vacuum(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("VACUUM (ANALYZE) reports_billing_day", params=None)


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ("reports", "0003_billing_day"),
    ]

    operations = [
        migrations.RunPython(vacuum, migrations.RunPython.noop, atomic=False),
    ]
