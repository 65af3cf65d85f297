"""Reads of the audit trail."""
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.utils.formats import date_format

from iop_clinic.formatting import phone
from .models import AccessEvent
from .registry import AUDITED_MODELS

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


def _readable_changes(entries, zone: zoneinfo.ZoneInfo) -> list[dict]:
    """Each entry's changes as people read them: field labels, choice labels, and the names of
    related rows instead of their ids ("assignee: None → 3" becomes "assigned to: — → Ana Ruiz"),
    dates and times in our formats with times in `zone` (not UTC), phone numbers nationally.

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
                elif isinstance(field, models.DateTimeField):
                    shown.append(_moment(value, zone))
                elif isinstance(field, models.DateField):
                    shown.append(_date(value))
                elif name == "phone" or name.endswith("_phone"):
                    shown.append(phone(value))
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


def _moment(value, zone: zoneinfo.ZoneInfo) -> str:
    # django-auditlog keeps a datetime as naive UTC text, our bulk writes as aware text.
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return date_format(moment.astimezone(zone), "DATETIME_FORMAT")


# "What" filters of the trail: each names the rows it keeps.
TRAIL_ACTIONS = {"viewed": "viewed", "created": LogEntry.Action.CREATE,
                 "changed": LogEntry.Action.UPDATE, "deleted": LogEntry.Action.DELETE}
SYSTEM_ACTOR = "system"  # the "who" of rows written by no one (a Celery task, a command)


@dataclass(frozen=True)
class TrailFilters:
    """Who, what and when; empty means everything. `since` and `until` bound `at` (until
    exclusive), already turned into instants in the chart's time zone by the caller."""

    actor: str = ""  # a user's pk as text, SYSTEM_ACTOR, or "" for anyone
    action: str = ""  # a key of TRAIL_ACTIONS
    content_type_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def any(self) -> bool:
        return bool(self.actor or self.action or self.content_type_id or self.since
                    or self.until)


class TrailPages:
    """The merged trail as a sequence Django's Paginator can page: counts are two queries, a
    page reads the newest `stop` rows of each kind and merges them."""

    def __init__(self, *, participant, filters: TrailFilters | None = None):
        filters = filters or TrailFilters()
        self.zone = participant.home_site.zone  # changed times read in the chart's site's zone
        self.changes = (LogEntry.objects.filter(additional_data__participant=participant.pk)
                        .select_related("actor", "content_type").order_by("-timestamp", "-pk"))
        self.views = (AccessEvent.objects.filter(participant_id=participant.pk)
                      .select_related("actor", "content_type").order_by("-at", "-pk"))
        if filters.actor == SYSTEM_ACTOR:
            self.changes = self.changes.filter(actor__isnull=True)
            self.views = self.views.filter(actor__isnull=True)
        elif filters.actor:
            self.changes = self.changes.filter(actor_id=int(filters.actor))
            self.views = self.views.filter(actor_id=int(filters.actor))
        if filters.action == "viewed":
            self.changes = self.changes.filter(action=LogEntry.Action.ACCESS)
        elif filters.action in TRAIL_ACTIONS:
            self.changes = self.changes.filter(action=TRAIL_ACTIONS[filters.action])
            self.views = self.views.none()
        if filters.content_type_id:
            self.changes = self.changes.filter(content_type_id=filters.content_type_id)
            self.views = self.views.filter(content_type_id=filters.content_type_id)
        if filters.since:
            self.changes = self.changes.filter(timestamp__gte=filters.since)
            self.views = self.views.filter(at__gte=filters.since)
        if filters.until:
            self.changes = self.changes.filter(timestamp__lt=filters.until)
            self.views = self.views.filter(at__lt=filters.until)

    def count(self) -> int:
        return self.changes.count() + self.views.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[TrailEntry]:
        return _merged(self.changes[:window.stop], self.views[:window.stop],
                       self.zone)[window]


def trail_actors(*, participant) -> list[tuple[str, str]]:
    """Everyone who appears in this chart's trail, by name, as (pk, name); one query."""
    changed = LogEntry.objects.filter(additional_data__participant=participant.pk,
                                      actor__isnull=False).values("actor_id")
    viewed = AccessEvent.objects.filter(participant_id=participant.pk,
                                        actor__isnull=False).values("actor_id")
    people = (get_user_model().objects.filter(Q(pk__in=changed) | Q(pk__in=viewed))
              .order_by("last_name", "first_name", "username", "pk"))
    return [(str(person.pk), str(person)) for person in people]


def trail_record_types() -> list[tuple[int, str]]:
    """The kinds of record a chart's trail can hold, as (content type id, verbose name)."""
    models_ = [entry.model for entry in AUDITED_MODELS]
    types = ContentType.objects.get_for_models(*models_)  # cached after the first call
    return sorted(((types[model].pk, str(model._meta.verbose_name).capitalize())
                   for model in models_), key=lambda choice: choice[1])


def _merged(changes, views, zone: zoneinfo.ZoneInfo) -> list[TrailEntry]:
    changes = list(changes)
    trail = [
        TrailEntry(at=entry.timestamp, actor=entry.actor, verb=_VERBS.get(entry.action, "logged"),
                   record_type=str(entry.content_type.name), record=entry.object_repr,
                   what=", ".join(readable), changes=readable)
        for entry, readable in zip(changes, _readable_changes(changes, zone))
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
