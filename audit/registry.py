"""The one list of audited models. Add a line here to audit another model.

Each entry names the model, how to reach the participant whose chart the row belongs to (so
`chart_audit_trail` finds its log entries, even after the row is deleted), and fields to leave
out of the recorded changes. The participant id is stored in the log entry's
`additional_data["participant"]` through django-auditlog's `get_additional_data` hook, which
this module attaches to each audited model (a model's own `get_additional_data`, if it ever has
one, is kept and merged).
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce

from auditlog.registry import auditlog
from django.apps import apps
from django.db import models


@dataclass(frozen=True)
class AuditedModel:
    label: str  # "app_label.ModelName"
    # Attribute path from a row to its participant's id; "pk" for Participant itself, "" for
    # rows that belong to no single chart (e.g. a group session).
    participant_path: str
    exclude_fields: tuple[str, ...] = field(default=())

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.label)

    def participant_id(self, obj: models.Model) -> int | None:
        if not self.participant_path:
            return None
        return reduce(lambda value, name: getattr(value, name, None) if value is not None
                      else None, self.participant_path.split("."), obj)


AUDITED_MODELS: list[AuditedModel] = [
    AuditedModel("participants.Participant", "pk"),
    AuditedModel("participants.ContactConsent", "participant_id"),
    AuditedModel("participants.Enrollment", "participant_id"),
    AuditedModel("participants.ContinuingCarePlan", "enrollment.participant_id"),
    AuditedModel("participants.Contact", "participant_id"),
    AuditedModel("participants.DisclosureConsent", "contact.participant_id"),
    # Individual and family sessions belong to one participant; group sessions to none.
    AuditedModel("iop_sessions.TherapySession", "participant_id"),
    # The session's date is the session's, kept on the row by the database (as a follow-up's
    # session site): no one changes it, and the instance a save audits does not hold it.
    AuditedModel("iop_sessions.Attendance", "participant_id", exclude_fields=("session_date",)),
    # The session's site and the person's home site are theirs, kept on the follow-up by the
    # database: no one changes them, and the instance a save audits does not hold them.
    AuditedModel("iop_sessions.FollowUp", "participant_id",
                 exclude_fields=("session_site", "home_site")),
    AuditedModel("iop_sessions.ContactAttendance", "contact.participant_id"),
    # The session's site and start are the session's, kept on the request by the database:
    # no one changes them, and the instance a save audits does not hold them.
    AuditedModel("iop_sessions.ExcusedAbsenceRequest", "attendance.participant_id",
                 exclude_fields=("session_site", "session_starts_at")),
    AuditedModel("authorizations.Coverage", "enrollment.participant_id"),
    AuditedModel("authorizations.Authorization", "enrollment.participant_id"),
    AuditedModel("authorizations.AuthorizationOverride", "enrollment.participant_id"),
]


def audited_model_for(model: type[models.Model]) -> AuditedModel | None:
    label = model._meta.label
    return next((entry for entry in AUDITED_MODELS if entry.label == label), None)


def participant_id_for(obj: models.Model) -> int | None:
    """The id of the participant whose chart `obj` belongs to, if any."""
    if obj._meta.label == "participants.Participant":
        return obj.pk
    entry = audited_model_for(type(obj))
    if entry is not None:
        return entry.participant_id(obj)
    return getattr(obj, "participant_id", None)


def _additional_data_hook(entry: AuditedModel,
                          own: Callable[[models.Model], dict | None] | None):
    def get_additional_data(self) -> dict | None:
        data = dict(own(self) or {}) if own else {}
        participant_id = entry.participant_id(self)
        if participant_id is not None:
            data["participant"] = participant_id
        return data or None

    get_additional_data._audit_hook = True
    return get_additional_data


def register_audited_models() -> None:
    for entry in AUDITED_MODELS:
        model = entry.model
        if model in auditlog.get_models():
            continue
        auditlog.register(model, exclude_fields=list(entry.exclude_fields))
        own = getattr(model, "get_additional_data", None)
        if not getattr(own, "_audit_hook", False):
            model.get_additional_data = _additional_data_hook(entry, own)
