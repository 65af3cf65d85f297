"""The billing weeks added up per week, service code, site and track (reports.BillingWeekSums),
kept by statement triggers on reports_billing_week (PostgreSQL; on SQLite, `make run`, the
table stays empty as the weeks do).

The weeks are written by the days' triggers only (migration 0005), one INSERT ... ON CONFLICT
DO UPDATE a statement, whose inserted and updated rows come to this migration's insert and
update triggers as transition tables: each takes its rows' old images' shares and adds their
new images' (a week row's share: at `length` -1 the row as the summary counts a line of one
row, if it has sessions, and at each of its days' microseconds one day), per key in key order
(two writers lock sums rows in the same order). Commutative deltas, as the weeks': the sums
equal their week rows' at the end of every statement, in the writer's transaction. A sums row
is shared by a track's participants: two marks at one track in one week at once wait for each
other's commit (before, two marks of one participant in one week).

Creating the triggers locks reports_billing_week against writes until this migration commits
(so against every write that moves a billing day), so the backfill that follows misses no week.
"""
import django.db.models.deletion
from django.db import migrations, models

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as reports.models.WEEKDAYS
KEY = "week, service_code, site_id, (COALESCE(track_id, 0)), length"
SUMS = ("row_days", "rows", "sessions", "days", "minutes")
_CAST = {"minutes": "bigint"}


def _shares(rows: str) -> str:
    """The sums' delta of the week rows `rows` (week, service_code, site_id, track_id, the
    sums of a BillingWeek row, sign), added to reports_billing_week_sums. A row without
    sessions has no share (the summary skips it)."""
    days = " + ".join(f"(r.sessions_{day} <> 0)::int" for day in WEEKDAYS)
    shares = ", ".join(
        ["(-1::bigint, 0, 1, r.sessions, " + days + ", (r.length + 30000000) / 60000000)"]
        + [f"(r.length_{day}, 1, 0, 0, 0, 0::bigint)" for day in WEEKDAYS])
    return f"""
    INSERT INTO reports_billing_week_sums AS w (week, service_code, site_id, track_id,
        length, {", ".join(SUMS)})
    SELECT r.week, r.service_code, r.site_id, r.track_id, s.length,
           {", ".join(f"SUM(r.sign * s.{column})::{_CAST.get(column, 'int')}"
                      for column in SUMS)}
    FROM ({rows}) AS r
    CROSS JOIN LATERAL (VALUES {shares}) AS s (length, {", ".join(SUMS)})
    WHERE r.sessions <> 0 AND s.length <> 0
    GROUP BY 1, 2, 3, 4, 5
    HAVING ({", ".join(f"SUM(r.sign * s.{column})" for column in SUMS)})
        <> ({", ".join(["0"] * len(SUMS))})
    ORDER BY 1, 2, 3, COALESCE(r.track_id, 0), 5
    ON CONFLICT ({KEY}) DO UPDATE SET
        {", ".join(f"{column} = w.{column} + EXCLUDED.{column}" for column in SUMS)}
    """


def _rows(table: str, sign: int) -> str:
    return (f"SELECT week, service_code, site_id, track_id, sessions, length, "
            + ", ".join(f"sessions_{day}, length_{day}" for day in WEEKDAYS)
            + f", {sign} AS sign FROM {table}")


BACKFILL = _shares(_rows("reports_billing_week", 1))

# Through EXECUTE, planned afresh at each firing for the transition tables' real sizes (as the
# weeks' own triggers).
FORWARD = f"""
CREATE UNIQUE INDEX reports_billing_week_sums_key ON reports_billing_week_sums ({KEY});
CREATE FUNCTION billing_week_sums_from_weeks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- An upsert of the weeks fires both the insert and the update triggers, one of them
    -- mostly with no rows: it returns at once.
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
        EXECUTE $q${_shares(_rows("new_rows", 1))}$q$;
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE $q${_shares(_rows("old_rows", -1))}$q$;
    ELSE
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
        EXECUTE $q${_shares(_rows("new_rows", 1) + " UNION ALL " + _rows("old_rows", -1))}$q$;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER reports_billing_week_sums_insert AFTER INSERT ON reports_billing_week
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION billing_week_sums_from_weeks();
CREATE TRIGGER reports_billing_week_sums_update AFTER UPDATE ON reports_billing_week
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION billing_week_sums_from_weeks();
CREATE TRIGGER reports_billing_week_sums_delete AFTER DELETE ON reports_billing_week
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION billing_week_sums_from_weeks();
-- The backfill, after the triggers.
{BACKFILL};
ANALYZE reports_billing_week_sums;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS reports_billing_week_sums_insert ON reports_billing_week;
DROP TRIGGER IF EXISTS reports_billing_week_sums_update ON reports_billing_week;
DROP TRIGGER IF EXISTS reports_billing_week_sums_delete ON reports_billing_week;
DROP FUNCTION IF EXISTS billing_week_sums_from_weeks();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('programs', '0007_program_family_contact_policy'),
        ('reports', '0005_billing_week'),
    ]

    operations = [
        migrations.CreateModel(
            name='BillingWeekSums',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('week', models.DateField(verbose_name='week (Monday)')),
                ('service_code', models.CharField(max_length=12, verbose_name='billing/service code')),
                ('length', models.BigIntegerField()),
                ('row_days', models.IntegerField(default=0)),
                ('rows', models.IntegerField(default=0)),
                ('sessions', models.IntegerField(default=0)),
                ('days', models.IntegerField(default=0)),
                ('minutes', models.BigIntegerField(default=0)),
                ('site', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='programs.site')),
                ('track', models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='programs.track')),
            ],
            options={
                'db_table': 'reports_billing_week_sums',
            },
        ),
        migrations.RunPython(forward, backward),
    ]
