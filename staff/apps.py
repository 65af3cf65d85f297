"""The staff face: pages for front desk, clinicians and directors. It defines no model."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    name = "staff"
    label = "staff"
    verbose_name = _("Staff pages")
