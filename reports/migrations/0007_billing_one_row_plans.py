"""A one-row change of the billing triggers' tables runs their statements as static SQL, whose
plans the connection keeps, instead of planning them afresh at every firing (PostgreSQL only).

Migrations 0003, 0005 and 0006 run every statement of billing_day_from_attendance,
billing_week_from_days and billing_week_sums_from_weeks through EXECUTE: a static statement's
plan is made at its first firing and reused, and one made for a one-row mark was reused for a
session's 100 rows as nested loops over the transition tables (300-600 ms instead of 10). But
the one-row mark is the common write (a tap on the roster), and it paid for the planning of all
its six statements at every tap, several times what they take to run. Each statement is now
run as it stands when its statement changed at most one row, and through EXECUTE otherwise: the
static copy only ever runs, and is only ever planned, for one row, so the plan it keeps is the
right one, and bulk marks, session cancels and schedule generation still get plans made for
their sizes. The statements, their order, their locks and their results are the same as before.

The other billing-day functions (sessions, session types, enrollments) are left as they are: a
write of one of those rows moves a whole session's or history's rows, and is rare.

The old bodies come from the migrations that made them, so backward restores them exactly.
"""
import importlib
import re

from django.db import migrations

_day = importlib.import_module("reports.migrations.0003_billing_day")
_week = importlib.import_module("reports.migrations.0005_billing_week")
_sums = importlib.import_module("reports.migrations.0006_billing_week_sums")

# At most one row in the statement's transition table (an update's old and new tables hold as
# many rows each). OFFSET 1 reads two rows at most, whatever the statement's size, so its own
# cached plan suits every size.
ONE_ROW = """
    IF TG_OP = 'DELETE' THEN
        one_row := NOT EXISTS (SELECT 1 FROM old_rows OFFSET 1);
    ELSE
        one_row := NOT EXISTS (SELECT 1 FROM new_rows OFFSET 1);
    END IF;"""
_DYNAMIC = re.compile(r"EXECUTE \$q\$(.*?)\$q\$;", re.DOTALL)


def _old(forward: str, name: str) -> str:
    (function,) = re.findall(rf"CREATE FUNCTION {name}\(\).*?\n\$\$;", forward, re.DOTALL)
    return function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def _static(statement: str) -> str:
    """A statement as PL/pgSQL runs it itself: a SELECT run for its locks alone is PERFORMed."""
    statement = statement.strip()
    if statement.startswith("SELECT "):
        statement = "PERFORM " + statement.removeprefix("SELECT ")
    return statement


def _one_row_static(old: str) -> str:
    """`old` with each EXECUTE'd statement run as static SQL when the statement changed at most
    one row."""
    head, body = old.split("\nBEGIN\n", 1)
    body = _DYNAMIC.sub(
        lambda match: (f"IF one_row THEN\n            {_static(match.group(1))};\n"
                       f"        ELSE\n            {match.group(0)}\n        END IF;"),
        body)
    return f"{head}\nDECLARE\n    one_row boolean;\nBEGIN{ONE_ROW}\n{body}"


OLD = [
    _old(_day._pg_function(_day.ATTENDANCE), "billing_day_from_attendance"),
    _old(_week.FORWARD, "billing_week_from_days"),
    _old(_sums.FORWARD, "billing_week_sums_from_weeks"),
]
NEW = [_one_row_static(function) for function in OLD]


def _run(functions):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for function in functions:
                schema_editor.execute(function, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0006_billing_week_sums"),
    ]

    operations = [
        migrations.RunPython(_run(NEW), _run(OLD)),
    ]
