"""Portal accounts: invitations, sign-in links, seat-offer links, the calendar-feed token and
reminder choices.

Invitations and seat-offer links go out through the reminders outbox (a notice row each): this
module creates the login and announces the invitation; the outbox mints the link's token with
`portal_invitation_link_mint` / `seat_offer_link_mint` when it sends the message, so no token
is ever stored, only its hash here."""
import hashlib
import logging
import secrets
from functools import cache
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import connections, router, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from iop_clinic.compiled import CompiledQuery, compile_once
from iop_clinic.links import public_url
from accounts.throttle import sign_in_link_allowed
from participants.models import (
    ConsentChannel, ConsentSource, ContactConsent, Participant, PortalLink,
    PortalLinkPurpose, ReminderChannels,
)
from participants.services import consent_give, consent_revoke
from participants.signals import portal_invitation_requested, reminder_inputs_changed

from . import tasks

logger = logging.getLogger(__name__)
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


def _void_unused_links(*, participant_id: int, purpose: str, now) -> None:
    PortalLink.objects.filter(participant_id=participant_id, purpose=purpose,
                              used_at__isnull=True, expires_at__gt=now,
                              ).update(expires_at=now + timedelta(microseconds=1))


def _link_create(*, participant: Participant, purpose: str, lifetime: timedelta, by) -> str:
    now = timezone.now()
    if purpose == PortalLinkPurpose.INVITATION:
        # Staff resend an invitation to start over: only the last one sent works.
        _void_unused_links(participant_id=participant.pk, purpose=purpose, now=now)
    # A sign-in link never voids an earlier one: anyone may ask for a link to any address,
    # and a stranger's request must not break the link a participant is about to click. Each
    # lives its 30 minutes; the throttle bounds how many there are; using one voids the rest.
    token = secrets.token_urlsafe(32)
    PortalLink.objects.create(
        participant=participant, user=participant.user, purpose=purpose,
        token_hash=token_hash(token), created_at=now, expires_at=now + lifetime, created_by=by,
    )
    return token


# Token lengths (characters of token_urlsafe): the outbox renders a message with a placeholder
# of the same length, so an SMS fitted to one segment still fits with the real link.
INVITATION_TOKEN_BYTES = 32
# Shorter, to leave room in a one-segment text for a real address: 96 bits (16 characters)
# is far beyond guessing for a link that works once, is stored hashed and dies with the offer.
SEAT_OFFER_TOKEN_BYTES = 12


def token_length(token_bytes: int) -> int:
    return len(secrets.token_urlsafe(token_bytes))


@dataclass(frozen=True)
class MintedLink:
    token: str
    link_id: int


def portal_invitation_link_mint(*, participant_id: int, by_id: int | None) -> MintedLink | None:
    """A new set-password link for the outbox to send now (None when there is no active login
    any more). Earlier invitation links stay valid until this one is known to be sent
    (`portal_link_keep_only`), so a resend that fails leaves the last one sent working."""
    participant = (Participant.objects.filter(pk=participant_id, user__is_active=True)
                   .only("pk", "user_id").first())
    if participant is None:
        return None
    now = timezone.now()
    token = secrets.token_urlsafe(INVITATION_TOKEN_BYTES)
    link = PortalLink.objects.create(
        participant_id=participant.pk, user_id=participant.user_id,
        purpose=PortalLinkPurpose.INVITATION, token_hash=token_hash(token), created_at=now,
        expires_at=now + invitation_lifetime(), created_by_id=by_id)
    return MintedLink(token, link.pk)


def seat_offer_link_mint(*, enrollment_id: int, participant_id: int,
                         expires_at) -> MintedLink | None:
    """A link to answer this seat offer once without signing in, dead when the offer expires
    (None when that is already past)."""
    now = timezone.now()
    if expires_at <= now:
        return None
    token = secrets.token_urlsafe(SEAT_OFFER_TOKEN_BYTES)
    link = PortalLink.objects.create(
        participant_id=participant_id, enrollment_id=enrollment_id,
        purpose=PortalLinkPurpose.SEAT_OFFER, token_hash=token_hash(token), created_at=now,
        expires_at=expires_at)
    return MintedLink(token, link.pk)


def portal_link_keep_only(*, link_id: int) -> None:
    """This invitation link was sent: every other unused invitation link of the person dies."""
    link = PortalLink.objects.only("participant_id", "purpose").get(pk=link_id)
    now = timezone.now()
    PortalLink.objects.filter(participant_id=link.participant_id, purpose=link.purpose,
                              used_at__isnull=True, expires_at__gt=now,
                              ).exclude(pk=link_id).update(expires_at=now + timedelta(microseconds=1))


def portal_link_void(*, link_id: int) -> None:
    """A minted link whose message was not sent (refused, or another worker sent the row)."""
    now = timezone.now()
    PortalLink.objects.filter(pk=link_id, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now + timedelta(microseconds=1))


def _send_neutral_email(*, participant: Participant, template: str, context: dict) -> None:
    site = participant.home_site
    context = {"first_name": participant.first_name, "site_alias": site.public_alias,
               "site_phone": site.phone, **context}
    # In the participant's language, rendered now (when it is sent), like every message.
    with translation.override(participant.language):
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
        body = render_to_string(f"emails/{template}_body.txt", context)
    message = EmailMessage(
        subject=subject, body=body, to=[participant.email],
        from_email=f'"{site.public_alias}" <{settings.DEFAULT_FROM_EMAIL}>',
    )
    message.send(fail_silently=False)


def _queue_after_commit(queue: Callable[[], object], *, what: str) -> None:
    """Queue a portal email task once the transaction commits; never fail the request for it.

    The request only queues (ids only, never an address), so the mail relay's speed, or its
    being down, shows in no answer.
    """
    def enqueue() -> None:
        try:
            queue()
        except Exception:
            # A broker outage: the answer stays the same; the person can ask again.
            logger.exception("portal %s email not queued", what)

    transaction.on_commit(enqueue)


@transaction.atomic
def portal_invite(*, participant: Participant, by) -> None:
    """Give the participant a portal login (unusable password) and announce the invitation:
    the reminders outbox writes it as a notice row and, when it sends the email, mints the
    set-password link. A second click while one waits to go out joins it."""
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
    portal_invitation_requested.send(sender=Participant, participant_id=participant.pk,
                                     by_id=getattr(by, "pk", None))


def portal_sign_in_link_request(*, email: str, client: str) -> None:
    """"Email me a sign-in link": the same work and the same answer whoever the address is.

    Counts the request against the address and the client (a few an hour each; over either
    limit nothing is sent, silently), looks the address up, and queues one task with the ids
    of the matching portal logins, an empty list when there are none: the request takes the
    same path and time for a participant's address as for a stranger's, and the relay's speed
    or outage never reaches the answer (42 CFR Part 2: being a patient is the secret).
    """
    address = (email or "").strip()
    if not address or not sign_in_link_allowed(address=address, client=client):
        return
    participant_ids = list(
        Participant.objects.filter(email__iexact=address, user__isnull=False,
                                   user__is_active=True)
        .order_by("pk").values_list("pk", flat=True))
    _queue_after_commit(lambda: tasks.portal_sign_in_links_send_task.delay(participant_ids),
                        what="sign-in link")


@transaction.atomic
def portal_sign_in_link_send(*, participant_id: int) -> bool:
    """Mint a short-lived sign-in link and email it, all or nothing. False when the login is
    gone or disabled by now."""
    participant = (Participant.objects.select_related("home_site", "user")
                   .filter(pk=participant_id, user__isnull=False, user__is_active=True)
                   .exclude(email="").first())
    if participant is None:
        return False
    token = _link_create(participant=participant, purpose=PortalLinkPurpose.SIGN_IN,
                         lifetime=sign_in_link_lifetime(), by=None)
    _send_neutral_email(participant=participant, template="portal_sign_in", context={
        "link": public_url(reverse("portal-sign-in", args=[token])),
        "minutes": int(sign_in_link_lifetime().total_seconds() // 60),
    })
    return True


def portal_link_find(*, token: str, purpose: str) -> PortalLink | None:
    """The link for this token if it is still usable (unused, unexpired), else None."""
    return (PortalLink.objects.select_related("user", "participant")
            .filter(token_hash=token_hash(token), purpose=purpose, used_at__isnull=True,
                    expires_at__gt=timezone.now(), user__is_active=True).first())


def seat_offer_link_find(*, token: str) -> PortalLink | None:
    """The seat-offer link for this token if it is unused and unexpired, else None."""
    return (PortalLink.objects.select_related("participant__home_site", "enrollment")
            .filter(token_hash=token_hash(token), purpose=PortalLinkPurpose.SEAT_OFFER,
                    used_at__isnull=True, expires_at__gt=timezone.now()).first())


def seat_offer_link_site(*, token: str):
    """The site of the person a seat-offer link was sent to, used or not (so a spent link's
    page can say whom to call), or None for a token we never made."""
    link = (PortalLink.objects.select_related("participant__home_site")
            .filter(token_hash=token_hash(token), purpose=PortalLinkPurpose.SEAT_OFFER).first())
    return link.participant.home_site if link else None


@transaction.atomic
def seat_offer_link_use(*, token: str) -> PortalLink:
    """Spend a seat-offer link once (compare-and-set) and every other link to the same offer
    (one went by email, one by text). Call inside the transaction that answers the offer."""
    now = timezone.now()
    spent = PortalLink.objects.filter(
        token_hash=token_hash(token), purpose=PortalLinkPurpose.SEAT_OFFER,
        used_at__isnull=True, expires_at__gt=now,
    ).update(used_at=now)
    if spent != 1:
        raise ValidationError(_("This link has expired or was already used."), code="link_invalid")
    link = PortalLink.objects.select_related("participant__home_site", "enrollment").get(
        token_hash=token_hash(token))
    seat_offer_links_spend(enrollment_id=link.enrollment_id, now=now)
    return link


def seat_offer_links_spend(*, enrollment_id: int, now=None) -> None:
    """The offer is answered: no link to it works any more."""
    now = now or timezone.now()
    PortalLink.objects.filter(enrollment_id=enrollment_id, purpose=PortalLinkPurpose.SEAT_OFFER,
                              used_at__isnull=True, expires_at__gt=now).update(used_at=now)


@transaction.atomic
def portal_link_use(*, token: str, purpose: str) -> PortalLink:
    """Spend a link once. Compare-and-set, so two clicks at once cannot both sign in."""
    now = timezone.now()
    spent = PortalLink.objects.filter(
        token_hash=token_hash(token), purpose=purpose, used_at__isnull=True, expires_at__gt=now,
        user__is_active=True,
    ).update(used_at=now)
    if spent != 1:
        raise ValidationError(_("This link has expired or was already used."), code="link_invalid")
    link = PortalLink.objects.select_related("user", "participant").get(
        token_hash=token_hash(token))
    if purpose == PortalLinkPurpose.SIGN_IN:
        # Signed in: the other sign-in links still in a mailbox have done their job.
        _void_unused_links(participant_id=link.participant_id, purpose=purpose, now=now)
    return link


@transaction.atomic
def portal_invitation_accept(*, token: str, set_password_form) -> PortalLink:
    """Spend the invitation and save the new password (the form was already validated)."""
    link = portal_link_use(token=token, purpose=PortalLinkPurpose.INVITATION)
    if set_password_form.user.pk != link.user_id:
        raise ValidationError(_("This link belongs to another account."), code="link_invalid")
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


@transaction.atomic
def calendar_address_set(*, participant: Participant, shows: bool) -> None:
    """Whether the participant's calendar feed gives the site's street address (off by default)."""
    Participant.objects.filter(pk=participant.pk).update(calendar_shows_address=shows)
    participant.calendar_shows_address = shows


@transaction.atomic
def participant_language_set(*, participant: Participant, language: str) -> None:
    """The language of the participant's portal and messages. Saved through the model (not a
    queryset update) so the audit trail records the change like any other to the record."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Choose a language from the list."), code="invalid_language")
    if participant.language != language:
        participant.language = language
        participant.save(update_fields=["language"])


# The participant id the consent query is compiled with, replaced by the real one when it runs.
_ANY_PARTICIPANT = -1


@cache
def _sms_consent_statement(alias: str, vendor: str) -> CompiledQuery:
    """"A consent to SMS not revoked" of one participant (at most one row), compiled by the
    ORM once per process (iop_clinic.compiled): building and compiling the filter and its
    EXISTS on each view of the reminder settings cost more CPU than running it. The
    participant's id is its only parameter. Prepared once a connection (iop_clinic.prepared;
    'sms' is a constant): planning it took PostgreSQL longer than running it."""
    queryset = ContactConsent.objects.using(alias).filter(
        participant_id=_ANY_PARTICIPANT, channel=ConsentChannel.SMS, revoked_at__isnull=True,
    ).order_by().values_list("participant_id")[:1]  # in the index: an index-only scan
    return compile_once(queryset.query.get_compiler(using=alias),
                        {_ANY_PARTICIPANT: "participant"}, what="sms consent", prepared=True)


def sms_consent_standing(participant: Participant) -> bool:
    alias = router.db_for_read(ContactConsent)
    return bool(_sms_consent_statement(alias, connections[alias].vendor).rows(
        {"participant": participant.pk}))


@transaction.atomic
def reminder_preferences_update(*, participant: Participant, channels: str,
                                sms_consent: bool) -> None:
    """Set how the participant is reminded, giving or withdrawing SMS consent in the same step.

    SMS needs both a mobile number on file and standing consent; email needs an address.
    """
    if channels not in ReminderChannels.values:
        raise ValidationError(_("Choose how you want to be reminded."), code="invalid_choice")
    wants_sms = channels in (ReminderChannels.SMS, ReminderChannels.BOTH)
    wants_email = channels in (ReminderChannels.EMAIL, ReminderChannels.BOTH)
    if wants_sms and not sms_consent:
        raise ValidationError(_("To get text messages, tick the box to agree to them."),
                              code="sms_needs_consent")
    if wants_sms and not participant.phone:
        raise ValidationError(_("We have no mobile number for you. Please call us to add one."),
                              code="no_phone")
    if wants_email and not participant.email:
        raise ValidationError(_("We have no email address for you. Please call us to add one."),
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
