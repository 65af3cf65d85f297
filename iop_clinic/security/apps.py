from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    name = "iop_clinic.security"
    label = "security"
    verbose_name = _("Security")

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401  (registers checks and receivers)


class ClinicAdminConfig(AdminConfig):
    """Django's admin whose default site requires a verified second factor."""

    default_site = "iop_clinic.security.admin_site.ClinicAdminSite"
