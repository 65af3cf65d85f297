"""The shell's operations app (no models): registers `manage.py preflight`."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    name = "iop_clinic.ops"
    label = "ops"
    verbose_name = _("Operations")
