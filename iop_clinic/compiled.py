"""ORM queries compiled once a process, run with each request's values.

For a query that costs more to compile than to run (a few joins, a Case/When ordering): the ORM
compiles it once with sentinel values, each parameter slot holding a sentinel is remembered, and
each run swaps in its own values. Only SQL text is kept, never a row. If the ORM ever compiles
other parameters than the sentinels promised, compiling raises instead of running wrong SQL.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import connections
from django.db.models.sql import Query
from django.db.models.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class CompiledQuery:
    alias: str
    sql: str
    params: tuple
    slots: tuple  # per parameter: the name of the value it takes, or None for a constant
    columns: list  # the select's expressions, for the ORM's value converters

    def rows(self, values: dict[str, object]) -> list[tuple]:
        """The query's rows for these values (named as the sentinels were, prepared for the
        database), converted as the ORM converts them (nothing on PostgreSQL; SQLite's dates,
        booleans...)."""
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, [param if slot is None else values[slot]
                                      for param, slot in zip(self.params, self.slots,
                                                             strict=True)])
            rows = cursor.fetchall()
        # get_converters and apply_converters read only the compiler's connection.
        compiler = Query(None).get_compiler(using=self.alias)
        if converters := compiler.get_converters(self.columns):
            rows = list(compiler.apply_converters(rows, converters))
        return rows


def compile_once(compiler: SQLCompiler, sentinels: dict[object, str], *,
                 what: str) -> CompiledQuery:
    """`compiler`'s SQL, with the slots of `sentinels` (database-prepared sentinel value -> the
    name its real value is given under in `CompiledQuery.rows`)."""
    sql, params = compiler.as_sql()
    slots = tuple(sentinels.get(param) for param in params)
    if {slot for slot in slots if slot is not None} != set(sentinels.values()):
        raise AssertionError(f"the {what} query's parameters are not the expected ones")
    return CompiledQuery(alias=compiler.using, sql=sql, params=tuple(params), slots=slots,
                         columns=[column for column, _sql, _alias in compiler.select])
