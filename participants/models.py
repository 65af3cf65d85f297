"""Who is in care: participants, their consents, enrollments and continuing-care plans."""
import uuid
import zoneinfo
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from programs.models import Site, Track, phone_validator, validate_time_zone


class ReminderChannels(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message (SMS)")
    BOTH = "both", _("Email and text message")
    NONE = "none", _("No reminders")


class Participant(models.Model):
    code = models.UUIDField(_("public code"), default=uuid.uuid4, unique=True, editable=False,
                            help_text=_("Used in URLs instead of the database id."))
    record_number = models.CharField(_("record number"), max_length=32, unique=True)
    first_name = models.CharField(_("first name"), max_length=80)
    last_name = models.CharField(_("last name"), max_length=80)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("mobile phone"), max_length=16, blank=True, validators=[phone_validator])
    home_site = models.ForeignKey(Site, verbose_name=_("home site"), on_delete=models.PROTECT,
                                  related_name="participants")
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_time_zone],
        help_text=_("Leave blank to use the home site's time zone."),
    )
    primary_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("primary clinician"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="caseload",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("portal login"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="participant",
    )
    reminder_channels = models.CharField(
        _("reminders by"), max_length=8, choices=ReminderChannels.choices,
        default=ReminderChannels.EMAIL,
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en",
        help_text=_("The language of the participant's portal, reminders and messages. Staff "
                    "set it at intake; the participant can change it in the portal."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    calendar_token = models.CharField(
        _("calendar feed token (hashed)"), max_length=64, null=True, blank=True, unique=True,
        editable=False,
        help_text=_("SHA-256 of the private calendar-feed token; the token itself is never stored."),
    )
    calendar_shows_address = models.BooleanField(
        _("calendar feed shows the street address"), default=False,
        help_text=_("Off unless the participant turns it on in the portal: a calendar on a shared "
                    "or synced phone should not say where they go."),
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        indexes = [
            models.Index(fields=["last_name", "first_name"], name="participant_name_idx"),
            # "Whose home site is one of these" from the index alone (the participants a user
            # may see, staff.access; the follow-up counts asked it until each follow-up kept
            # its person's home site, iop_sessions 0015).
            models.Index(fields=["home_site", "id"], name="participant_home_site_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} ({self.record_number})"

    def get_absolute_url(self) -> str:
        return reverse("admin:participants_participant_change", args=[self.pk])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone or self.home_site.time_zone)

    def has_consent(self, channel: str) -> bool:
        """Whether consent to be contacted on `channel` stands now.

        Uses prefetched `consents` when a selector fetched them, so a list costs no extra query.
        """
        if "consents" in getattr(self, "_prefetched_objects_cache", {}):
            return any(c.channel == channel and c.revoked_at is None for c in self.consents.all())
        return self.consents.filter(channel=channel, revoked_at__isnull=True).exists()


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class ConsentSource(models.TextChoices):
    INTAKE_FORM = "intake", _("Signed intake form")
    VERBAL = "verbal", _("Verbal, recorded by staff")
    PORTAL = "portal", _("Participant portal")
    SMS_KEYWORD = "sms_keyword", _("SMS keyword")
    ADMIN = "admin", _("Administrator")


class ContactConsent(models.Model):
    """Consent to be contacted on one channel: when and how given, and when revoked.

    Rows are never edited into a different consent; revoking stamps `revoked_at`, and giving
    consent again adds a new row, so the history stays whole.
    """

    participant = models.ForeignKey(Participant, verbose_name=_("participant"),
                                    on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=8, choices=ConsentChannel.choices)
    given_at = models.DateTimeField(_("given at"))
    source = models.CharField(_("given by"), max_length=12, choices=ConsentSource.choices)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_source = models.CharField(_("revoked by"), max_length=12, choices=ConsentSource.choices,
                                      blank=True)

    class Meta:
        ordering = ["participant", "channel", "-given_at"]
        verbose_name = _("contact consent")
        verbose_name_plural = _("contact consents")
        constraints = [
            models.UniqueConstraint(fields=["participant", "channel"],
                                    condition=Q(revoked_at__isnull=True),
                                    name="consent_one_standing_per_channel"),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_at__gte=models.F("given_at")),
                name="consent_revoked_after_given",
            ),
        ]

    def __str__(self) -> str:
        state = _("revoked") if self.revoked_at else _("standing")
        return f"{self.get_channel_display()} consent ({state})"

    def get_absolute_url(self) -> str:
        return self.participant.get_absolute_url()

    @property
    def is_standing(self) -> bool:
        return self.revoked_at is None


class EnrollmentStatus(models.TextChoices):
    REFERRED = "referred", _("Referred")
    WAITLISTED = "waitlisted", _("Waitlisted")
    ACTIVE = "active", _("Active")
    ON_HOLD = "on_hold", _("On hold")
    COMPLETED = "completed", _("Completed")
    DISCHARGED = "discharged", _("Discharged")
    WITHDRAWN = "withdrawn", _("Withdrew before admission")

    @classmethod
    def seat_holding(cls) -> tuple[str, ...]:
        """Statuses that take a seat in the track."""
        return (cls.ACTIVE, cls.ON_HOLD)

    @classmethod
    def ended(cls) -> tuple[str, ...]:
        return (cls.COMPLETED, cls.DISCHARGED)


class DischargeReason(models.TextChoices):
    COMPLETED = "completed", _("Completed the program")
    STEP_DOWN = "step_down", _("Stepped down to a lower level of care")
    STEP_UP = "step_up", _("Stepped up to a higher level of care")
    AGAINST_ADVICE = "against_advice", _("Left against clinical advice")
    NON_ATTENDANCE = "non_attendance", _("Non-attendance")
    TRANSFERRED = "transferred", _("Transferred to another provider")
    ADMINISTRATIVE = "administrative", _("Administrative")
    OTHER = "other", _("Other")


# The day an enrollment's stay ends: its discharge date, else its planned end. `ENDS >= day` is
# "discharged on or after the day, or not discharged and planned to end on or after it"
# (NULL >= day is not true), and it is what `enrollment_ends_idx` indexes.
ENDS = Coalesce("discharge_date", "planned_end_date")


class Enrollment(models.Model):
    participant = models.ForeignKey(Participant, verbose_name=_("participant"),
                                    on_delete=models.PROTECT, related_name="enrollments")
    track = models.ForeignKey(Track, verbose_name=_("track"), on_delete=models.PROTECT,
                              related_name="enrollments")
    status = models.CharField(_("status"), max_length=12, choices=EnrollmentStatus.choices,
                              default=EnrollmentStatus.REFERRED)
    admission_date = models.DateField(_("admission date"))
    planned_end_date = models.DateField(_("planned end"))
    waitlisted_at = models.DateTimeField(_("waitlisted at"), null=True, blank=True)
    seat_offered_at = models.DateTimeField(
        _("seat offered at"), null=True, blank=True,
        help_text=_("When a freed seat was offered to this waitlisted participant."),
    )
    held_at = models.DateTimeField(_("on hold since"), null=True, blank=True)
    hold_reason = models.CharField(_("reason for the hold"), max_length=200, blank=True)
    discharge_date = models.DateField(_("discharge date"), null=True, blank=True)
    discharge_reason = models.CharField(_("discharge reason"), max_length=16,
                                        choices=DischargeReason.choices, blank=True)
    discharge_note = models.TextField(_("discharge note"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-admission_date", "pk"]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        constraints = [
            models.UniqueConstraint(fields=["participant"], condition=Q(status="active"),
                                    name="enrollment_one_active_per_participant"),
            models.CheckConstraint(condition=Q(planned_end_date__gte=models.F("admission_date")),
                                   name="enrollment_planned_end_after_admission"),
            models.CheckConstraint(
                condition=Q(discharge_date__isnull=True)
                | Q(discharge_date__gte=models.F("admission_date")),
                name="enrollment_discharge_after_admission",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["completed", "discharged"])
                | (Q(discharge_date__isnull=False) & ~Q(discharge_reason="")),
                name="enrollment_ended_has_discharge",
            ),
            models.CheckConstraint(
                condition=~Q(status="waitlisted") | Q(waitlisted_at__isnull=False),
                name="enrollment_waitlisted_has_time",
            ),
            # A held seat belongs to someone still waiting; admitting them clears the offer.
            models.CheckConstraint(
                condition=Q(seat_offered_at__isnull=True) | Q(status="waitlisted"),
                name="enrollment_offer_only_when_waitlisted",
            ),
            models.CheckConstraint(
                condition=~Q(status="on_hold") | Q(held_at__isnull=False),
                name="enrollment_on_hold_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["track", "status"], name="enrollment_track_status_idx"),
            # The day a stay ends, or is planned to (`ENDS`): the stays not over by a day are
            # read from it, not from every stay ever (participants 0008).
            models.Index(ENDS, name="enrollment_ends_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.participant} in {self.track} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("admin:participants_enrollment_change", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status == EnrollmentStatus.ACTIVE

    def covers(self, day: date) -> bool:
        end = self.discharge_date or self.planned_end_date
        return self.admission_date <= day <= end


class StepDownLevel(models.TextChoices):
    NONE = "", _("No further level of care")
    OUTPATIENT = "1", _("Standard outpatient (level 1)")
    IOP = "2.1", _("Intensive outpatient (level 2.1)")
    PHP = "2.5", _("Partial hospitalization (level 2.5)")
    RESIDENTIAL = "3", _("Residential (level 3)")


class ContinuingCarePlan(models.Model):
    """What the participant leaves with: next level of care, support groups, follow-ups."""

    enrollment = models.OneToOneField(Enrollment, verbose_name=_("enrollment"),
                                      on_delete=models.CASCADE, related_name="care_plan")
    step_down_level = models.CharField(_("step-down level"), max_length=3,
                                       choices=StepDownLevel.choices, blank=True)
    step_down_provider = models.CharField(_("step-down provider"), max_length=120, blank=True)
    support_groups = models.TextField(
        _("support groups"), blank=True, help_text=_("E.g. AA Tuesday evenings, SMART Recovery."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("continuing-care plan")
        verbose_name_plural = _("continuing-care plans")

    def __str__(self) -> str:
        return f"Continuing care for {self.enrollment.participant}"

    def get_absolute_url(self) -> str:
        return self.enrollment.get_absolute_url()


class PortalLinkPurpose(models.TextChoices):
    INVITATION = "invitation", _("Invitation (set a password)")
    SIGN_IN = "sign_in", _("Sign-in link")
    # Answer a seat offer without signing in (for people without a portal login).
    SEAT_OFFER = "seat_offer", _("Seat offer (answer once, no sign-in)")


class PortalLink(models.Model):
    """A single-use, expiring link sent to a participant: an invitation, a sign-in link, or a
    seat offer to answer without signing in.

    Only the SHA-256 of the token is stored, so a copy of the database opens no account. The
    token itself exists only in the message that carried it (the outbox keeps that message's
    text with the link left out).
    """

    participant = models.ForeignKey(Participant, verbose_name=_("participant"),
                                    on_delete=models.CASCADE, related_name="portal_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("portal login"),
                             on_delete=models.CASCADE, related_name="portal_links", null=True,
                             blank=True, help_text=_("Empty for a seat-offer link."))
    enrollment = models.ForeignKey(Enrollment, verbose_name=_("enrollment offered a seat"),
                                   on_delete=models.CASCADE, related_name="+", null=True,
                                   blank=True, help_text=_("Seat-offer links only."))
    purpose = models.CharField(_("purpose"), max_length=12, choices=PortalLinkPurpose.choices)
    token_hash = models.CharField(_("token (hashed)"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sent by"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("portal link")
        verbose_name_plural = _("portal links")
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")),
                                   name="portallink_expires_after_created"),
            models.CheckConstraint(condition=Q(used_at__isnull=True)
                                   | Q(used_at__gte=models.F("created_at")),
                                   name="portallink_used_after_created"),
            # A seat-offer link names its enrollment and no login; the others a login only.
            models.CheckConstraint(
                condition=(Q(purpose="seat_offer", enrollment__isnull=False)
                           | (~Q(purpose="seat_offer") & Q(enrollment__isnull=True,
                                                           user__isnull=False))),
                name="portallink_offer_names_enrollment_others_a_login"),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.participant}"

    def get_absolute_url(self) -> str:
        return self.participant.get_absolute_url()


# --- Family and guardian contacts ----------------------------------------------------------

ADULT_AGE = 18


def age_on(date_of_birth: date, day: date) -> int:
    return day.year - date_of_birth.year - ((day.month, day.day)
                                            < (date_of_birth.month, date_of_birth.day))


class Relationship(models.TextChoices):
    PARENT = "parent", _("Parent or guardian")
    PARTNER = "partner", _("Spouse or partner")
    OTHER = "other", _("Other")


class Contact(models.Model):
    """Someone close to a participant (a parent, guardian or partner) whom the clinic may reach.

    A contact hears nothing until the participant's written disclosure consent stands (see
    `DisclosureConsent`); then only appointment times, on the contact's own channels. A
    removed contact keeps its row (and its consents, which 42 CFR Part 2 says to keep) with
    `removed_at` stamped.
    """

    participant = models.ForeignKey(Participant, verbose_name=_("participant"),
                                    on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=120)
    relationship = models.CharField(_("relationship"), max_length=12,
                                    choices=Relationship.choices, default=Relationship.PARENT)
    is_guardian_of_minor = models.BooleanField(
        _("legal guardian of a minor"), default=False,
        help_text=_("A parent or guardian who may sign for a participant under 18."))
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("mobile phone"), max_length=16, blank=True,
                             validators=[phone_validator])
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES,
                                default="en", help_text=_("Messages to this contact use it."))
    reminder_channels = models.CharField(
        _("reminders by"), max_length=8, choices=ReminderChannels.choices,
        default=ReminderChannels.EMAIL)
    # SMS consent of the contact themself (as for participants, texts need it; STOP revokes).
    # One pair of times, not a history table: the audit log keeps every change.
    sms_consent_at = models.DateTimeField(_("agreed to text messages at"), null=True, blank=True)
    sms_revoked_at = models.DateTimeField(_("stopped text messages at"), null=True, blank=True)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["participant", "name", "pk"]
        verbose_name = _("family contact")
        verbose_name_plural = _("family contacts")
        constraints = [
            models.CheckConstraint(
                condition=Q(sms_revoked_at__isnull=True) | Q(sms_consent_at__isnull=False),
                name="contact_sms_revoked_after_given"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_relationship_display()})"

    def get_absolute_url(self) -> str:
        return reverse("admin:participants_contact_change", args=[self.pk])

    @property
    def has_sms_consent(self) -> bool:
        return self.sms_consent_at is not None and self.sms_revoked_at is None

    def has_consent(self, channel: str) -> bool:
        """Same question as `Participant.has_consent`, about the contact's own channels."""
        return self.has_sms_consent if channel == ConsentChannel.SMS else True

    def standing_disclosure(self, day: date) -> "DisclosureConsent | None":
        """The disclosure consent standing on `day`; uses prefetched consents when present."""
        if "disclosure_consents" in getattr(self, "_prefetched_objects_cache", {}):
            consents = self.disclosure_consents.all()
        else:
            consents = self.disclosure_consents.filter(revoked_at__isnull=True)
        return next((c for c in consents if c.stands_on(day)), None)


class DisclosureScope(models.TextChoices):
    APPOINTMENT_TIMES = "appointment_times", _("Appointment dates, times and place only")


class DisclosureSigner(models.TextChoices):
    PARTICIPANT = "participant", _("The participant")
    BOTH = "both", _("The participant and a parent or guardian")


class DisclosureConsent(models.Model):
    """The participant's written consent (42 CFR 2.31) to tell one contact about appointments.

    Standing while signed, before `expires_on` (the first day it no longer covers, in the
    participant's home-site zone) and not revoked. A new consent for the same contact replaces
    the standing one (which is revoked, reason "replaced"), so at most one is unrevoked.
    """

    contact = models.ForeignKey(Contact, verbose_name=_("discloses to"), on_delete=models.PROTECT,
                                related_name="disclosure_consents")
    scope = models.CharField(_("what may be shared"), max_length=20,
                             choices=DisclosureScope.choices,
                             default=DisclosureScope.APPOINTMENT_TIMES)
    signed_by = models.CharField(_("signed by"), max_length=12, choices=DisclosureSigner.choices,
                                 default=DisclosureSigner.PARTICIPANT)
    signed_on = models.DateField(_("signed on"))
    expires_on = models.DateField(
        _("expires on"), help_text=_("The first day it no longer covers. Part 2 requires one."))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"),
                                    on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("revoked by"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    revoke_reason = models.CharField(_("reason for revoking"), max_length=200, blank=True)

    class Meta:
        ordering = ["contact", "-signed_on", "-pk"]
        verbose_name = _("disclosure consent")
        verbose_name_plural = _("disclosure consents")
        constraints = [
            models.CheckConstraint(condition=Q(expires_on__gt=models.F("signed_on")),
                                   name="disclosure_expires_after_signed"),
            models.UniqueConstraint(fields=["contact"], condition=Q(revoked_at__isnull=True),
                                    name="disclosure_one_unrevoked_per_contact"),
        ]

    def __str__(self) -> str:
        return f"Disclosure to {self.contact} signed {self.signed_on}"

    def get_absolute_url(self) -> str:
        return reverse("admin:participants_disclosureconsent_change", args=[self.pk])

    def stands_on(self, day: date) -> bool:
        return self.revoked_at is None and self.signed_on <= day < self.expires_on

    def status_on(self, day: date) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if day >= self.expires_on:
            return "expired"
        if day < self.signed_on:
            return "future"
        return "standing"
