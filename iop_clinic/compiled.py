"""ORM queries compiled once a process, run with each request's values.

For a query that costs more to compile than to run (a few joins, a Case/When ordering, a union):
the ORM compiles it once with sentinel values, each parameter slot holding a sentinel is
remembered, and each run swaps in its own values. Only SQL text is kept, never a row. If the ORM
ever compiles other parameters than the sentinels promised, compiling raises instead of running
wrong SQL.

A slot is named by a string (one value: `values[name]`) or by (name, n) for the n-th of a list
of values (`values[name][n]`: a user's site ids, compiled as `id_sentinels`). Rows come back as
the ORM converts them; with `model=`, as the model instances (and select_related objects) the
ORM's ModelIterable builds, so Django's internals for that are read here only.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, replace

from django.db import connections
from django.db.models import Model, signals
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import get_related_populators
from django.db.models.query_utils import DeferredAttribute
from django.db.models.sql import Query
from django.db.models.sql.compiler import SQLCompiler

from iop_clinic.prepared import execute as prepared_execute

Slot = str | tuple[str, int] | None


def id_sentinels(name: str, count: int) -> tuple[list[int], dict[int, tuple[str, int]]]:
    """`count` ids no row has (-1, -2, ...) to compile a list of ids with, and the sentinels of
    `compile_once` that name them: the n-th is filled with `values[name][n]` when it runs."""
    ids = [-1 - n for n in range(count)]
    return ids, {sentinel: (name, n) for n, sentinel in enumerate(ids)}


@dataclass(frozen=True)
class _Instances:
    """What turns a row into a model instance and its select_related objects, as the ORM's
    ModelIterable does (read once, when the query is compiled)."""

    model: type[Model]
    start: int
    end: int
    init_list: list[str]
    populators: list
    annotations: tuple[tuple[str, int], ...] = ()  # (attribute, column) of each annotation
    # The models of the row and its select_related objects, when each is built plainly
    # (_plain_model): then `objects` fills each instance's attributes itself.
    plain_models: tuple[type[Model], ...] | None = None


@dataclass(frozen=True)
class CompiledQuery:
    alias: str
    sql: str
    params: tuple
    slots: tuple[Slot, ...]  # per parameter: where its value comes from, or None for a constant
    columns: list  # the select's expressions, for the ORM's value converters
    width: int | None = None  # the columns the ORM keeps of a row, when it selects more
    instances: _Instances | None = None
    # Whether the ORM converts any column's values on this database (never on PostgreSQL):
    # looking for converters, each run, cost ~0.1 ms for a statement of 95 columns.
    converts: bool = True
    # Run as a statement prepared once a connection (iop_clinic.prepared): for the hottest
    # page statements, whose str parameters are constants.
    prepared: bool = False

    def with_sql(self, sql: str, *, columns: list) -> CompiledQuery:
        """The same parameters around other SQL (the compiled statement wrapped, e.g. counted),
        whose select reads `columns`; it builds no instances."""
        return CompiledQuery(alias=self.alias, sql=sql, params=self.params, slots=self.slots,
                             columns=columns,
                             converts=bool(_converters(self.alias, columns)),
                             prepared=self.prepared)

    def _params(self, values: dict[str, object]) -> list:
        return [param if slot is None else values[slot] if type(slot) is str
                else values[slot[0]][slot[1]]
                for param, slot in zip(self.params, self.slots, strict=True)]

    def rows(self, values: dict[str, object], *, limit: int | None = None) -> list[tuple]:
        """The query's rows (at most `limit`) for these values (named as the sentinels were,
        prepared for the database), converted as the ORM converts them (nothing on PostgreSQL;
        SQLite's dates, booleans...)."""
        with connections[self.alias].cursor() as cursor:
            if self.prepared:
                prepared_execute(cursor, self.sql, self._params(values))
            else:
                cursor.execute(self.sql, self._params(values))
            rows = cursor.fetchall() if limit is None else cursor.fetchmany(limit)
        if self.width is not None:
            rows = [row[:self.width] for row in rows]
        if self.converts:
            # get_converters and apply_converters read only the compiler's connection.
            compiler = Query(None).get_compiler(using=self.alias)
            if converters := compiler.get_converters(self.columns):
                rows = list(compiler.apply_converters(rows, converters))
        return rows

    def objects(self, values: dict[str, object], *, limit: int | None = None) -> list[Model]:
        """The rows as the model instances the ORM builds for them, with their select_related
        objects loaded (compiled with `model=`)."""
        built = self.instances
        if built is None:
            raise TypeError("this query was compiled without model=")
        found = []
        plain = built.plain_models is not None and not any(
            signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)
            for model in built.plain_models)
        for row in self.rows(values, limit=limit):
            if plain:
                obj = _built(built.model, self.alias, built.init_list, row[built.start:built.end])
                for populator in built.populators:
                    _populate(populator, row, obj)
                found.append(obj)
                for name, column in built.annotations:
                    setattr(obj, name, row[column])
                continue
            obj = built.model.from_db(self.alias, built.init_list, row[built.start:built.end])
            for populator in built.populators:
                populator.populate(row, obj)
            for name, column in built.annotations:
                setattr(obj, name, row[column])
            found.append(obj)
        return found


# Model.from_db builds a row's instance through Model.__init__, which walks every concrete field
# of the model (a deferred one too) and sends pre_init and post_init: ~8 µs for a participant
# read with a few of its columns, ~150 instances on an admin page of 50 rows. For a model that
# keeps Django's __init__ and from_db, whose read attributes are plain (DeferredAttribute: set
# into the instance's __dict__), and with no receiver of either signal, what they leave behind
# is the state (not adding, this database) and those attributes in the instance's __dict__, in
# the order of the model's fields: _built writes exactly that.
_PLAIN_ATTRIBUTES = (DeferredAttribute, ForeignKeyDeferredAttribute)


def _plain_model(model: type[Model], attnames: list[str]) -> bool:
    if (model.__init__ is not Model.__init__ or model._meta.abstract
            or model.from_db.__func__ is not Model.from_db.__func__):
        return False
    concrete = iter(field.attname for field in model._meta.concrete_fields)
    # In the fields' order, each once: from_db would place the values by that order.
    if not all(name in concrete for name in attnames):
        return False
    return all(type(inspect.getattr_static(model, name, None)) in _PLAIN_ATTRIBUTES
               for name in attnames)


def _plain_models(model: type[Model], init_list: list[str],
                  populators: list) -> tuple[type[Model], ...] | None:
    """The models `objects` may build plainly (the row's and its select_related ones'), or None
    where any of them must go through from_db."""
    models, pending = [(model, init_list)], list(populators)
    while pending:
        populator = pending.pop()
        models.append((populator.model_cls, populator.init_list))
        pending.extend(populator.related_populators)
    if not all(_plain_model(m, names) for m, names in models):
        return None
    return tuple(dict.fromkeys(m for m, _names in models))


def _built(model: type[Model], alias: str, attnames: list[str], values) -> Model:
    """What model.from_db(alias, attnames, values) returns, for a model _plain_model allows
    (tests/test_compiled.py compares the two)."""
    obj = model.__new__(model)
    state = ModelState()
    state.adding = False
    state.db = alias
    attributes = obj.__dict__
    attributes["_state"] = state
    attributes.update(zip(attnames, values))
    return obj


def _populate(populator, row, from_obj: Model) -> None:
    """RelatedPopulator.populate, its objects built by _built."""
    if populator.reorder_for_init:
        data = populator.reorder_for_init(row)
    else:
        data = row[populator.cols_start:populator.cols_end]
    if data[populator.pk_idx] is None:
        obj = None
    else:
        obj = _built(populator.model_cls, populator.db, populator.init_list, data)
        for related in populator.related_populators:
            _populate(related, row, obj)
    populator.local_setter(from_obj, obj)
    if obj is not None:
        populator.remote_setter(obj, from_obj)


def _converters(alias: str, columns: list) -> dict:
    return Query(None).get_compiler(using=alias).get_converters(columns)


def compile_once(compiler: SQLCompiler, sentinels: dict[object, Slot], *, what: str,
                 model: type[Model] | None = None, prepared: bool = False) -> CompiledQuery:
    """`compiler`'s SQL, with the slots of `sentinels` (database-prepared sentinel value -> the
    name its real value is given under in `CompiledQuery.rows`). With `model`, the query must
    read that model's rows (with select_related ones and annotations, nothing else): `objects`
    builds them, each annotation an attribute, as the ORM does."""
    sql, params = compiler.as_sql()
    slots = tuple(sentinels.get(param) for param in params)
    if {slot for slot in slots if slot is not None} != set(sentinels.values()):
        raise AssertionError(f"the {what} query's parameters are not the expected ones")
    select = compiler.select
    instances = None
    if model is not None:
        klass_info = compiler.klass_info
        if not klass_info or klass_info["model"] is not model:
            raise AssertionError(f"the {what} query reads other columns than expected")
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, compiler.using)
        instances = _Instances(
            model=model, start=start, end=end, init_list=init_list, populators=populators,
            annotations=tuple(compiler.annotation_col_map.items()),
            plain_models=_plain_models(model, init_list, populators))
    columns = [column for column, _sql, _alias in select[:compiler.col_count]]
    return CompiledQuery(
        alias=compiler.using, sql=sql, params=tuple(params), slots=slots, columns=columns,
        width=compiler.col_count if compiler.has_extra_select else None, instances=instances,
        converts=bool(_converters(compiler.using, columns)), prepared=prepared)


def compile_pages(queryset, sentinels: dict[object, Slot], *, alias: str, what: str,
                  model: type[Model] | None = None,
                  prepared: bool = False) -> tuple[CompiledQuery, CompiledQuery]:
    """A paged list's two statements, compiled once as `compile_once` compiles one: its rows'
    count (the queryset's count(), as `SELECT COUNT(*)` around its ids) and a page of its rows
    (the query with `LIMIT %s OFFSET %s`, whose values are given as "limit" and "offset").
    These are what a Paginator asks of a queryset (caseload, follow-ups, the admin's lists).
    With `prepared`, both run as statements prepared once a connection (iop_clinic.prepared:
    every str parameter must be a constant)."""
    rows = compile_once(queryset.query.get_compiler(using=alias), sentinels,
                        what=f"{what} page", model=model, prepared=prepared)
    page = replace(rows, sql=f"{rows.sql} LIMIT %s OFFSET %s", params=(*rows.params, 0, 0),
                   slots=(*rows.slots, "limit", "offset"))
    ids = compile_once(queryset.order_by().values("pk").query.get_compiler(using=alias),
                       sentinels, what=f"{what} count", prepared=prepared)
    return ids.with_sql(f"SELECT COUNT(*) FROM ({ids.sql}) listed", columns=[]), page
