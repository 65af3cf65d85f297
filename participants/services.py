"""Writes about participants: their record and their consent to be contacted.

Reminders depend on contact details and consent, so every change here announces
`signals.reminder_inputs_changed`; the sessions app, which builds on this one, re-plans them.
"""
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import BulkAction, audit_bulk
from programs.models import Site

from .models import ConsentChannel, ConsentSource, ContactConsent, Participant, ReminderChannels
from .signals import reminder_inputs_changed

# Fields staff may change through participant_update; the code and created_at never change.
UPDATABLE_FIELDS = frozenset({
    "record_number", "first_name", "last_name", "date_of_birth", "email", "phone", "home_site",
    "time_zone", "primary_clinician", "user", "reminder_channels", "language",
})
# A change to any of these can change when, where or whether a reminder is sent.
_REMINDER_FIELDS = frozenset({"email", "phone", "home_site", "time_zone", "reminder_channels"})


def _replan(participant_ids: list[int]) -> None:
    reminder_inputs_changed.send(sender=Participant, participant_ids=participant_ids)


def _record_number_taken(record_number: str, *, exclude_pk: int | None = None) -> bool:
    others = Participant.objects.filter(record_number__iexact=record_number)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    return others.exists()


def _record_number_error(record_number: str) -> ValidationError:
    return ValidationError(
        _("Record number %(number)s already belongs to another participant."),
        code="record_number_taken", params={"number": record_number},
    )


def _save_validated(participant: Participant) -> None:
    """full_clean then save; a unique clash lost to a concurrent writer becomes a clear error."""
    participant.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            participant.save()
    except IntegrityError as exc:
        if _record_number_taken(participant.record_number, exclude_pk=participant.pk):
            raise _record_number_error(participant.record_number) from exc
        raise


def participant_create(
    *,
    record_number: str,
    first_name: str,
    last_name: str,
    home_site: Site,
    date_of_birth: date | None = None,
    email: str = "",
    phone: str = "",
    time_zone: str = "",
    primary_clinician: Any = None,
    user: Any = None,
    reminder_channels: str = ReminderChannels.EMAIL,
    language: str = "en",
) -> Participant:
    """Register a participant. Record numbers are unique regardless of letter case."""
    record_number = (record_number or "").strip()
    with transaction.atomic():
        if record_number and _record_number_taken(record_number):
            raise _record_number_error(record_number)
        participant = _new_participant(
            record_number=record_number, first_name=first_name, last_name=last_name,
            home_site=home_site, date_of_birth=date_of_birth, email=email, phone=phone,
            time_zone=time_zone, primary_clinician=primary_clinician, user=user,
            reminder_channels=reminder_channels, language=language,
        )
        _save_validated(participant)
    return participant


def _new_participant(*, record_number: str, first_name: str, last_name: str, home_site: Site,
                     date_of_birth: date | None = None, email: str = "", phone: str = "",
                     time_zone: str = "", primary_clinician: Any = None, user: Any = None,
                     reminder_channels: str = ReminderChannels.EMAIL,
                     language: str = "en") -> Participant:
    return Participant(
        record_number=(record_number or "").strip(), first_name=(first_name or "").strip(),
        last_name=(last_name or "").strip(), home_site=home_site, date_of_birth=date_of_birth,
        email=(email or "").strip(), phone=(phone or "").strip(), time_zone=time_zone,
        primary_clinician=primary_clinician, user=user, reminder_channels=reminder_channels,
        language=language,
    )


RELATED_FIELDS = ("home_site", "primary_clinician", "user")


def participants_create_many(
    *, people: Sequence[dict[str, Any]],
) -> list[Participant | ValidationError]:
    """Register many participants, each as `participant_create` would: the same cleaning and
    validation, record numbers unique regardless of letter case (against the database and
    within the batch). Each dict holds `participant_create`'s keywords.

    Returns, per person, the participant or the ValidationError that refused them; refused
    people write nothing. One query for the record numbers, the inserts, one audit write.
    """
    built = [_new_participant(**person) for person in people]
    numbers = {p.record_number.lower() for p in built if p.record_number}
    results: list[Participant | ValidationError] = []
    with transaction.atomic():
        taken = set(Participant.objects.annotate(number=Lower("record_number"))
                    .filter(number__in=numbers).values_list("number", flat=True))
        accepted = []
        for participant in built:
            number = participant.record_number.lower()
            try:
                if number and number in taken:
                    raise _record_number_error(participant.record_number)
                # Related rows are not looked up one person at a time: the caller passes
                # them loaded, and the foreign keys refuse a missing one at the insert.
                participant.full_clean(exclude=RELATED_FIELDS, validate_unique=False,
                                       validate_constraints=False)
                if participant.home_site_id is None:
                    raise ValidationError({"home_site": ValidationError(
                        _("Choose the participant's home site."), code="required")})
            except ValidationError as exc:
                results.append(exc)
                continue
            if number:
                taken.add(number)
            accepted.append(participant)
            results.append(participant)
        try:
            with transaction.atomic():
                Participant.objects.bulk_create(accepted, batch_size=500)
        except IntegrityError as exc:  # a concurrent writer took a number meanwhile
            raise ValidationError(_("A record number was taken meanwhile; try again."),
                                  code="record_number_taken") from exc
        if accepted:
            audit_bulk(model=Participant, objects=accepted, action=BulkAction.CREATE)
    return results


def participant_update(*, participant: Participant, data: dict[str, Any]) -> Participant:
    """Change the given fields of a participant's record; unknown fields are refused."""
    unknown = sorted(set(data) - UPDATABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("These participant fields cannot be changed here: %(fields)s."),
            code="unknown_field", params={"fields": ", ".join(unknown)},
        )
    with transaction.atomic():
        # Work on a fresh, locked copy so a failed validation leaves the caller's object as it was.
        current = Participant.objects.select_for_update().get(pk=participant.pk)
        wanted = {name: value.strip() if isinstance(value, str) else value
                  for name, value in data.items()}
        changed = {name for name, value in wanted.items() if getattr(current, name) != value}
        if not changed:
            return participant
        for name in changed:
            setattr(current, name, wanted[name])
        if "record_number" in changed and _record_number_taken(
            current.record_number, exclude_pk=current.pk
        ):
            raise _record_number_error(current.record_number)
        _save_validated(current)
        if changed & _REMINDER_FIELDS:
            _replan([current.pk])
    for name in changed:
        setattr(participant, name, getattr(current, name))
    return participant


def _check_channel_and_source(channel: str, source: str) -> None:
    if channel not in ConsentChannel.values:
        raise ValidationError(_("%(channel)s is not a contact channel."),
                              code="invalid_channel", params={"channel": channel})
    if source not in ConsentSource.values:
        raise ValidationError(_("%(source)s is not a way consent can be recorded."),
                              code="invalid_source", params={"source": source})


def _check_contact_detail(participant: Participant, channel: str) -> None:
    """Consent to a channel is only worth recording when there is an address to use it on."""
    if channel == ConsentChannel.EMAIL and not (participant.email or "").strip():
        raise ValidationError({"email": ValidationError(
            _("Enter an email address to record consent to email."), code="consent_needs_email")})
    if channel == ConsentChannel.SMS and not (participant.phone or "").strip():
        raise ValidationError({"phone": ValidationError(
            _("Enter a mobile number to record consent to text messages."),
            code="consent_needs_phone")})


def _moment(at: datetime | None) -> datetime:
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise ValidationError(_("The time of consent needs a time zone."), code="naive_datetime")
    return at


def _standing_consent_locked(participant: Participant, channel: str) -> ContactConsent | None:
    """The consent standing on `channel`, read under the participant's row lock.

    Serialises consent changes per participant, so two givers cannot both insert and a give and
    a revoke cannot cross. Must run inside `transaction.atomic`.
    """
    Participant.objects.select_for_update().only("pk").get(pk=participant.pk)
    return ContactConsent.objects.filter(
        participant=participant, channel=channel, revoked_at__isnull=True
    ).first()


def consent_give(
    *, participant: Participant, channel: str, source: str, at: datetime | None = None
) -> ContactConsent:
    """Record consent to be contacted on `channel`.

    Idempotent: while a consent stands on that channel it is returned unchanged (its original
    time and source are the record that matters), so a repeated START keyword adds nothing.
    Codes: invalid_channel, invalid_source, naive_datetime, consent_needs_email,
    consent_needs_phone (no address on file for that channel).
    """
    _check_channel_and_source(channel, source)
    _check_contact_detail(participant, channel)
    given_at = _moment(at)
    with transaction.atomic():
        standing = _standing_consent_locked(participant, channel)
        if standing is not None:
            return standing
        consent = ContactConsent.objects.create(
            participant=participant, channel=channel, source=source, given_at=given_at,
        )
        _replan([participant.pk])
    return consent


def consents_give_many(
    *, consents: Sequence[tuple[Participant, str]], source: str, at: datetime | None = None,
) -> list[ContactConsent | ValidationError]:
    """Record consent for many (participant, channel) pairs, each as `consent_give` would: the
    same checks and codes, idempotent while a consent stands. Returns, per pair, the consent
    (new or standing) or the ValidationError that refused it. The participants are locked in
    pk order; reminders are re-planned once for all of them. A fixed number of queries.
    """
    given_at = _moment(at)
    results: list[ContactConsent | ValidationError | None] = [None] * len(consents)
    ids = sorted({participant.pk for participant, _channel in consents})
    with transaction.atomic():
        list(Participant.objects.select_for_update().filter(pk__in=ids).order_by("pk")
             .values_list("pk", flat=True))
        standing = {(c.participant_id, c.channel): c for c in ContactConsent.objects.filter(
            participant_id__in=ids, revoked_at__isnull=True)}
        new = []
        for index, (participant, channel) in enumerate(consents):
            try:
                _check_channel_and_source(channel, source)
                _check_contact_detail(participant, channel)
            except ValidationError as exc:
                results[index] = exc
                continue
            consent = standing.get((participant.pk, channel))
            if consent is None:
                consent = ContactConsent(participant=participant, channel=channel,
                                         source=source, given_at=given_at)
                standing[(participant.pk, channel)] = consent
                new.append(consent)
            results[index] = consent
        ContactConsent.objects.bulk_create(new, batch_size=500)
        if new:
            audit_bulk(model=ContactConsent, objects=new, action=BulkAction.CREATE)
            _replan(sorted({c.participant_id for c in new}))
    return results


def consent_revoke(
    *, participant: Participant, channel: str, source: str, at: datetime | None = None
) -> bool:
    """Revoke the standing consent on `channel`. Returns False if none stood (nothing changes).

    The consent row is kept with `revoked_at` stamped, so the history shows when and how.
    """
    _check_channel_and_source(channel, source)
    revoked_at = _moment(at)
    with transaction.atomic():
        standing = _standing_consent_locked(participant, channel)
        if standing is None:
            return False
        if revoked_at < standing.given_at:
            raise ValidationError(
                _("Consent cannot be revoked before the time it was given."),
                code="revoked_before_given",
            )
        standing.revoked_at = revoked_at
        standing.revoked_source = source
        standing.save(update_fields=["revoked_at", "revoked_source"])
        _replan([participant.pk])
    return True
