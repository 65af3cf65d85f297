"""Raw SQL's `IN %s` with a tuple parameter, on every database the project runs on.

psycopg2 writes a tuple parameter as `(a, b, c)`, so the PostgreSQL statements say `x IN %s`
with one tuple. SQLite (the `make run` database) binds only single values; there each tuple
becomes one `%s` per member. On PostgreSQL the statement and parameters go through unchanged.

`read_date` and `read_moment` read back what a raw statement returns as the ORM would give it
(SQLite returns dates and date-times as text).
"""
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime

from django.utils.dateparse import parse_date, parse_datetime

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


def read_date(value) -> date | None:
    """A date a raw statement read: SQLite may hand it back as text (outside a column its type
    is lost), PostgreSQL as a date."""
    return parse_date(value) if isinstance(value, str) else value


def read_moment(value) -> datetime | None:
    """A date-time a raw statement read, aware as the ORM gives it: SQLite hands it back as
    text in UTC without its offset, PostgreSQL as an aware date-time."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
