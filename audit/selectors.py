"""Reads of the audit trail."""
from dataclasses import dataclass
from datetime import datetime

from auditlog.models import LogEntry

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


def chart_audit_trail(*, participant, limit: int = 500) -> list[TrailEntry]:
    """Who viewed or changed this participant's chart (the participant and every audited row
    that belongs to them, deleted rows included), newest first. Two queries whatever the size.
    """
    changes = (LogEntry.objects.filter(additional_data__participant=participant.pk)
               .select_related("actor", "content_type").order_by("-timestamp")[:limit])
    views = (AccessEvent.objects.filter(participant_id=participant.pk)
             .select_related("actor", "content_type").order_by("-at")[:limit])
    trail = [
        TrailEntry(at=entry.timestamp, actor=entry.actor, verb=_VERBS.get(entry.action, "logged"),
                   record_type=str(entry.content_type.name), record=entry.object_repr,
                   what=", ".join(sorted(entry.changes_dict)), changes=entry.changes_dict)
        for entry in changes
    ] + [
        TrailEntry(at=event.at, actor=event.actor, verb="viewed",
                   record_type=str(event.content_type.name), record=event.object_repr,
                   what=event.what, changes={})
        for event in views
    ]
    trail.sort(key=lambda entry: entry.at, reverse=True)
    return trail[:limit]
