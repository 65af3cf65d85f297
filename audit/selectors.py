"""Reads of the audit trail."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from auditlog.models import LogEntry
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.formats import date_format

from .models import AccessEvent

_VERBS = {LogEntry.Action.CREATE: "created", LogEntry.Action.UPDATE: "changed",
          LogEntry.Action.DELETE: "deleted", LogEntry.Action.ACCESS: "viewed"}


@dataclass(frozen=True)
class TrailEntry:
    at: datetime
    actor: object  # the User, or None for the system (a Celery task, a command)
    verb: str  # "viewed", "created", "changed", "deleted"
    record_type: str  # the model's verbose name, e.g. "enrollment"
    record: str  # the row's text at the time
    what: str  # for views: what was viewed; for changes: the fields changed, comma-separated
    changes: dict  # field -> [old, new]; empty for views


def _field(model, name):
    try:
        return model._meta.get_field(name) if model else None
    except FieldDoesNotExist:
        return None


def _readable_changes(entries) -> list[dict]:
    """Each entry's changes as people read them: field labels, choice labels, and the names of
    related rows instead of their ids ("assignee: None → 3" becomes "assigned to: — → Ana Ruiz").

    One query per kind of related row on the page (users, tracks...), not one per change.
    """
    wanted = defaultdict(set)
    for entry in entries:
        model = entry.content_type.model_class()
        for name, values in entry.changes_dict.items():
            field = _field(model, name)
            if field is not None and (field.many_to_one or field.one_to_one):
                wanted[field.related_model].update(v for v in values if v not in (None, "None", ""))
    names = {}
    for related, pks in wanted.items():
        rows = related._base_manager.in_bulk([pk for pk in pks if str(pk).isdigit()])
        names[related] = {str(pk): str(row) for pk, row in rows.items()}

    readable = []
    for entry in entries:
        model = entry.content_type.model_class()
        changes = {}
        for name, values in entry.changes_dict.items():
            field = _field(model, name)
            if field is not None and field.auto_created and not field.concrete:
                continue  # a reverse relation ("followups"): nothing anyone typed
            if all(value in (None, "None", "") for value in values):
                continue  # nothing on either side
            label = str(field.verbose_name) if getattr(field, "verbose_name", None) else name
            choices = dict(field.choices) if getattr(field, "choices", None) else {}
            shown = []
            for value in values:
                if value in (None, "None", ""):
                    shown.append(None)
                elif field is not None and field.is_relation and field.related_model in names:
                    shown.append(names[field.related_model].get(str(value), f"#{value} (deleted)"))
                elif isinstance(field, models.DateField) and not isinstance(
                        field, models.DateTimeField):
                    shown.append(_date(value))
                else:
                    shown.append(str(choices.get(value, value)))
            changes[label] = shown
        readable.append(changes)
    return readable


def _date(value) -> str:
    try:
        return date_format(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


class TrailPages:
    """The merged trail as a sequence Django's Paginator can page: counts are two queries, a
    page reads the newest `stop` rows of each kind and merges them."""

    def __init__(self, *, participant):
        self.changes = (LogEntry.objects.filter(additional_data__participant=participant.pk)
                        .select_related("actor", "content_type").order_by("-timestamp", "-pk"))
        self.views = (AccessEvent.objects.filter(participant_id=participant.pk)
                      .select_related("actor", "content_type").order_by("-at", "-pk"))

    def count(self) -> int:
        return self.changes.count() + self.views.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[TrailEntry]:
        return _merged(self.changes[:window.stop], self.views[:window.stop])[window]


def _merged(changes, views) -> list[TrailEntry]:
    changes = list(changes)
    trail = [
        TrailEntry(at=entry.timestamp, actor=entry.actor, verb=_VERBS.get(entry.action, "logged"),
                   record_type=str(entry.content_type.name), record=entry.object_repr,
                   what=", ".join(readable), changes=readable)
        for entry, readable in zip(changes, _readable_changes(changes))
    ] + [
        TrailEntry(at=event.at, actor=event.actor, verb="viewed",
                   record_type=str(event.content_type.name), record=event.object_repr,
                   what=event.what, changes={})
        for event in views
    ]
    trail.sort(key=lambda entry: entry.at, reverse=True)
    return trail


def chart_audit_trail(*, participant, limit: int = 500) -> list[TrailEntry]:
    """Who viewed or changed this participant's chart (the participant and every audited row
    that belongs to them, deleted rows included), newest first, with readable changes."""
    return TrailPages(participant=participant)[slice(0, limit)]
