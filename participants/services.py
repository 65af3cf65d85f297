"""Writes about participants. (Minimal version for the SMS keyword webhook; the enrollment
branch carries the full module with the same consent signatures.)"""
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ConsentChannel, ConsentSource, ContactConsent, Participant


def _check_channel_and_source(channel: str, source: str) -> None:
    if channel not in ConsentChannel.values:
        raise ValidationError(_("Unknown contact channel %(channel)s.") % {"channel": channel},
                              code="invalid_channel")
    if source not in ConsentSource.values:
        raise ValidationError(_("Unknown consent source %(source)s.") % {"source": source},
                              code="invalid_source")


def _moment(at: datetime | None) -> datetime:
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise ValidationError(_("Consent times need a time zone."), code="naive_datetime")
    return at


def consent_give(
    *, participant: Participant, channel: str, source: str, at: datetime | None = None
) -> ContactConsent:
    """Record consent to be contacted on `channel`; while one stands it is returned unchanged."""
    _check_channel_and_source(channel, source)
    given_at = _moment(at)
    with transaction.atomic():
        # Serialise consent changes per participant so two givers cannot both insert.
        Participant.objects.select_for_update().only("pk").get(pk=participant.pk)
        standing = ContactConsent.objects.filter(
            participant=participant, channel=channel, revoked_at__isnull=True
        ).first()
        if standing is not None:
            return standing
        return ContactConsent.objects.create(
            participant=participant, channel=channel, source=source, given_at=given_at
        )


def consent_revoke(
    *, participant: Participant, channel: str, source: str, at: datetime | None = None
) -> bool:
    """Revoke the standing consent on `channel`. Returns False if none stood (nothing changes)."""
    _check_channel_and_source(channel, source)
    revoked_at = _moment(at)
    with transaction.atomic():
        Participant.objects.select_for_update().only("pk").get(pk=participant.pk)
        standing = ContactConsent.objects.filter(
            participant=participant, channel=channel, revoked_at__isnull=True
        ).first()
        if standing is None:
            return False
        if revoked_at < standing.given_at:
            raise ValidationError(_("Consent cannot be revoked before it was given."),
                                  code="revoked_before_given")
        standing.revoked_at = revoked_at
        standing.revoked_source = source
        standing.save(update_fields=["revoked_at", "revoked_source"])
        return True
