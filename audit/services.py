"""Writes to the audit trail that django-auditlog's signals cannot make by themselves.

- `audit_access` records that someone viewed a chart or portal page. Views call it.
- `audit_export` records that someone exported a report or list, with its filters.
- `audit_import` records that someone checked or imported a file of records (a census), from
  the staff page or a management command.
- `audit_bulk` records rows written by `bulk_create`, `bulk_update` or `queryset.update()`,
  which send no model signals. A service that writes in bulk calls it in the same transaction,
  right after the write:

      sessions = TherapySession.objects.bulk_create(new_sessions)
      audit_bulk(model=TherapySession, objects=sessions, action=BulkAction.CREATE)

      Attendance.objects.filter(pk__in=ids).update(status="cancelled")
      audit_bulk(model=Attendance, objects=Attendance.objects.filter(pk__in=ids),
                 action=BulkAction.UPDATE, fields=["status"])

  The actor is taken from the request (auditlog's middleware) unless given; in a Celery task
  there is none and the entry says so by having no actor.
"""
import json
from collections.abc import Iterable, Sequence
from enum import IntEnum
from functools import cache

from auditlog.context import auditlog_disabled, auditlog_value
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router, transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch.dispatcher import _make_id
from django.http import HttpRequest
from django.utils import timezone
from django.utils.encoding import smart_str

from iop_clinic.prepared import execute as prepared_execute

from .models import AccessEvent
from .registry import audited_model_for, participant_id_for


class BulkAction(IntEnum):
    CREATE = LogEntry.Action.CREATE
    UPDATE = LogEntry.Action.UPDATE
    DELETE = LogEntry.Action.DELETE


def audit_access(*, request: HttpRequest, obj: models.Model, what: str) -> AccessEvent:
    """Record that `request.user` viewed `obj` (a participant or a row of their chart)."""
    user = request.user if request.user.is_authenticated else None
    event = AccessEvent(
        actor=user,
        participant_id=participant_id_for(obj),
        content_type=ContentType.objects.get_for_model(obj),
        object_pk=str(obj.pk),
        object_repr=smart_str(obj)[:200],
        what=what[:100],
        path=request.path[:300],
        remote_addr=request.META.get("REMOTE_ADDR") or None,
    )
    # One INSERT is atomic by itself, so no transaction of our own: a page's query count grows
    # by one. (atomic(savepoint=False) wrapped it in BEGIN and COMMIT on every chart and portal
    # page, two more round trips, outside a transaction as pages run.)
    _access_insert(event)
    return event


# Every chart and portal page records a view. save() compiled the same INSERT on every page
# (~0.25 ms of ORM Python, about a tenth of a portal page's CPU) and PostgreSQL parsed and
# planned it afresh. Its text is written once a process, prepared once a connection
# (iop_clinic.prepared: every value a parameter, names and paths too), and the values are
# prepared by the fields as save() prepares them, so the row is the one save() stores.
@cache
def _access_insert_sql(alias: str) -> tuple[str, tuple[models.Field, ...]] | None:
    """The INSERT of one AccessEvent returning its id, and its fields in order (None where the
    database can't return the id: save() then)."""
    connection = connections[alias]
    if not connection.features.can_return_columns_from_insert:
        return None
    meta = AccessEvent._meta
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    return (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(meta.pk.column)}",
            fields)


def _access_insert(event: AccessEvent) -> None:
    """INSERT `event` as `event.save()` does; save() itself if anything listens to its saves."""
    alias = router.db_for_write(AccessEvent, instance=event)
    statement = _access_insert_sql(alias)
    if (statement is None or pre_save.has_listeners(AccessEvent)
            or post_save.has_listeners(AccessEvent)):
        event.save(force_insert=True, using=alias)
        return
    sql, fields = statement
    connection = connections[alias]
    params = [field.get_db_prep_save(field.pre_save(event, True), connection=connection)
              for field in fields]
    with connection.cursor() as cursor:
        prepared_execute(cursor, sql, params, constants=False)
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = alias


def audit_export(*, request: HttpRequest, sites: Sequence[models.Model], what: str,
                 details: dict) -> list[AccessEvent]:
    """Record that `request.user` exported `what` (a report or a list) covering `sites`.

    One event per site the export covers, each holding the report, format and filters in
    `details`, so "who took what out of this site" is one filter in the admin. One query.
    """
    user = request.user if request.user.is_authenticated else None
    now = timezone.now()
    events = [
        AccessEvent(
            at=now, actor=user, participant_id=None,
            content_type=ContentType.objects.get_for_model(site), object_pk=str(site.pk),
            object_repr=smart_str(site)[:200], what=what[:100], path=request.path[:300],
            remote_addr=request.META.get("REMOTE_ADDR") or None, details=details,
        )
        for site in sites
    ]
    return AccessEvent.objects.bulk_create(events)


def audit_import(*, actor, sites: Sequence[models.Model], what: str, details: dict,
                 path: str = "", remote_addr: str | None = None) -> list[AccessEvent]:
    """Record that `actor` checked or imported a file covering `sites`; one event per site,
    with the file's hash and counts in `details` (never its rows). One query."""
    now = timezone.now()
    return AccessEvent.objects.bulk_create([
        AccessEvent(at=now, actor=actor, participant_id=None,
                    content_type=ContentType.objects.get_for_model(site), object_pk=str(site.pk),
                    object_repr=smart_str(site)[:200], what=what[:100], path=path[:300],
                    remote_addr=remote_addr or None, details=details)
        for site in sites
    ])


def _request_context() -> dict:
    """Auditlog's actor and address for the request being served, if one is.

    django-auditlog sets its context variable when a request starts and never resets it, so
    after a request (in a test, or whatever the thread runs next) the variable still names the
    previous actor. The context is live only while its pre_save hook on LogEntry is connected.
    """
    try:
        context = auditlog_value.get()
    except LookupError:
        return {}
    key = (context.get("signal_duid"), _make_id(LogEntry))
    with pre_save.lock:
        live = any(receiver[0] == key for receiver in pre_save.receivers)
    return context if live else {}


def _value_text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return smart_str(value)


def audit_bulk(*, model: type[models.Model], objects: Iterable[models.Model],
               action: BulkAction | int, actor=None,
               fields: Sequence[str] | None = None) -> int:
    """Write one auditlog entry per row of a bulk write, in one query (one per
    `_ROWS_PER_INSERT` rows on PostgreSQL). Returns how many entries it wrote.

    For CREATE and DELETE every concrete field is recorded; for UPDATE only `fields` (the new
    values: a bulk write does not know the old ones, so they are recorded as None). Pass the
    objects after the write (for DELETE, before it), with their primary keys set.
    Inside auditlog's `disable_auditlog()` it records nothing, as auditlog's signals do.
    """
    if auditlog_disabled.get():
        return 0
    action = BulkAction(action)
    context = _request_context()
    if actor is None:
        actor = context.get("actor")
        actor = actor if getattr(actor, "is_authenticated", False) else None
    content_type = ContentType.objects.get_for_model(model)
    now = timezone.now()
    entry = audited_model_for(model)
    left_out = set(entry.exclude_fields) if entry else set()  # as auditlog's signals leave them
    names = list(fields) if fields else [
        f.name for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in left_out
    ]
    # Looked up once, not once per row and field: a census import audits 78,000 rows.
    recorded = [(name, model._meta.get_field(name)) for name in names]
    rows = []
    for obj in objects:
        values = [(name, _value_text(field.value_from_object(obj))) for name, field in recorded]
        if action is BulkAction.DELETE:
            changes = {name: [value, None] for name, value in values}
        else:
            changes = {name: [None, value] for name, value in values}
        additional = {"bulk": True}
        participant_id = participant_id_for(obj)
        if participant_id is not None:
            additional["participant"] = participant_id
        rows.append((str(obj.pk), obj.pk if isinstance(obj.pk, int) else None, smart_str(obj),
                     changes, additional))
    common = {"content_type_id": content_type.pk, "action": int(action), "timestamp": now,
              "actor_id": actor.pk if actor else None,
              "actor_email": getattr(actor, "email", None) if actor else None,
              "remote_addr": context.get("remote_addr")}
    # No savepoint: the caller's transaction already holds the write this records, and a
    # savepoint per call would cost two more queries on every bulk write.
    with transaction.atomic(savepoint=False):
        connection = connections[router.db_for_write(LogEntry)]
        if connection.vendor == "postgresql":
            for start in range(0, len(rows), _ROWS_PER_INSERT):
                _insert_unnested(connection, rows[start:start + _ROWS_PER_INSERT], common)
        else:
            LogEntry.objects.bulk_create([
                LogEntry(object_pk=pk, object_id=object_id, object_repr=text, changes=changes,
                         additional_data=additional, **common)
                for pk, object_id, text, changes, additional in rows])
    return len(rows)


# A census import audits 70,000 rows at once; as Django model instances through bulk_create
# that costs more CPU than the import itself, so PostgreSQL gets the columns as arrays.
_ROWS_PER_INSERT = 5000


def _insert_unnested(connection, rows: list[tuple], common: dict) -> None:
    """INSERT ... SELECT FROM unnest(arrays): one query, five parameters per column of rows."""
    if not rows:
        return
    column = {f.name: connection.ops.quote_name(f.column) for f in LogEntry._meta.concrete_fields}
    table = connection.ops.quote_name(LogEntry._meta.db_table)
    row_columns = ["object_pk", "object_id", "object_repr", "changes", "additional_data"]
    fixed = ["content_type", "action", "timestamp", "actor", "actor_email", "remote_addr"]
    sql = (
        f"INSERT INTO {table} ({', '.join(column[n] for n in row_columns + fixed)}, "
        f"{column['changes_text']}) "
        "SELECT t.pk, t.oid, t.repr, t.changes::jsonb, t.additional::jsonb, "
        "%s, %s, %s, %s, %s, %s::inet, '' "
        "FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[]) "
        "AS t(pk, oid, repr, changes, additional)"
    )
    pks, object_ids, texts, changes, additional = zip(*rows)
    params = [common["content_type_id"], common["action"], common["timestamp"],
              common["actor_id"], common["actor_email"], common["remote_addr"],
              list(pks), list(object_ids), list(texts),
              [json.dumps(c, cls=DjangoJSONEncoder) for c in changes],
              [json.dumps(a, cls=DjangoJSONEncoder) for a in additional]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
