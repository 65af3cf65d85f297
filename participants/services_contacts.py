"""Writes about family contacts and the participant's consent to tell them about appointments.

Every change here can start or stop messages to a contact, so it announces
`signals.reminder_inputs_changed` for the participant and the reminders app re-plans.
"""
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from programs.models import MinorDisclosureSigner, Population

from .models import (
    ADULT_AGE,
    Contact,
    DisclosureConsent,
    DisclosureScope,
    DisclosureSigner,
    Enrollment,
    EnrollmentStatus,
    Participant,
    age_on,
)
from .signals import reminder_inputs_changed

CONTACT_FIELDS = frozenset({"name", "relationship", "is_guardian_of_minor", "email", "phone",
                            "language", "reminder_channels"})


def participant_is_minor(*, participant: Participant, day: date) -> bool:
    """Under 18 on `day` by the date of birth; without one, enrolled in an adolescent program."""
    if participant.date_of_birth is not None:
        return age_on(participant.date_of_birth, day) < ADULT_AGE
    return Enrollment.objects.filter(
        participant=participant, status__in=EnrollmentStatus.seat_holding(),
        track__program__population=Population.ADOLESCENT).exists()


def minor_signer_policy(*, participant: Participant) -> str:
    """Who must sign for this (minor) participant: the program of the current enrollment says;
    with none, the stricter rule (both)."""
    enrollment = (Enrollment.objects.filter(participant=participant,
                                            status__in=EnrollmentStatus.seat_holding())
                  .select_related("track__program").first())
    if enrollment is None:
        return MinorDisclosureSigner.BOTH
    return enrollment.track.program.minor_disclosure_signer


def _replan(participant_id: int) -> None:
    reminder_inputs_changed.send(sender=Contact, participant_ids=[participant_id])


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - CONTACT_FIELDS)
    if unknown:
        raise ValidationError(_("These contact fields cannot be changed here: %(fields)s."),
                              code="unknown_field", params={"fields": ", ".join(unknown)})
    return {name: value.strip() if isinstance(value, str) else value
            for name, value in data.items()}


def _sms_consent(contact: Contact, given: bool | None, at: datetime) -> None:
    if given and not contact.phone:
        raise ValidationError({"phone": ValidationError(
            _("Enter a mobile number to record consent to text messages."),
            code="consent_needs_phone")})
    if given is None or given == contact.has_sms_consent:
        return
    if given:
        contact.sms_consent_at, contact.sms_revoked_at = at, None
    else:
        contact.sms_revoked_at = at


def contact_create(*, participant: Participant, data: dict[str, Any],
                   sms_consent: bool = False) -> Contact:
    """Add a contact. `sms_consent`: the contact agreed to text messages (recorded now)."""
    contact = Contact(participant=participant, **_clean(data))
    with transaction.atomic():
        _sms_consent(contact, sms_consent, timezone.now())
        contact.full_clean(exclude=["participant"])
        contact.save()
        _replan(participant.pk)
    return contact


def contact_update(*, contact: Contact, data: dict[str, Any],
                   sms_consent: bool | None = None) -> Contact:
    """Change a contact's details; `sms_consent` True/False records the contact's own answer
    about text messages (None leaves it)."""
    wanted = _clean(data)
    with transaction.atomic():
        current = Contact.objects.select_for_update().get(pk=contact.pk)
        if current.removed_at is not None:
            raise ValidationError(_("This contact was removed."), code="contact_removed")
        for name, value in wanted.items():
            setattr(current, name, value)
        if sms_consent is None and "phone" in wanted and not current.phone:
            sms_consent = False  # the number is gone, and with it consent to texts
        _sms_consent(current, sms_consent, timezone.now())
        current.full_clean(exclude=["participant"])
        current.save()
        _replan(current.participant_id)
    return current


def contact_sms_consent_set(*, contact_ids: list[int], given: bool,
                            at: datetime | None = None) -> int:
    """A contact's STOP or START (from the inbound webhook): their own texts only."""
    at = at or timezone.now()
    changed, participants = 0, set()
    with transaction.atomic():
        for contact in Contact.objects.select_for_update().filter(pk__in=contact_ids):
            if given == contact.has_sms_consent or (given and not contact.phone):
                continue
            _sms_consent(contact, given, at)
            contact.save(update_fields=["sms_consent_at", "sms_revoked_at", "updated_at"])
            changed += 1
            participants.add(contact.participant_id)
        if participants:
            reminder_inputs_changed.send(sender=Contact, participant_ids=sorted(participants))
    return changed


def contact_remove(*, contact: Contact, by: Any) -> Contact:
    """Remove a contact from the chart: nothing more is sent to them, and a standing consent is
    revoked. The row and its consents stay (Part 2 asks that consents be kept)."""
    now = timezone.now()
    with transaction.atomic():
        current = Contact.objects.select_for_update().get(pk=contact.pk)
        if current.removed_at is not None:
            return current
        current.removed_at = now
        current.save(update_fields=["removed_at", "updated_at"])
        for consent in current.disclosure_consents.filter(revoked_at__isnull=True):
            consent.revoked_at, consent.revoked_by = now, by
            consent.revoke_reason = _("Contact removed from the chart")
            consent.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        _replan(current.participant_id)
    return current


def disclosure_consent_record(*, contact: Contact, signed_on: date, expires_on: date,
                              signed_by: str, by: Any,
                              scope: str = DisclosureScope.APPOINTMENT_TIMES) -> DisclosureConsent:
    """Record the participant's signed consent to tell `contact` about appointment times.

    Replaces a consent still unrevoked for this contact. For a minor, the program's policy
    says who signs (`Program.minor_disclosure_signer`). Codes: contact_removed,
    expires_before_signed, signed_in_future, invalid_scope, invalid_signer, guardian_must_sign.
    """
    if contact.removed_at is not None:
        raise ValidationError(_("This contact was removed."), code="contact_removed")
    if scope not in DisclosureScope.values:
        raise ValidationError(_("Only appointment times may be shared."), code="invalid_scope")
    if signed_by not in DisclosureSigner.values:
        raise ValidationError({"signed_by": ValidationError(_("Choose who signed."),
                                                            code="invalid_signer")})
    participant = contact.participant
    today = timezone.now().astimezone(participant.home_site.zone).date()
    if signed_on > today:
        raise ValidationError({"signed_on": ValidationError(
            _("The consent cannot be signed in the future."), code="signed_in_future")})
    if expires_on <= signed_on:
        raise ValidationError({"expires_on": ValidationError(
            _("The consent must expire after the day it was signed."),
            code="expires_before_signed")})
    if (participant_is_minor(participant=participant, day=signed_on)
            and minor_signer_policy(participant=participant) == MinorDisclosureSigner.BOTH
            and signed_by != DisclosureSigner.BOTH):
        raise ValidationError({"signed_by": ValidationError(
            _("The participant is a minor: the program asks that a parent or guardian sign "
              "too."), code="guardian_must_sign")})
    now = timezone.now()
    with transaction.atomic():
        Contact.objects.select_for_update().only("pk").get(pk=contact.pk)
        for old in DisclosureConsent.objects.filter(contact=contact, revoked_at__isnull=True):
            old.revoked_at, old.revoked_by = now, by
            old.revoke_reason = _("Replaced by a new consent")
            old.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        consent = DisclosureConsent.objects.create(
            contact=contact, scope=scope, signed_by=signed_by, signed_on=signed_on,
            expires_on=expires_on, recorded_by=by)
        _replan(participant.pk)
    return consent


def disclosure_consent_revoke(*, consent: DisclosureConsent, by: Any, reason: str = "") -> bool:
    """Revoke a disclosure consent at once: the next reminder to the contact is not sent.
    Returns False when it was already revoked."""
    with transaction.atomic():
        updated = DisclosureConsent.objects.filter(pk=consent.pk, revoked_at__isnull=True)
        current = updated.select_for_update().first()
        if current is None:
            return False
        current.revoked_at, current.revoked_by = timezone.now(), by
        current.revoke_reason = (reason or "").strip()[:200]
        current.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        _replan(current.contact.participant_id)
    consent.revoked_at, consent.revoked_by = current.revoked_at, by
    consent.revoke_reason = current.revoke_reason
    return True


