"""The authorizations app: what payers authorized, and how much of it attendance has used."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthorizationsConfig(AppConfig):
    name = "authorizations"
    verbose_name = _("Payer authorizations")
    default_auto_field = "django.db.models.BigAutoField"
