"""A trigram index for the caseload's search by part of a name or record number.

The search asks `first_name`, `last_name` or `record_number` `__icontains` each word, which
PostgreSQL runs as `UPPER(column) LIKE UPPER('%word%')`: no b-tree serves a pattern with a
leading wildcard, so every search read every participant. A GIN index of the upper-cased columns'
trigrams (pg_trgm) serves those LIKEs as they are written.

PostgreSQL only: `TrigramExtension` does nothing elsewhere, and the index is added here rather
than in the model's `Meta.indexes`, so SQLite (the embedded default) never meets a GIN index
when a later migration rebuilds the table.
"""
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

# Written out: Django's OpClass needs django.contrib.postgres installed as an app to render.
FORWARD = """
CREATE INDEX participant_search_trgm_idx ON participants_participant USING gin (
    (UPPER(first_name)) gin_trgm_ops, (UPPER(last_name)) gin_trgm_ops,
    (UPPER(record_number)) gin_trgm_ops)
"""
BACKWARD = "DROP INDEX IF EXISTS participant_search_trgm_idx"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0005_participant_language"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(forward, backward),
    ]
