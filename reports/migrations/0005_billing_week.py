"""The billing days summed per week (reports.BillingWeek) and each line's number of weeks
(reports.BillingLineRows), kept by statement triggers on reports_billing_day (PostgreSQL; on
SQLite, `make run`, the report sums the days and these tables stay empty).

The days are written by triggers only (migration 0003), one INSERT ... ON CONFLICT DO UPDATE a
statement, whose inserted and updated rows come to this migration's insert and update triggers
as transition tables: each adds its rows' sessions and microseconds (the update's new rows less
its old ones) to their weeks, the week's sums and the day's column, per key in key order (two
writers lock week rows in the same order). A day row's key never changes, only its sums, so the
invariant is plain: a week row holds the sums of its days' rows, at the end of every statement,
in the writer's transaction. The same statement counts the week rows with sessions of each
participant's week and code (a row going from no sessions to some adds one, back takes one):
commutative deltas, as the sums. A week row locks what its days' rows lock, per participant and
week instead of per day: two marks of one participant on two days of one week in two
transactions wait for each other's commit (they did not before).

Creating the triggers locks reports_billing_day against writes until this migration commits (so
against every write that moves a billing day), so the backfill that follows misses no day.
"""
import operator
from functools import reduce

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as reports.models.WEEKDAYS
KEY = "week, participant_id, service_code, site_id, (COALESCE(track_id, 0))"
DAY = "((d.local_date - DATE '0001-01-01') %% 7)"  # 0001-01-01 was a Monday: 0
SUMS = ["sessions", "length"] + [f"{column}_{day}" for column in ("sessions", "length")
                                 for day in WEEKDAYS]
_CAST = {"sessions": "int", "length": "bigint"}
# A line's rows with sessions, moved: +1 for a week that has sessions and had none, -1 back.
MOVED = "SUM((n.sessions <> 0)::int - (n.sessions - c.sessions <> 0)::int)"


def _sum(column: str) -> str:
    kind, _sep, day = column.partition("_")
    delta = f"SUM(d.sign * d.{kind})"
    if day:
        delta = f"COALESCE({delta} FILTER (WHERE {DAY} = {WEEKDAYS.index(day)}), 0)"
    return f"{delta}::{_CAST[kind]} AS {column}"


def _delta(rows: str) -> str:
    """The weeks' delta of the day rows `rows` (local_date, participant_id, service_code,
    site_id, track_id, sessions, length, sign), added to reports_billing_week; and the lines'
    rows that moved (a week's sessions from none to some, or back), added to
    reports_billing_line_rows. A week's old sessions are its new less the delta (none when the
    row is inserted)."""
    return f"""
    WITH c AS (
        SELECT d.local_date - {DAY} AS week, d.participant_id, d.service_code, d.site_id,
               d.track_id, {", ".join(_sum(column) for column in SUMS)}
        FROM ({rows}) AS d
        GROUP BY 1, 2, 3, 4, 5
    ), weeks AS (
        INSERT INTO reports_billing_week AS w (week, participant_id, service_code, site_id,
            track_id, {", ".join(SUMS)})
        SELECT * FROM c
        WHERE ({", ".join(f"c.{column}" for column in SUMS[2:])}) <> ({", ".join(["0"] * 14)})
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT ({KEY}) DO UPDATE SET
            {", ".join(f"{column} = w.{column} + EXCLUDED.{column}" for column in SUMS)}
        RETURNING w.week, w.participant_id, w.service_code, w.site_id, w.track_id, w.sessions
    )
    INSERT INTO reports_billing_line_rows AS l (week, participant_id, service_code, rows)
    SELECT n.week, n.participant_id, n.service_code, {MOVED}::int
    FROM weeks n JOIN c ON (c.week, c.participant_id, c.service_code, c.site_id,
                            COALESCE(c.track_id, 0))
                         = (n.week, n.participant_id, n.service_code, n.site_id,
                            COALESCE(n.track_id, 0))
    GROUP BY 1, 2, 3 HAVING {MOVED} <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (week, participant_id, service_code) DO UPDATE SET rows = l.rows + EXCLUDED.rows
    """.replace("%%", "%")


def _rows(table: str, sign: int) -> str:
    return (f"SELECT local_date, participant_id, service_code, site_id, track_id, sessions, "
            f"length, {sign} AS sign FROM {table}")


BACKFILL = _delta(_rows("reports_billing_day", 1))

# Through EXECUTE, planned afresh at each firing for the transition tables' real sizes (as the
# days' own triggers: a plan cached at a one-row mark does not suit a session's 100 rows).
FORWARD = f"""
CREATE UNIQUE INDEX reports_billing_week_key ON reports_billing_week ({KEY});
CREATE FUNCTION billing_week_from_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- An upsert of the days fires both the insert and the update triggers, one of them
    -- mostly with no rows: it returns at once.
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
        EXECUTE $q${_delta(_rows("new_rows", 1))}$q$;
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE $q${_delta(_rows("old_rows", -1))}$q$;
    ELSE
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
        EXECUTE $q${_delta(_rows("new_rows", 1) + " UNION ALL " + _rows("old_rows", -1))}$q$;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER reports_billing_week_insert AFTER INSERT ON reports_billing_day
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION billing_week_from_days();
CREATE TRIGGER reports_billing_week_update AFTER UPDATE ON reports_billing_day
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION billing_week_from_days();
CREATE TRIGGER reports_billing_week_delete AFTER DELETE ON reports_billing_day
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION billing_week_from_days();
-- The backfill, after the triggers (in week order: the report reads a range of weeks).
{BACKFILL};
ANALYZE reports_billing_week;
ANALYZE reports_billing_line_rows;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS reports_billing_week_insert ON reports_billing_day;
DROP TRIGGER IF EXISTS reports_billing_week_update ON reports_billing_day;
DROP TRIGGER IF EXISTS reports_billing_week_delete ON reports_billing_day;
DROP FUNCTION IF EXISTS billing_week_from_days();
"""


def _days_with_sessions(weight) -> models.Expression:
    """As reports.models.days_with_sessions, as of this migration."""
    return reduce(operator.add, [
        models.Case(models.When(~Q(**{f"sessions_{day}": 0}), then=models.Value(weight(index))),
                    default=models.Value(0))
        for index, day in enumerate(WEEKDAYS)])


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('participants', '0006_participant_search_trigram_idx'),
        ('programs', '0007_program_family_contact_policy'),
        ('reports', '0004_billing_day_vacuum'),
    ]

    operations = [
        migrations.CreateModel(
            name='BillingWeek',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('week', models.DateField(verbose_name='week (Monday)')),
                ('service_code', models.CharField(max_length=12, verbose_name='billing/service code')),
                ('sessions', models.IntegerField(default=0)),
                ('length', models.BigIntegerField(default=0)),
                ('sessions_mon', models.IntegerField(default=0)),
                ('sessions_tue', models.IntegerField(default=0)),
                ('sessions_wed', models.IntegerField(default=0)),
                ('sessions_thu', models.IntegerField(default=0)),
                ('sessions_fri', models.IntegerField(default=0)),
                ('sessions_sat', models.IntegerField(default=0)),
                ('sessions_sun', models.IntegerField(default=0)),
                ('length_mon', models.BigIntegerField(default=0)),
                ('length_tue', models.BigIntegerField(default=0)),
                ('length_wed', models.BigIntegerField(default=0)),
                ('length_thu', models.BigIntegerField(default=0)),
                ('length_fri', models.BigIntegerField(default=0)),
                ('length_sat', models.BigIntegerField(default=0)),
                ('length_sun', models.BigIntegerField(default=0)),
                ('weekdays', models.GeneratedField(
                    db_persist=True, expression=_days_with_sessions(lambda index: 1 << index),
                    output_field=models.IntegerField())),
                ('days', models.GeneratedField(
                    db_persist=True, expression=_days_with_sessions(lambda index: 1),
                    output_field=models.IntegerField())),
                ('participant', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='participants.participant')),
                ('site', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='programs.site')),
                ('track', models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='programs.track')),
            ],
            options={
                'verbose_name': 'billing week',
                'db_table': 'reports_billing_week',
            },
        ),
        migrations.CreateModel(
            name='BillingLineRows',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('week', models.DateField(verbose_name='week (Monday)')),
                ('service_code', models.CharField(max_length=12, verbose_name='billing/service code')),
                ('rows', models.IntegerField(default=0)),
                ('participant', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='participants.participant')),
            ],
            options={
                'verbose_name': "billing line's rows",
                'db_table': 'reports_billing_line_rows',
                'indexes': [models.Index(condition=models.Q(('rows__gt', 1)), fields=['week'], name='reports_billing_line_split')],
                'constraints': [models.UniqueConstraint(fields=('week', 'participant', 'service_code'), name='reports_billing_line_rows_key')],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
