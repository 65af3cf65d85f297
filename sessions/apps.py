from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IopSessionsConfig(AppConfig):
    # Django's own sessions app owns the label "sessions".
    name = "sessions"
    label = "iop_sessions"
    verbose_name = _("Sessions and attendance")

    def ready(self) -> None:
        from participants.signals import reminder_inputs_changed

        reminder_inputs_changed.connect(_replan_reminders, dispatch_uid="iop_sessions.replan")


def _replan_reminders(sender, *, participant_ids, **kwargs) -> None:
    from .services import replan

    # Looked up on the module at call time, so tests can observe the call.
    replan.reminders_replan_on_commit(participant_ids=participant_ids)
