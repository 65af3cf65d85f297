"""The reports app: census, attendance, outcomes, access, billing units, staff load; exports."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")
