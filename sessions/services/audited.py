"""Bulk writes that cost a fixed number of queries and still leave one audit entry per row.

django-auditlog audits through per-object model signals. A queryset delete of audited rows
therefore writes one log entry per deleted (and cascaded) row, so its cost grows with the data;
`bulk_create`, `bulk_update` and `queryset.update()` send no signals and would go unaudited.
These helpers write with auditlog's signals muted (`disable_auditlog`) and record every row
through `audit.services.audit_bulk`: one insert per audited model, in the caller's
transaction, so the write and its audit trail commit or roll back together.
Models outside the audit registry are written as usual and not recorded.
"""
from collections.abc import Iterable, Sequence

from auditlog.context import disable_auditlog
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.db import models
from django.db.models.deletion import Collector

from audit.registry import audited_model_for
from audit.services import BulkAction, audit_bulk

# What each audited model's __str__ (the log entry's object_repr) reads, loaded in the same query.
_REPR_RELATED: dict[str, tuple[str, ...]] = {
    "iop_sessions.TherapySession": ("session_type",),
    "iop_sessions.Attendance": ("participant", "session__session_type"),
    "iop_sessions.FollowUp": ("participant",),
    "iop_sessions.ExcusedAbsenceRequest": ("attendance__participant",
                                           "attendance__session__session_type"),
    "participants.Enrollment": ("participant", "track__program"),
    "participants.ContinuingCarePlan": ("enrollment__participant",),
}


def _audited(model: type[models.Model]) -> bool:
    return audited_model_for(model) is not None


def _for_audit(model: type[models.Model], pks: Iterable) -> models.QuerySet:
    return (model._default_manager.filter(pk__in=list(pks))
            .select_related(*_REPR_RELATED.get(model._meta.label, ())).order_by("pk"))


def rows_create(*, model: type[models.Model], objects: Sequence[models.Model],
                batch_size: int | None = 500) -> list[models.Model]:
    """`bulk_create` the objects and audit each new row."""
    created = model._default_manager.bulk_create(objects, batch_size=batch_size)
    if created and _audited(model):
        audit_bulk(model=model, objects=_for_audit(model, [o.pk for o in created]),
                   action=BulkAction.CREATE)
    return created


def rows_audit_created(*, model: type[models.Model], pks: Sequence,
                       objects: Sequence[models.Model] = ()) -> None:
    """Audit rows a bulk insert made that it could not return (e.g. with ignore_conflicts):
    read back by `pks`, or given as `objects` (pk set, and what their __str__ reads loaded)."""
    if not _audited(model):
        return
    if objects:
        audit_bulk(model=model, objects=objects, action=BulkAction.CREATE)
    elif pks:
        audit_bulk(model=model, objects=_for_audit(model, pks), action=BulkAction.CREATE)


def rows_update(*, queryset: models.QuerySet, **values) -> int:
    """`queryset.update(**values)` and audit each changed row with its new values."""
    model = queryset.model
    if not _audited(model):
        return queryset.update(**values)
    pks = list(queryset.values_list("pk", flat=True))
    if not pks:
        return 0
    count = model._default_manager.filter(pk__in=pks).update(**values)
    audit_bulk(model=model, objects=_for_audit(model, pks), action=BulkAction.UPDATE,
               fields=list(values))
    return count


def rows_bulk_update(*, objects: Sequence[models.Model], fields: Sequence[str],
                     batch_size: int | None = 500) -> int:
    """`bulk_update` the objects' `fields` and audit each row with its new values."""
    if not objects:
        return 0
    model = type(objects[0])
    count = model._default_manager.bulk_update(objects, fields, batch_size=batch_size)
    if _audited(model):
        audit_bulk(model=model, objects=_for_audit(model, [o.pk for o in objects]),
                   action=BulkAction.UPDATE, fields=list(fields))
    return count


def rows_audited(*, model: type[models.Model], objects: Sequence[models.Model],
                 fields: Sequence[str]) -> None:
    """Audit rows the caller has just updated (in the database) as `objects` now hold them."""
    if objects and _audited(model):
        audit_bulk(model=model, objects=_for_audit(model, [o.pk for o in objects]),
                   action=BulkAction.UPDATE, fields=list(fields))


def row_save_audited(*, obj: models.Model, old: models.Model, fields: Sequence[str]) -> None:
    """`obj.save(update_fields=fields)`, audited as django-auditlog's update receiver audits it
    (the same diff, entry and actor), but against `old`: the row as the caller read it under
    its row lock, so as the database still holds it. The receiver read the row again to learn
    its old values, one more query a mark, joined for the model's ordering."""
    if not _audited(type(obj)):
        obj.save(update_fields=fields)
        return
    with disable_auditlog():
        obj.save(update_fields=fields)
    changes = model_instance_diff(old, obj, fields_to_check=frozenset(fields),
                                  use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES)
    if changes:
        LogEntry.objects.log_create(obj, action=LogEntry.Action.UPDATE, changes=changes)


def rows_delete(*, queryset: models.QuerySet) -> tuple[int, dict[str, int]]:
    """`queryset.delete()`, cascades included, auditing every audited row it removes.

    Returns what `QuerySet.delete()` returns. Django's collector finds the rows (one query per
    relation, whatever their number); each audited model's rows are recorded before they go.
    """
    to_delete = queryset._chain()
    to_delete._for_write = True
    to_delete.query.select_for_update = False
    to_delete.query.select_related = False
    to_delete.query.clear_ordering(force=True)
    collector = Collector(using=to_delete.db, origin=queryset)
    collector.collect(to_delete)
    for model, instances in collector.data.items():
        if instances and _audited(model):
            audit_bulk(model=model, objects=_for_audit(model, [o.pk for o in instances]),
                       action=BulkAction.DELETE)
    with disable_auditlog():
        return collector.delete()
