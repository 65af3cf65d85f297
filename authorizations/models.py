"""Payer, Coverage (who pays for an enrollment) and Authorization (what the payer approved).

Units used and scheduled are never stored: `selectors.authorization_figures` derives them from
attendance with the billing report's rule (sessions.selectors.billing).
"""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from participants.models import Enrollment
from programs.models import LevelOfCare


class Payer(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    requires_authorization = models.BooleanField(
        _("requires authorization"), default=True,
        help_text=_("Today warns about an active participant covered by this payer who has no "
                    "authorization."),
    )
    phone = models.CharField(_("utilization review phone"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("payer")
        verbose_name_plural = _("payers")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:authorizations_payer_change", args=[self.pk])


class Coverage(models.Model):
    """The payer an enrollment is billed to (one per enrollment)."""

    enrollment = models.OneToOneField(Enrollment, verbose_name=_("enrollment"),
                                      on_delete=models.CASCADE, related_name="coverage")
    payer = models.ForeignKey(Payer, verbose_name=_("payer"), on_delete=models.PROTECT,
                              related_name="coverages")
    member_id = models.CharField(_("member id"), max_length=40, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("coverage")
        verbose_name_plural = _("coverages")
        indexes = [models.Index(fields=["payer"], name="coverage_payer_idx")]

    def __str__(self) -> str:
        return f"{self.payer}"

    def get_absolute_url(self) -> str:
        return reverse("participant_chart", args=[self.enrollment.participant.code])


class AuthorizationUnit(models.TextChoices):
    DAY = "day", _("Day")
    SESSION = "session", _("Session")
    HOUR = "hour", _("Hour")


class AuthorizationStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")
    EXPIRED = "expired", _("Expired")


class Authorization(models.Model):
    enrollment = models.ForeignKey(Enrollment, verbose_name=_("enrollment"),
                                   on_delete=models.PROTECT, related_name="authorizations")
    payer = models.ForeignKey(Payer, verbose_name=_("payer"), on_delete=models.PROTECT,
                              related_name="authorizations")
    member_id = models.CharField(_("member id"), max_length=40, blank=True)
    number = models.CharField(_("authorization number"), max_length=40, blank=True,
                              help_text=_("The payer's reference; blank while requested."))
    level_of_care = models.CharField(_("level of care"), max_length=3,
                                     choices=LevelOfCare.choices, default=LevelOfCare.IOP)
    unit = models.CharField(_("unit"), max_length=8, choices=AuthorizationUnit.choices,
                            default=AuthorizationUnit.DAY)
    service_code = models.CharField(
        _("service code"), max_length=12,
        help_text=_("Attendance at sessions of this billing code uses the authorization, e.g. "
                    "H0015 per day."),
    )
    units_authorized = models.PositiveSmallIntegerField(_("units authorized"))
    start_date = models.DateField(_("first day covered"))
    end_date = models.DateField(_("last day covered"))
    next_review_date = models.DateField(_("next utilization review"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=AuthorizationStatus.choices,
                              default=AuthorizationStatus.REQUESTED)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["-start_date", "-pk"]
        verbose_name = _("authorization")
        verbose_name_plural = _("authorizations")
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")),
                                   name="authorization_end_after_start"),
            models.CheckConstraint(condition=Q(units_authorized__gt=0),
                                   name="authorization_units_positive"),
            models.CheckConstraint(
                condition=Q(next_review_date__isnull=True)
                | Q(next_review_date__gte=F("start_date")),
                name="authorization_review_after_start",
            ),
            models.CheckConstraint(condition=~Q(service_code=""),
                                   name="authorization_has_service_code"),
            models.CheckConstraint(condition=~Q(status="approved") | ~Q(number=""),
                                   name="authorization_approved_has_number"),
            models.UniqueConstraint(fields=["payer", "number"], condition=~Q(number=""),
                                    name="authorization_number_unique_per_payer"),
        ]
        indexes = [models.Index(fields=["enrollment", "status"],
                                name="authz_enrollment_status_idx")]

    def __str__(self) -> str:
        return f"{self.payer} {self.number or self.get_status_display()}"

    def get_absolute_url(self) -> str:
        return reverse("participant_chart", args=[self.enrollment.participant.code])


class OverrideAction(models.TextChoices):
    BOOK = "book", _("Booked a session")
    ADMIT = "admit", _("Admitted from the waitlist")
    RESUME = "resume", _("Resumed after a hold")


class AuthorizationOverride(models.Model):
    """Staff went ahead past an authorization warning: what they did and the figures they saw.

    Audited, so the warning shows on the chart's audit trail with who proceeded and when."""

    enrollment = models.ForeignKey(Enrollment, verbose_name=_("enrollment"),
                                   on_delete=models.PROTECT, related_name="+")
    authorization = models.ForeignKey(Authorization, verbose_name=_("authorization"),
                                      on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="overrides")
    action = models.CharField(_("action"), max_length=8, choices=OverrideAction.choices)
    warning = models.CharField(_("warning shown"), max_length=300)
    on_date = models.DateField(_("for the date"))
    created_at = models.DateTimeField(_("when"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("authorization warning overridden")
        verbose_name_plural = _("authorization warnings overridden")

    def __str__(self) -> str:
        return f"{self.get_action_display()} on {self.on_date}: {self.warning}"

    def get_absolute_url(self) -> str:
        return reverse("participant_chart", args=[self.enrollment.participant.code])


class AuthorizationUsage(models.Model):
    """Usage of one authorization as last derived from attendance (never typed).

    Written only by `services.authorization_usage_refresh`, with the same SQL the chart reads
    live, whenever attendance, the schedule or the authorization changes, and every few
    minutes by beat (which also moves "today" forward). Today's alerts and the ending report
    read it, so they cost one small query instead of summing every attendance row of the
    clinic on each page view."""

    authorization = models.OneToOneField(Authorization, verbose_name=_("authorization"),
                                         on_delete=models.CASCADE, primary_key=True,
                                         related_name="usage")
    used = models.DecimalField(_("units used"), max_digits=8, decimal_places=2, default=0)
    scheduled = models.DecimalField(_("units scheduled"), max_digits=8, decimal_places=2,
                                    default=0)
    over_from = models.DateField(_("scheduled beyond the units from"), null=True, blank=True)
    runs_out_on = models.DateField(_("units run out on"), null=True, blank=True)
    after_end = models.DecimalField(_("units scheduled after the end"), max_digits=8,
                                    decimal_places=2, default=0)
    after_end_from = models.DateField(_("scheduled after the end from"), null=True, blank=True)
    as_of = models.DateField(_("as of"))
    refreshed_at = models.DateTimeField(_("refreshed at"))

    class Meta:
        verbose_name = _("authorization usage")
        verbose_name_plural = _("authorization usage")

    def __str__(self) -> str:
        return f"{self.authorization}: {self.used} used, {self.scheduled} scheduled"


class AuthorizationAlertRow(models.Model):
    """One alert Today may show, and the days it is shown (never typed, never a page cache).

    Kept by PostgreSQL triggers (migration 0004) in the transaction of every write that moves
    what the alert rule reads: authorizations, their stored usage, coverage, payers, enrollments,
    tracks and programs. Each of an enrollment's rows is derived again from those tables when
    any of them changes, with the rule of `selectors._alert_kinds_sql` written as ranges of
    "today": the part of the rule that reads today's date is `shown_from` and `shown_until`
    (either open), compared when Today reads them, so the alerts still follow the calendar.
    Today's box counts and orders the rows of its sites shown today instead of working out the
    rule for every authorization of the site on each view. SQLite (`make run`) has no triggers:
    the table stays empty there and Today works the rule out as before."""

    site = models.ForeignKey("programs.Site", on_delete=models.DO_NOTHING, db_constraint=False,
                             db_index=False, related_name="+")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.DO_NOTHING, db_constraint=False,
                                   db_index=False, related_name="+")
    participant = models.ForeignKey("participants.Participant", on_delete=models.DO_NOTHING,
                                    db_constraint=False, db_index=False, related_name="+")
    authorization = models.ForeignKey(Authorization, on_delete=models.DO_NOTHING, null=True,
                                      db_constraint=False, db_index=False, related_name="+")
    payer = models.ForeignKey(Payer, on_delete=models.DO_NOTHING, db_constraint=False,
                              db_index=False, related_name="+")
    # The kind's place in the rule (selectors._ALERT_KINDS, then 6 for a missing authorization).
    kind = models.PositiveSmallIntegerField()
    on_date = models.DateField(null=True)
    shown_from = models.DateField(null=True)
    shown_until = models.DateField(null=True)

    class Meta:
        db_table = "authorizations_alert_row"
        verbose_name = _("authorization alert")
        verbose_name_plural = _("authorization alerts")
        indexes = [
            # Today's box reads the index alone: its site's rows by date, each row's days shown
            # and what it joins for the rows it shows.
            models.Index(fields=["site", "on_date"],
                         include=["shown_from", "shown_until", "kind", "authorization",
                                  "participant", "payer"],
                         name="authorizations_alert_site"),
            models.Index(fields=["enrollment"], name="authorizations_alert_enrol"),
        ]
