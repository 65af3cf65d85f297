"""The reminders app: the outbox, its planner, sweeper, delivery, channels and inbound SMS."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "reminders"
    label = "reminders"
    verbose_name = _("Reminders")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from participants.signals import portal_invitation_requested, reminder_inputs_changed

        from programs.signals import site_address_changing
        from sessions.signals import excuse_decided, schedule_changing, seats_offered

        reminder_inputs_changed.connect(_replan_reminders, dispatch_uid="reminders.replan")
        schedule_changing.connect(_note_change_notices, dispatch_uid="reminders.notices")
        site_address_changing.connect(_note_site_address, dispatch_uid="reminders.site_address")
        excuse_decided.connect(_note_excuse_decision, dispatch_uid="reminders.excuse_notices")
        seats_offered.connect(_note_seat_offers, dispatch_uid="reminders.offer_notices")
        portal_invitation_requested.connect(_note_portal_invitation,
                                            dispatch_uid="reminders.portal_invitations")
        # Register the tasks in every process (web, scripts, not only the worker), so the
        # sweeper can enqueue the send task by name wherever it runs.
        from . import tasks  # noqa: F401

        # /healthz and /metrics live in the shell, which may not import this app: register.
        from iop_clinic.health import health_check_register
        from iop_clinic.metrics import metrics_collector_register

        from .health import outbox_health_signals
        from .metrics import OutboxCollector

        health_check_register("reminders", outbox_health_signals)
        metrics_collector_register("reminders", OutboxCollector())


def _replan_reminders(sender, *, participant_ids, **kwargs) -> None:
    from . import replan

    # Looked up on the module at call time, so tests can observe the call.
    replan.reminders_replan_on_commit(participant_ids=participant_ids)


def _note_change_notices(sender, *, session_ids, **kwargs) -> None:
    from .notices import notices_note

    notices_note(session_ids=session_ids)


def _note_site_address(sender, *, site_id, **kwargs) -> None:
    from .notices import notices_note_site_address

    notices_note_site_address(site_id=site_id)


def _note_excuse_decision(sender, *, attendance_id, **kwargs) -> None:
    from .notices import notice_excuse_decision

    notice_excuse_decision(attendance_id=attendance_id)


def _note_seat_offers(sender, *, enrollment_ids, **kwargs) -> None:
    from .notices import notice_seat_offers

    notice_seat_offers(enrollment_ids=enrollment_ids)


def _note_portal_invitation(sender, *, participant_id, by_id, **kwargs) -> None:
    from .notices import notice_portal_invitation

    notice_portal_invitation(participant_id=participant_id, by_id=by_id)
