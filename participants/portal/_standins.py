"""STAND-INS for pieces other branches build. Swap each for the real one at merge, then delete.

- `consent_give` / `consent_revoke`: the agreed signatures of `participants.services`
  (the participants branch). Replace the import in `participants/portal/services.py`.
- `standin_login` / `standin_home` / `standin_logout`: the staff app's sign-in page (`login`),
  staff `home` and `logout`. `iop_clinic/urls.py` includes `participants.portal.standin_urls`
  only until the staff app lands; the staff app's LoginView should use
  `participants.portal.access.post_login_redirect` for its success URL.
"""
from datetime import datetime

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from participants.models import ContactConsent, Participant
from sessions.services.replan import reminders_replan_on_commit

from .access import post_login_redirect


@transaction.atomic
def consent_give(*, participant: Participant, channel: str, source: str,
                 at: datetime | None = None) -> ContactConsent:
    at = at or timezone.now()
    standing = ContactConsent.objects.select_for_update().filter(
        participant=participant, channel=channel, revoked_at__isnull=True).first()
    if standing:
        return standing
    consent = ContactConsent.objects.create(participant=participant, channel=channel,
                                            given_at=at, source=source)
    reminders_replan_on_commit(participant_ids=[participant.pk])
    return consent


@transaction.atomic
def consent_revoke(*, participant: Participant, channel: str, source: str,
                   at: datetime | None = None) -> bool:
    at = at or timezone.now()
    changed = ContactConsent.objects.filter(
        participant=participant, channel=channel, revoked_at__isnull=True,
    ).update(revoked_at=at, revoked_source=source)
    if changed:
        reminders_replan_on_commit(participant_ids=[participant.pk])
    return bool(changed)


class StandinLoginView(auth_views.LoginView):
    template_name = "portal/_standin/login.html"

    def get_default_redirect_url(self) -> str:
        return post_login_redirect(self.request.user)


standin_login = StandinLoginView.as_view()
standin_logout = auth_views.LogoutView.as_view()


@login_required
def standin_home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/_standin/home.html")
