"""The participant portal face: a participant's own pages and calendar feed; no models."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    # The participant portal builds on participants and sessions; nothing builds on it.
    name = "portal"
    verbose_name = _("Participant portal")
