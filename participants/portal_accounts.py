"""Portal accounts: invitations, sign-in links, the calendar-feed token and reminder choices."""
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from iop_clinic.links import public_url
from participants.models import (
    ConsentChannel, ConsentSource, ContactConsent, Participant, PortalLink, PortalLinkPurpose,
    ReminderChannels,
)
from participants.services import consent_give, consent_revoke
from participants.signals import reminder_inputs_changed

User = get_user_model()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_lifetime() -> timedelta:
    return timedelta(days=getattr(settings, "PORTAL_INVITATION_DAYS", 7))


def sign_in_link_lifetime() -> timedelta:
    return timedelta(minutes=getattr(settings, "PORTAL_SIGN_IN_LINK_MINUTES", 30))


def _new_username() -> str:
    # Opaque on purpose: a username made from a name would itself disclose who is in care.
    while True:
        username = f"p{secrets.randbelow(10**8):08d}"
        if not User.objects.filter(username=username).exists():
            return username


def _link_create(*, participant: Participant, purpose: str, lifetime: timedelta, by) -> str:
    now = timezone.now()
    # A newer link replaces older unused ones, so only the last email sent works.
    PortalLink.objects.filter(participant=participant, purpose=purpose, used_at__isnull=True,
                              expires_at__gt=now).update(expires_at=now + timedelta(microseconds=1))
    token = secrets.token_urlsafe(32)
    PortalLink.objects.create(
        participant=participant, user=participant.user, purpose=purpose,
        token_hash=token_hash(token), created_at=now, expires_at=now + lifetime, created_by=by,
    )
    return token


def _send_neutral_email(*, participant: Participant, template: str, context: dict) -> None:
    site = participant.home_site
    context = {"first_name": participant.first_name, "site_alias": site.public_alias,
               "site_phone": site.phone, **context}
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    body = render_to_string(f"emails/{template}_body.txt", context)
    message = EmailMessage(
        subject=subject, body=body, to=[participant.email],
        from_email=f'"{site.public_alias}" <{settings.DEFAULT_FROM_EMAIL}>',
    )
    transaction.on_commit(lambda: message.send(fail_silently=False))


@transaction.atomic
def portal_invite(*, participant: Participant, by) -> PortalLink:
    """Give the participant a portal login (unusable password) and email a set-password link."""
    if not participant.email:
        raise ValidationError("This participant has no email address on file; add one first.",
                              code="no_email")
    caller_copy = participant
    participant = Participant.objects.select_for_update().select_related("home_site").get(
        pk=participant.pk)
    if participant.user_id is None:
        user = User(username=_new_username(), email=participant.email)
        user.set_unusable_password()
        user.save()
        participant.user = user
        participant.save(update_fields=["user"])
    elif participant.user.email != participant.email:
        participant.user.email = participant.email
        participant.user.save(update_fields=["email"])
    caller_copy.user = participant.user
    token = _link_create(participant=participant, purpose=PortalLinkPurpose.INVITATION,
                         lifetime=invitation_lifetime(), by=by)
    path = reverse("portal-invitation", args=[token])
    _send_neutral_email(participant=participant, template="portal_invitation", context={
        "link": public_url(path),
        "days": invitation_lifetime().days,
    })
    return PortalLink.objects.get(token_hash=token_hash(token))


@transaction.atomic
def portal_sign_in_link_send(*, email: str) -> None:
    """Email a short-lived sign-in link to each portal login with this address; silent otherwise.

    The caller shows the same answer either way, so the form reveals nothing about who is in care.
    """
    email = (email or "").strip()
    if not email:
        return
    matches = (Participant.objects.select_related("home_site", "user")
               .filter(email__iexact=email, user__isnull=False, user__is_active=True))
    for participant in matches:
        token = _link_create(participant=participant, purpose=PortalLinkPurpose.SIGN_IN,
                             lifetime=sign_in_link_lifetime(), by=None)
        path = reverse("portal-sign-in", args=[token])
        _send_neutral_email(participant=participant, template="portal_sign_in", context={
            "link": public_url(path),
            "minutes": int(sign_in_link_lifetime().total_seconds() // 60),
        })


def portal_link_find(*, token: str, purpose: str) -> PortalLink | None:
    """The link for this token if it is still usable (unused, unexpired), else None."""
    return (PortalLink.objects.select_related("user", "participant")
            .filter(token_hash=token_hash(token), purpose=purpose, used_at__isnull=True,
                    expires_at__gt=timezone.now(), user__is_active=True).first())


@transaction.atomic
def portal_link_use(*, token: str, purpose: str) -> PortalLink:
    """Spend a link once. Compare-and-set, so two clicks at once cannot both sign in."""
    now = timezone.now()
    spent = PortalLink.objects.filter(
        token_hash=token_hash(token), purpose=purpose, used_at__isnull=True, expires_at__gt=now,
        user__is_active=True,
    ).update(used_at=now)
    if spent != 1:
        raise ValidationError("This link has expired or was already used.", code="link_invalid")
    return (PortalLink.objects.select_related("user", "participant")
            .get(token_hash=token_hash(token)))


@transaction.atomic
def portal_invitation_accept(*, token: str, set_password_form) -> PortalLink:
    """Spend the invitation and save the new password (the form was already validated)."""
    link = portal_link_use(token=token, purpose=PortalLinkPurpose.INVITATION)
    if set_password_form.user.pk != link.user_id:
        raise ValidationError("This link belongs to another account.", code="link_invalid")
    set_password_form.save()
    return link


@transaction.atomic
def calendar_token_regenerate(*, participant: Participant) -> str:
    """A fresh private feed token; the old feed URL stops working. Returns the token once."""
    token = secrets.token_urlsafe(32)
    Participant.objects.filter(pk=participant.pk).update(calendar_token=token_hash(token))
    participant.calendar_token = token_hash(token)
    return token


@transaction.atomic
def calendar_token_revoke(*, participant: Participant) -> None:
    Participant.objects.filter(pk=participant.pk).update(calendar_token=None)
    participant.calendar_token = None


def sms_consent_standing(participant: Participant) -> bool:
    return ContactConsent.objects.filter(participant=participant, channel=ConsentChannel.SMS,
                                         revoked_at__isnull=True).exists()


@transaction.atomic
def reminder_preferences_update(*, participant: Participant, channels: str,
                                sms_consent: bool) -> None:
    """Set how the participant is reminded, giving or withdrawing SMS consent in the same step.

    SMS needs both a mobile number on file and standing consent; email needs an address.
    """
    if channels not in ReminderChannels.values:
        raise ValidationError("Choose how you want to be reminded.", code="invalid_choice")
    wants_sms = channels in (ReminderChannels.SMS, ReminderChannels.BOTH)
    wants_email = channels in (ReminderChannels.EMAIL, ReminderChannels.BOTH)
    if wants_sms and not sms_consent:
        raise ValidationError("To get text messages, tick the box to agree to them.",
                              code="sms_needs_consent")
    if wants_sms and not participant.phone:
        raise ValidationError("We have no mobile number for you. Please call us to add one.",
                              code="no_phone")
    if wants_email and not participant.email:
        raise ValidationError("We have no email address for you. Please call us to add one.",
                              code="no_email")
    now = timezone.now()
    if sms_consent:
        consent_give(participant=participant, channel=ConsentChannel.SMS,
                     source=ConsentSource.PORTAL, at=now)
    else:
        consent_revoke(participant=participant, channel=ConsentChannel.SMS,
                       source=ConsentSource.PORTAL, at=now)
    if participant.reminder_channels != channels:
        Participant.objects.filter(pk=participant.pk).update(reminder_channels=channels)
        participant.reminder_channels = channels
        reminder_inputs_changed.send(sender=Participant, participant_ids=[participant.pk])
