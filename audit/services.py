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
from collections.abc import Iterable, Sequence
from enum import IntEnum

from auditlog.context import auditlog_value
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models.signals import pre_save
from django.dispatch.dispatcher import _make_id
from django.http import HttpRequest
from django.utils import timezone
from django.utils.encoding import smart_str

from .models import AccessEvent
from .registry import participant_id_for


class BulkAction(IntEnum):
    CREATE = LogEntry.Action.CREATE
    UPDATE = LogEntry.Action.UPDATE
    DELETE = LogEntry.Action.DELETE


def audit_access(*, request: HttpRequest, obj: models.Model, what: str) -> AccessEvent:
    """Record that `request.user` viewed `obj` (a participant or a row of their chart)."""
    user = request.user if request.user.is_authenticated else None
    # One INSERT is atomic by itself; no savepoint, so a page's query count grows by one.
    with transaction.atomic(savepoint=False):
        return AccessEvent.objects.create(
            actor=user,
            participant_id=participant_id_for(obj),
            content_type=ContentType.objects.get_for_model(obj),
            object_pk=str(obj.pk),
            object_repr=smart_str(obj)[:200],
            what=what[:100],
            path=request.path[:300],
            remote_addr=request.META.get("REMOTE_ADDR") or None,
        )


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


def _field_value(obj: models.Model, name: str) -> str | None:
    field = obj._meta.get_field(name)
    value = field.value_from_object(obj)
    return None if value is None else smart_str(value)


def audit_bulk(*, model: type[models.Model], objects: Iterable[models.Model],
               action: BulkAction | int, actor=None,
               fields: Sequence[str] | None = None) -> list[LogEntry]:
    """Write one auditlog entry per row of a bulk write, in one query.

    For CREATE and DELETE every concrete field is recorded; for UPDATE only `fields` (the new
    values: a bulk write does not know the old ones, so they are recorded as None). Pass the
    objects after the write (for DELETE, before it), with their primary keys set.
    """
    action = BulkAction(action)
    context = _request_context()
    if actor is None:
        actor = context.get("actor")
        actor = actor if getattr(actor, "is_authenticated", False) else None
    content_type = ContentType.objects.get_for_model(model)
    now = timezone.now()
    names = list(fields) if fields else [
        f.name for f in model._meta.concrete_fields if not f.primary_key
    ]
    entries = []
    for obj in objects:
        if action is BulkAction.DELETE:
            changes = {name: [_field_value(obj, name), None] for name in names}
        else:
            changes = {name: [None, _field_value(obj, name)] for name in names}
        additional = {"bulk": True}
        participant_id = participant_id_for(obj)
        if participant_id is not None:
            additional["participant"] = participant_id
        entries.append(LogEntry(
            content_type=content_type, object_pk=str(obj.pk),
            object_id=obj.pk if isinstance(obj.pk, int) else None,
            object_repr=smart_str(obj), action=int(action), changes=changes,
            actor=actor, actor_email=getattr(actor, "email", None) if actor else None,
            remote_addr=context.get("remote_addr"), timestamp=now, additional_data=additional,
        ))
    # No savepoint: the caller's transaction already holds the write this records, and a
    # savepoint per call would cost two more queries on every bulk write.
    with transaction.atomic(savepoint=False):
        return LogEntry.objects.bulk_create(entries)
