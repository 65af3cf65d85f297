"""Retention: message text and provider payloads are kept only as long as they are useful.

A reminder's body and the provider's error text (`detail`, which may echo the number) repeat
a participant's name, number and visit times; once the visit is long past they only add to
what a breach would expose. Settings:

    REMINDER_RETENTION_DAYS = 30
    RETENTION_PURGE = [("reminders.Reminder", "created_at", ["body", "detail"])]

Each entry names a model, the timestamp that ages a row, and the fields to blank. The row
itself stays (the reminder was sent; when and to whom is part of the record of care). One
UPDATE per model, recorded in the audit trail through `audit_bulk`. A model that is not
installed is logged as a warning and skipped, so the setting can name a model before the
branch that adds it is deployed; a field that does not exist is a configuration error.
"""
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import BulkAction, audit_bulk

logger = logging.getLogger(__name__)

PurgeEntry = tuple[str, str, Sequence[str]]


def _blank_value(field: models.Field):
    if field.null:
        return None
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, (models.CharField, models.TextField)):
        return ""
    raise ImproperlyConfigured(
        f"RETENTION_PURGE cannot blank {field.model._meta.label}.{field.name}: "
        "only text, JSON or nullable fields can be emptied."
    )


def _fields(model: type[models.Model], names: Iterable[str]) -> list[models.Field]:
    try:
        return [model._meta.get_field(name) for name in names]
    except FieldDoesNotExist as exc:
        raise ImproperlyConfigured(f"RETENTION_PURGE: {exc}") from exc


def _purge_model(model: type[models.Model], age_field: str, field_names: Sequence[str],
                 cutoff: datetime) -> int:
    fields = _fields(model, [age_field, *field_names])[1:]
    blanks = {field.name: _blank_value(field) for field in fields}
    already_blank = Q()
    for name, value in blanks.items():
        already_blank &= Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})
    expired = model._default_manager.filter(**{f"{age_field}__lt": cutoff}).exclude(already_blank)
    with transaction.atomic():
        ids = list(expired.select_for_update().values_list("pk", flat=True))
        if not ids:
            return 0
        count = expired.update(**blanks)
        # The rows as they now are: the audit entry records the emptied fields.
        audit_bulk(model=model, objects=model._default_manager.filter(pk__in=ids).select_related(),
                   action=BulkAction.UPDATE, fields=list(blanks))
    return count


def retention_purge(*, entries: Iterable[PurgeEntry], days: int,
                    now: datetime | None = None) -> int:
    """Blank the listed fields on rows older than `days`; returns how many rows changed."""
    if days < 1:
        raise ImproperlyConfigured("The retention period must be at least one day.")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    total = 0
    for label, age_field, field_names in entries:
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            logger.warning("retention: %s is not an installed model; nothing purged for it", label)
            continue
        purged = _purge_model(model, age_field, field_names, cutoff)
        logger.info("retention: %s rows of %s emptied", purged, label)
        total += purged
    return total


def reminder_bodies_purge(*, now: datetime | None = None) -> int:
    """Empty message bodies and provider payloads older than REMINDER_RETENTION_DAYS."""
    return retention_purge(entries=settings.RETENTION_PURGE,
                           days=settings.REMINDER_RETENTION_DAYS, now=now)
