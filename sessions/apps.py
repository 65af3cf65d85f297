"""The sessions app (label iop_sessions): therapy sessions, attendance, follow-ups, excuses."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IopSessionsConfig(AppConfig):
    # Django's own sessions app owns the label "sessions".
    name = "sessions"
    label = "iop_sessions"
    verbose_name = _("Sessions and attendance")
