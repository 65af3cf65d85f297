"""Model-level guards for django-auditlog's LogEntry (a third-party model, so signals).

They stop the ORM's save() and delete(); queryset.update()/delete() skip signals, so on
PostgreSQL a trigger (migration 0002) refuses UPDATE and DELETE on both audit tables too.
"""
from auditlog.models import LogEntry
from django.db.models.signals import pre_delete, pre_save

from .models import AuditRecordImmutable


def _refuse_change(sender, instance, raw=False, **kwargs) -> None:
    if not instance._state.adding:
        raise AuditRecordImmutable("Audit records cannot be changed.")


def _refuse_delete(sender, instance, **kwargs) -> None:
    raise AuditRecordImmutable("Audit records cannot be deleted.")


def connect() -> None:
    pre_save.connect(_refuse_change, sender=LogEntry, dispatch_uid="audit.logentry_immutable")
    pre_delete.connect(_refuse_delete, sender=LogEntry, dispatch_uid="audit.logentry_undeletable")
