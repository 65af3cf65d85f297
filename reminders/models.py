"""The outbox: reminder rows (one per participant, visit day, kind and channel) and each site's policy."""
from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from participants.models import Participant
from programs.models import Site

# --- Reminders ---------------------------------------------------------------------------
# The database is the schedule: a planner writes rows, a sweeper claims due ones, a send task
# delivers them. See the README section "Reminders".

class ReminderKind(models.TextChoices):
    DAY_BEFORE = "day_before", _("The day before")
    SAME_DAY = "same_day", _("The same day")
    # Not a reminder: a notice that a visit day was cancelled or moved (see reminders/notices.py).
    CHANGE = "change", _("Schedule change notice")
    # "There is an answer to your request" after staff decide an excused-absence request.
    EXCUSE = "excuse", _("Excuse decision notice")
    # "A place is open for you, please answer by ..." when a seat is offered from the waitlist.
    OFFER = "offer", _("Seat offer")
    # The email with a set-password link for the portal (the link is minted when it is sent).
    INVITATION = "invitation", _("Portal invitation")


# The kinds the planner plans (one per visit day and channel); the others come from notices.py.
VISIT_REMINDER_KINDS = (ReminderKind.DAY_BEFORE, ReminderKind.SAME_DAY)
NOTICE_KINDS = (ReminderKind.CHANGE, ReminderKind.EXCUSE, ReminderKind.OFFER,
                ReminderKind.INVITATION)


class ReminderChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class ReminderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    CLAIMED = "claimed", _("Claimed by the sweeper")
    # Between the send task's compare-and-set and the channel's answer: never sent twice.
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    EXPIRED = "expired", _("Expired unsent")


class ReminderReason(models.TextChoices):
    NONE = "", _("—")
    SESSION_CANCELLED = "session_cancelled", _("No session left that day")
    NOT_ENROLLED = "not_enrolled", _("No active enrollment")
    NO_CONSENT = "no_consent", _("No standing consent for SMS")
    NO_ADDRESS = "no_address", _("No email address or phone number")
    CHANNEL_NOT_CHOSEN = "channel_not_chosen", _("Participant no longer wants this channel")
    KIND_DISABLED = "kind_disabled", _("Turned off in the site's reminder policy")
    QUIET_HOURS = "quiet_hours", _("Only possible in quiet hours")
    DAILY_LIMIT = "daily_limit", _("Another SMS of this kind goes out that day")
    SMS_DAY_CAP = "sms_day_cap", _("Not planned: the day's text limit is reached")
    SMS_WEEK_CAP = "sms_week_cap", _("Not planned: the week's text limit is reached")
    TOO_LATE = "too_late", _("Planned too late to be useful")
    PAST_DEADLINE = "past_deadline", _("The visit had started")
    NOT_NEUTRAL = "not_neutral", _("Message would not be neutral (check the site alias/address)")
    PERMANENT_ERROR = "permanent_error", _("Rejected by the provider")
    RETRIES_EXHAUSTED = "retries_exhausted", _("Provider kept failing")
    OUTCOME_UNKNOWN = "outcome_unknown", _("Worker stopped while sending; not retried")
    UNCHANGED = "unchanged", _("Changed back before the notice went out")
    OFFER_CLOSED = "offer_closed", _("The offer was answered, admitted or passed on")
    # The restore fence (reminders/fence.py): due before the database was restored from a
    # backup, so the lost database may already have sent it.
    RESTORED = "restored", _("Due before a restore from backup: may have gone out; not resent")
    NO_PORTAL_LOGIN = "no_portal_login", _("No portal login any more (removed or turned off)")
    NO_DISCLOSURE_CONSENT = "no_disclosure", _(
        "Family contact: no standing consent to disclose (revoked, expired or removed)")


class ReminderPolicy(models.Model):
    """How and when one site reminds its participants. Created with the defaults when missing."""

    site = models.OneToOneField(Site, verbose_name=_("site"), on_delete=models.CASCADE,
                                related_name="reminder_policy")
    day_before_enabled = models.BooleanField(_("send day-before reminders"), default=True)
    day_before_hours = models.PositiveSmallIntegerField(
        _("day-before reminder: hours before the first session"), default=24,
        validators=[MinValueValidator(1), MaxValueValidator(72)],
        help_text=_("Counted on the participant's wall clock, so 24 means the same time the day "
                    "before, even across a daylight-saving change."),
    )
    same_day_enabled = models.BooleanField(_("send same-day reminders"), default=True)
    same_day_hours = models.PositiveSmallIntegerField(
        _("same-day reminder: hours before the first session"), default=2,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
    )
    same_day_by_email = models.BooleanField(
        _("same-day reminder by email too"), default=False,
        help_text=_("By default the same-day reminder goes by SMS only."),
    )
    quiet_start = models.TimeField(_("quiet hours start"), default=time(21, 0),
                                   help_text=_("In the participant's local time."))
    quiet_end = models.TimeField(_("quiet hours end"), default=time(8, 0))
    sms_per_day_max = models.PositiveSmallIntegerField(
        _("texts per participant per day, at most"), default=1,
        validators=[MaxValueValidator(5)],
        help_text=_("The FCC's conditions for healthcare messages: at most one a day and three "
                    "a week. Which text is kept: see the planner (same-day first)."),
    )
    sms_per_week_max = models.PositiveSmallIntegerField(
        _("texts per participant per week (Monday to Sunday), at most"), default=3,
        validators=[MaxValueValidator(21)],
    )
    sms_ask_reply = models.BooleanField(
        _("texts ask for a reply"), default=False,
        help_text=_('Day-before and same-day texts end with "Reply 1 to confirm, 2 if you '
                    'can\'t come". The roster shows the answer; "2" opens what the '
                    "participant's program chose: a follow-up for the clinician (default) or "
                    "an excused-absence request."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("reminder policy")
        verbose_name_plural = _("reminder policies")
        constraints = [
            models.CheckConstraint(condition=~Q(quiet_start=models.F("quiet_end")),
                                   name="reminderpolicy_quiet_hours_not_empty"),
        ]

    def __str__(self) -> str:
        return f"Reminder policy of {self.site}"

    def get_absolute_url(self) -> str:
        return reverse("admin:reminders_reminderpolicy_change", args=[self.pk])


class Reminder(models.Model):
    """One message to one participant on one channel about one visit day."""

    participant = models.ForeignKey(Participant, verbose_name=_("participant"),
                                    on_delete=models.CASCADE, related_name="reminders")
    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.CASCADE,
                             related_name="reminders",
                             help_text=_("Where the visit's first session takes place."))
    visit_date = models.DateField(_("visit day"), help_text=_("In the participant's time zone."))
    kind = models.CharField(_("kind"), max_length=12, choices=ReminderKind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=ReminderChannel.choices)
    status = models.CharField(_("status"), max_length=8, choices=ReminderStatus.choices,
                              default=ReminderStatus.PENDING)
    reason = models.CharField(_("reason"), max_length=20, choices=ReminderReason.choices,
                              blank=True, help_text=_("Why it was skipped, failed or expired."))
    detail = models.CharField(_("detail"), max_length=200, blank=True,
                              help_text=_("The provider's error, for failed reminders."))
    due_at = models.DateTimeField(_("due at"))
    send_before = models.DateTimeField(_("send before"),
                                       help_text=_("The start of the visit's first session."))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    previous_start = models.DateTimeField(
        _("start before the change"), null=True, blank=True,
        help_text=_("Change notices: the visit's first start as the participant knew it."))
    # The five nullable links below are empty on nearly every row (a planned reminder has none):
    # their indexes are partial (Meta.indexes), or for `contact` the unique constraint's, so a
    # status change does not add an entry for NULL to each of them.
    previous_site = models.ForeignKey(
        Site, verbose_name=_("site before the change"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="+", db_index=False)
    previous_address = models.CharField(
        _("address before the change"), max_length=200, blank=True, db_default="",
        help_text=_("Change notices: the site's address as the participant knew it."))
    session = models.ForeignKey(
        "iop_sessions.TherapySession", verbose_name=_("changed session"),
        on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False,
        help_text=_("Change notices: the first session changed that day, to follow a move."))
    contact = models.ForeignKey(
        "participants.Contact", verbose_name=_("to family contact"), on_delete=models.CASCADE,
        null=True, blank=True, related_name="reminders", db_index=False,
        help_text=_("Empty: to the participant. Set: a reminder to this contact of the "
                    "participant's appointment (visit kinds only)."))
    enrollment = models.ForeignKey(
        "participants.Enrollment", verbose_name=_("enrollment offered a seat"),
        on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("asked for by"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="+", db_index=False,
        help_text=_("Portal invitations: the staff member who sent it."))
    asks_reply = models.BooleanField(_("asked for a reply"), default=False)
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    body = models.TextField(_("message sent"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-visit_date", "participant_id", "kind", "channel"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(fields=["participant", "visit_date", "kind", "channel"],
                                    condition=~Q(kind__in=["change", "excuse", "offer",
                                                           "invitation"])
                                    & Q(contact__isnull=True),
                                    name="reminder_one_per_visit_kind_channel"),
            # A family contact's reminders: one per contact, visit day, kind and channel.
            models.UniqueConstraint(fields=["contact", "visit_date", "kind", "channel"],
                                    condition=Q(contact__isnull=False),
                                    name="reminder_contact_one_per_visit_kind_channel"),
            models.CheckConstraint(
                condition=Q(contact__isnull=True) | Q(kind__in=["day_before", "same_day"]),
                name="reminder_contact_only_visit_kinds"),
            # One "there is an answer" per decided request (its attendance row's session).
            models.UniqueConstraint(fields=["participant", "session", "kind", "channel"],
                                    condition=Q(kind="excuse"),
                                    name="notice_one_per_excuse_decision_channel"),
            # One message per offer (an enrollment offered again later gets a new one).
            models.UniqueConstraint(fields=["enrollment", "channel", "send_before"],
                                    condition=Q(kind="offer"),
                                    name="notice_one_per_seat_offer_channel"),
            # Edits within the debounce join the pending notice; once it is claimed, a later
            # change gets a notice of its own.
            models.UniqueConstraint(fields=["participant", "visit_date", "channel"],
                                    condition=Q(kind="change", status="pending"),
                                    name="notice_one_pending_per_day_channel"),
            # A second "send invitation" while one waits to go out joins it.
            models.UniqueConstraint(fields=["participant"],
                                    condition=Q(kind="invitation", status="pending"),
                                    name="notice_one_pending_invitation"),
            models.CheckConstraint(condition=Q(due_at__lt=models.F("send_before")),
                                   name="reminder_due_before_deadline"),
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False),
                                   name="reminder_sent_has_time"),
            models.CheckConstraint(
                condition=~Q(status__in=["claimed", "sending"]) | Q(claimed_at__isnull=False),
                name="reminder_claim_has_time",
            ),
        ]
        indexes = [
            # The sweeper's three questions, each answered from a small partial index.
            models.Index(fields=["due_at"], name="reminder_pending_due_idx",
                         condition=Q(status="pending")),
            models.Index(fields=["claimed_at"], name="reminder_claimed_idx",
                         condition=Q(status__in=["claimed", "sending"])),
            models.Index(fields=["send_before"], name="reminder_open_deadline_idx",
                         condition=Q(status__in=["pending", "claimed"])),
            models.Index(fields=["status", "visit_date"], name="reminder_status_day_idx"),
            # The portal's "Coming up": a participant's own reminders still to go, soonest
            # first. Without it PostgreSQL ANDed the participant's index with the open-deadline
            # one, read every open reminder of the clinic (76,000 at 2,000 people) for ten rows.
            models.Index(fields=["participant", "due_at"], name="reminder_participant_open_idx",
                         condition=Q(status__in=["pending", "claimed"], contact__isnull=True)),
            # Every status change writes an entry in each index whose condition the row meets.
            # These four links are set only on notices (and a change notice's previous site):
            # indexed where set, they serve the lookups by link (a session's pending notices,
            # an offer's, ON DELETE of a session, enrollment, site or user), which all ask for
            # one value and so imply IS NOT NULL. `contact` needs none of its own:
            # reminder_contact_one_per_visit_kind_channel starts with it, on the same condition.
            models.Index(fields=["session"], name="reminder_session_idx",
                         condition=Q(session__isnull=False)),
            models.Index(fields=["enrollment"], name="reminder_enrollment_idx",
                         condition=Q(enrollment__isnull=False)),
            models.Index(fields=["previous_site"], name="reminder_previous_site_idx",
                         condition=Q(previous_site__isnull=False)),
            models.Index(fields=["requested_by"], name="reminder_requested_by_idx",
                         condition=Q(requested_by__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_channel_display()} reminder for {self.visit_date}"

    def get_absolute_url(self) -> str:
        return reverse("admin:reminders_reminder_change", args=[self.pk])
