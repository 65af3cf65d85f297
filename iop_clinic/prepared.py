"""Statements planned once a database connection: PostgreSQL's PREPARE, then EXECUTE.

psycopg2 writes every value into the SQL text, so PostgreSQL parses and plans each statement
afresh: planning was about 2.9 ms of the Today page at 2,000 people, as much as a third of its
SQL time. `execute` PREPAREs a statement once on a connection under a name derived from its
text, with the request's values as `$1, $2...`, then EXECUTEs it; PostgreSQL (plan_cache_mode
auto) plans the first five runs with their values, then keeps a generic plan if it costs no
more than those: a run then costs nothing to parse or plan.

The statement's str parameters (and tuples of str) are written into the prepared text, not
left as parameters: they are the code's constants (statuses, kinds), and as `$n` a status could
not match a partial index (`WHERE status = 'open'`) nor be estimated: the follow-ups' generic
plan then scanned the whole table at twice the time. So opt in only statements whose str
parameters are constants, never a person's text: each distinct text would be another
statement (at most MAX_PER_CONNECTION are kept; the oldest is DEALLOCATEd).

Plain `cursor.execute` instead on SQLite, inside a transaction (an error there aborts it and
nothing could be retried: an atomic block reads as before), for an empty tuple, and whenever
PREPARE fails. A reconnect is a new psycopg2 connection, which starts with nothing prepared.
After a migration changes a table a prepared statement reads, its EXECUTE fails with "cached
plan must not change result type": it is DEALLOCATEd and prepared again, once.
"""
from __future__ import annotations

import hashlib
import re
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from django.db import DatabaseError, connection

from iop_clinic.sql_params import PLACEHOLDERS
from iop_clinic.sql_params import execute as execute_plain

MAX_PER_CONNECTION = 64
# feature_not_supported ("cached plan must not change result type", after ALTER TABLE) and
# invalid_sql_statement_name (the server no longer has it: DISCARD ALL, DEALLOCATE ALL).
_PREPARE_AGAIN = {"0A000", "26000"}


class _Prepared:
    """The names prepared on one psycopg2 connection, the least recently used first."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.names: OrderedDict[str, None] = OrderedDict()


# Per Django connection (one per thread and alias), forgotten with it.
_registries: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Statements PostgreSQL refused to prepare, run plainly from then on (not tried each request).
_refused: set[str] = set()


def _prepared(db) -> _Prepared:
    found = _registries.get(db)
    if found is None or found.raw is not db.connection:
        found = _registries[db] = _Prepared(db.connection)
    return found


def _type(value) -> str:
    """The parameter type to declare for `value`: PostgreSQL infers an undeclared one from its
    context, and `$1 + days` (a date plus an integer column) would be read as a smallint."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, Decimal):
        return "numeric"
    if isinstance(value, datetime):
        return "timestamptz" if value.tzinfo is not None else "timestamp"
    if isinstance(value, date):
        return "date"
    return "unknown"  # inferred from the context (a list for `= ANY(%s)`, None)


@lru_cache(maxsize=256)
def _statement(sql: str, shape: tuple) -> tuple[str, str, str]:
    """The name, the PREPARE and the EXECUTE text (with one %s per value) of `sql` whose
    parameters have `shape`: per parameter ("constant", its SQL literal), ("value", its
    type) or ("values", their types) for a tuple."""
    marks = iter(shape)
    types: list[str] = []

    def one(match: re.Match) -> str:
        if match.group() == "%%":
            return "%"
        kind, what = next(marks)
        if kind == "constant":
            return what
        first = len(types) + 1
        types.extend([what] if kind == "value" else what)
        numbers = [f"${n}" for n in range(first, len(types) + 1)]
        return numbers[0] if kind == "value" else "(" + ", ".join(numbers) + ")"

    text = PLACEHOLDERS.sub(one, sql)
    declared = f" ({', '.join(types)})" if types else ""
    # A name for the statement, not a secret: any stable digest of its text would do.
    digest = hashlib.sha1(f"{declared} {text}".encode(), usedforsecurity=False).hexdigest()
    name = "iop_" + digest[:20]
    arguments = f" ({', '.join(['%s'] * len(types))})" if types else ""
    return name, f"PREPARE {name}{declared} AS {text}", f"EXECUTE {name}{arguments}"


def _is_constant(value) -> bool:
    return isinstance(value, str) or (
        isinstance(value, tuple) and bool(value) and all(isinstance(v, str) for v in value))


def execute(cursor, sql: str, params: Sequence, *, constants: bool = True) -> None:
    """`cursor.execute(sql, params)` (a tuple parameter for `IN %s`, as iop_clinic.sql_params),
    through a statement prepared on this connection where that is safe (the module's doc).
    With `constants=False` every value is a parameter, str ones too (a person's text): for a
    statement whose str values are not the code's constants."""
    db = cursor.db
    if (db.vendor != "postgresql" or db.in_atomic_block or not db.get_autocommit()
            or any(isinstance(p, tuple) and not p for p in params)):
        execute_plain(cursor, sql, params)
        return
    shape, values = [], []
    for param in params:
        if constants and _is_constant(param):
            # As psycopg2 writes it in the plain statement ('open', ('a', 'b')).
            shape.append(("constant", cursor.cursor.mogrify("%s", (param,)).decode()))
        elif isinstance(param, tuple):
            shape.append(("values", tuple(_type(value) for value in param)))
            values.extend(param)
        else:
            shape.append(("value", _type(param)))
            values.append(param)
    name, prepare, run = _statement(sql, tuple(shape))
    if name in _refused:
        execute_plain(cursor, sql, params)
        return
    prepared = _prepared(db)
    if name in prepared.names:
        prepared.names.move_to_end(name)
    elif not _prepare(cursor, prepared, name, prepare):
        execute_plain(cursor, sql, params)
        return
    try:
        cursor.execute(run, values)
    except DatabaseError as error:
        if getattr(error.__cause__, "pgcode", None) not in _PREPARE_AGAIN:
            raise
        prepared.names.pop(name, None)
        if getattr(error.__cause__, "pgcode", None) != "26000":
            cursor.execute(f"DEALLOCATE {name}")
        if not _prepare(cursor, prepared, name, prepare):
            execute_plain(cursor, sql, params)
            return
        cursor.execute(run, values)


def _prepare(cursor, prepared: _Prepared, name: str, prepare: str) -> bool:
    """PREPARE the statement (the oldest one DEALLOCATEd if the connection holds its most);
    False if PostgreSQL refuses it (e.g. a parameter whose type it can't infer)."""
    if len(prepared.names) >= MAX_PER_CONNECTION:
        oldest, _ = prepared.names.popitem(last=False)
        cursor.execute(f"DEALLOCATE {oldest}")
    try:
        cursor.execute(prepare)
    except DatabaseError as error:
        # Class 42 is about the statement itself (a type it can't infer): it would fail again.
        # Anything else (a lock timeout during a migration) is tried again next time.
        if str(getattr(error.__cause__, "pgcode", "")).startswith("42"):
            _refused.add(name)
        return False
    prepared.names[name] = None
    return True


def fetchall(sql: str, params: Sequence, *, prepare: bool = False) -> list[tuple]:
    """The rows of `sql` on the default connection (a tuple parameter for `IN %s`); with
    `prepare`, through a statement prepared once a connection (`execute`: every str parameter
    a constant)."""
    with connection.cursor() as cursor:
        (execute if prepare else execute_plain)(cursor, sql, params)
        return cursor.fetchall()
