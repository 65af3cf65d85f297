"""The audit app: registers audited models with django-auditlog and guards the trail."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    label = "audit"
    verbose_name = _("Audit trail")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import guards, registry

        registry.register_audited_models()
        guards.connect()
