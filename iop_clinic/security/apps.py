"""The shell's security app: registers the system checks that guard security settings, and
starts the optional error reports (web processes and Celery workers alike run this)."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    name = "iop_clinic.security"
    label = "security"
    verbose_name = _("Security")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)

        from django.conf import settings

        if settings.SENTRY_DSN:
            from .error_reports import error_reports_start

            error_reports_start(dsn=settings.SENTRY_DSN, environment=settings.SENTRY_ENVIRONMENT)
