"""The authorizations app: what payers authorized, and how much of it attendance has used."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthorizationsConfig(AppConfig):
    name = "authorizations"
    verbose_name = _("Payer authorizations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from participants.signals import reminder_inputs_changed
        from sessions.signals import attendance_marked

        # Attendance marked, sessions added, moved or cancelled (closures included),
        # enrollments and excuses changed: the stored usage of those people is derived again
        # once the change commits (as reminders re-plan), so Today's alerts follow at once.
        reminder_inputs_changed.connect(_refresh_usage, dispatch_uid="authorizations.usage")
        attendance_marked.connect(_refresh_usage, dispatch_uid="authorizations.usage_marked")
        from . import tasks  # noqa: F401  (registers the beat task in every process)


def _refresh_usage(sender, *, participant_ids, **kwargs) -> None:
    from django.db import transaction

    from .services import authorization_usage_refresh

    ids = list(participant_ids)
    transaction.on_commit(lambda: authorization_usage_refresh(participant_ids=ids))
