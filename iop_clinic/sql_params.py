"""Raw SQL's `IN %s` with a tuple parameter, on every database the project runs on.

psycopg2 writes a tuple parameter as `(a, b, c)`, so the PostgreSQL statements say `x IN %s`
with one tuple. SQLite (the `make run` database) binds only single values; there each tuple
becomes one `%s` per member. On PostgreSQL the statement and parameters go through unchanged.
"""
import re
from collections.abc import Sequence

# A placeholder or an escaped percent sign, as psycopg2 reads them.
PLACEHOLDERS = re.compile(r"%%|%s")


def expand_in(vendor: str, sql: str, params: Sequence) -> tuple[str, Sequence]:
    """`sql` and `params` as the database `vendor` binds them: unchanged on PostgreSQL;
    elsewhere each tuple parameter's `%s` becomes `(%s, %s, ...)`, one per member."""
    if vendor == "postgresql" or not any(isinstance(p, tuple) for p in params):
        return sql, params
    values = iter(params)
    flat: list = []

    def one(match: re.Match) -> str:
        if match.group() == "%%":
            return "%%"
        value = next(values)
        if not isinstance(value, tuple):
            flat.append(value)
            return "%s"
        flat.extend(value)
        return "(" + ", ".join(["%s"] * len(value)) + ")"

    return PLACEHOLDERS.sub(one, sql), flat


def execute(cursor, sql: str, params: Sequence) -> None:
    """`cursor.execute` with `expand_in` for the cursor's database."""
    cursor.execute(*expand_in(cursor.db.vendor, sql, params))
