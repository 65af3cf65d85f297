"""Stand-in until the enrollment branch merges: consent changes, with the same signatures."""
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sessions.services.replan import reminders_replan_on_commit

from .models import ContactConsent, Participant


def consent_give(*, participant: Participant, channel: str, source: str,
                 at: datetime | None = None) -> ContactConsent:
    with transaction.atomic():
        standing = ContactConsent.objects.filter(participant=participant, channel=channel,
                                                 revoked_at__isnull=True).first()
        if standing is not None:
            return standing
        consent = ContactConsent.objects.create(participant=participant, channel=channel,
                                                source=source, given_at=at or timezone.now())
        reminders_replan_on_commit(participant_ids=[participant.pk])
    return consent


def consent_revoke(*, participant: Participant, channel: str, source: str,
                   at: datetime | None = None) -> bool:
    with transaction.atomic():
        revoked = ContactConsent.objects.filter(
            participant=participant, channel=channel, revoked_at__isnull=True,
        ).update(revoked_at=at or timezone.now(), revoked_source=source)
        if revoked:
            reminders_replan_on_commit(participant_ids=[participant.pk])
    return bool(revoked)
