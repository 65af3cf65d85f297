"""At login: start the log-off clocks and decide once whether a second factor is required."""
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .middleware import mark_session_started
from .twofactor import remember_two_factor_requirement


@receiver(user_logged_in, dispatch_uid="security.session_started")
def _session_started(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    mark_session_started(request, user)
    remember_two_factor_requirement(request, user)
