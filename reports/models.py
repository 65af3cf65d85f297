"""Background exports of the reports: who asked for what, progress, and the expiring file."""
import operator
import uuid
from functools import reduce

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class ReportExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to start")
    RUNNING = "running", _("Being prepared")
    READY = "ready", _("Ready to download")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class ReportExport(models.Model):
    """A report or list exported in the background: who asked, what, with which filters.

    The file lives under settings.REPORT_EXPORT_DIR, never in public static or media; only the
    person who asked may download it, until `expires_at`, after which the file is deleted.
    """

    code = models.UUIDField(_("public code"), default=uuid.uuid4, unique=True, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.PROTECT, related_name="+")
    report = models.CharField(_("report"), max_length=20)
    file_format = models.CharField(_("format"), max_length=4)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=ReportExportStatus.choices,
                              default=ReportExportStatus.PENDING)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    rows = models.PositiveIntegerField(_("rows written"), default=0)
    file_name = models.CharField(_("file"), max_length=120, blank=True, editable=False)
    error = models.CharField(_("error code"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("link expires at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("report export")
        verbose_name_plural = _("report exports")
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100),
                                   name="reportexport_progress_max_100"),
            models.CheckConstraint(condition=Q(file_format__in=["csv", "xlsx"]),
                                   name="reportexport_known_format"),
            models.CheckConstraint(
                condition=~Q(status="ready") | (Q(expires_at__isnull=False) & ~Q(file_name="")),
                name="reportexport_ready_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report} export ({self.file_format}, {self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("report_export_status", args=[self.code])


class SessionTally(models.Model):
    """Attendance counted per therapy session, kept by PostgreSQL triggers on the attendance
    table (migration 0002), so the attendance and staff-load reports read one row per session
    instead of one per participant and session.

    Every write to attendance (the ORM one row at a time, `bulk_create`, `QuerySet.update`,
    INSERT ... SELECT, deletes and cascades) goes through the statement triggers, so the tally is
    never behind a committed attendance row. Beside the counts it keeps what the attendance
    report groups and filters the session by (migration 0008): its site, date, status, track and
    kind, its ISO weekday, part of the day in the site's zone and length, kept from the session
    and its site by triggers, so the report's cells read the range's tallies alone by
    (site, local_date) instead of every tally the clinic ever had joined to its session. They
    are empty only on the tally of a deleted session (a row of zeros no report reads).
    """

    # No database constraint and no cascade: the triggers own these rows (a deleted session's
    # attendance is deleted first, leaving a row of zeros that no report reads).
    session = models.OneToOneField("iop_sessions.TherapySession", primary_key=True,
                                   on_delete=models.DO_NOTHING, db_constraint=False,
                                   related_name="report_tally")
    attended = models.IntegerField(default=0)  # present, late or left early
    absent = models.IntegerField(default=0)
    excused = models.IntegerField(default=0)
    unmarked = models.IntegerField(default=0)  # still "expected"
    recorded_minutes = models.BigIntegerField(default=0)  # minutes_attended of attended rows
    unrecorded = models.IntegerField(default=0)  # attended rows without minutes_attended
    # The session's, kept by the database (migration 0008); no constraint, as `session`.
    site = models.ForeignKey("programs.Site", verbose_name=_("site"), on_delete=models.DO_NOTHING,
                             db_constraint=False, db_index=False, null=True, editable=False,
                             related_name="+")
    local_date = models.DateField(_("local date"), null=True, editable=False)
    status = models.CharField(_("session status"), max_length=10, null=True, editable=False)
    track = models.ForeignKey("programs.Track", verbose_name=_("track"),
                              on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                              null=True, editable=False, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, null=True, editable=False)
    weekday = models.SmallIntegerField(_("ISO weekday"), null=True, editable=False,
                                       help_text=_("1 Monday to 7 Sunday."))
    part = models.SmallIntegerField(
        _("part of the day"), null=True, editable=False,
        help_text=_("0 morning, 1 afternoon (noon on), 2 evening (5 pm on), at the site."))
    length = models.BigIntegerField(_("length (microseconds)"), null=True, editable=False)

    class Meta:
        db_table = "reports_session_tally"
        verbose_name = _("attendance tally of a session")
        indexes = [
            # The attendance report's cells: a range of days at the asker's sites.
            models.Index(fields=["site", "local_date"], name="reports_tally_site_day_idx"),
        ]

    def __str__(self) -> str:
        return f"session {self.session_id}: {self.attended} attended"


class BillingSums(models.Model):
    """A participant's attended sessions of a service code at a site and track, and their
    length: BillingDay's per day, BillingWeek's per week.

    No database constraint, cascade or index of their own: the triggers own these rows (a row
    whose sessions were all unmarked or deleted stays at zero; readers skip it), and readers
    find them by their migration's unique index on (day or week, participant, service_code,
    site, COALESCE(track, 0)), which starts with the date."""

    participant = models.ForeignKey("participants.Participant", on_delete=models.DO_NOTHING,
                                    db_constraint=False, db_index=False, related_name="+")
    site = models.ForeignKey("programs.Site", on_delete=models.DO_NOTHING, db_constraint=False,
                             db_index=False, related_name="+")
    service_code = models.CharField(_("billing/service code"), max_length=12)
    track = models.ForeignKey("programs.Track", on_delete=models.DO_NOTHING, db_constraint=False,
                              db_index=False, null=True, related_name="+")
    sessions = models.IntegerField(default=0)
    length = models.BigIntegerField(default=0)  # microseconds attended

    class Meta:
        abstract = True


class BillingDay(BillingSums):
    """Attended sessions and their length per participant, day, site, service code and track,
    kept by PostgreSQL triggers (migration 0003), so the billing report groups one row per
    participant and day instead of every attended attendance row (on PostgreSQL it reads their
    weeks, BillingWeek, kept from these rows in turn).

    A row sums the attendance rows marked present, late or left early at held (scheduled)
    sessions whose type has a service code: `sessions` of them and their `length` in whole
    microseconds (`minutes_attended` when recorded, else the session's length), exact integers.
    `track` is the session's, or for a personal session the track of the attendance row's
    enrollment (none when it has none), as the report's program and track filters read it.
    Every write that moves a line goes through statement triggers in the writer's transaction:
    attendance (marks, minutes, the enrollment or session of a row, inserts, deletes), sessions
    (cancelled or restored, rescheduled, moved to another site, track or type, deleted), a
    session type's service code and an enrollment's track. What depends on the day or the
    person (held until today, the caseload filter) and the billing rules are applied when read.
    """

    local_date = models.DateField(_("local date"))

    class Meta:
        db_table = "reports_billing_day"
        # The triggers' ON CONFLICT target is a unique index of the migration's own, on
        # (local_date, participant, service_code, site, COALESCE(track, 0)): one SQL for
        # PostgreSQL and SQLite, where a track-less row would otherwise never conflict.

    def __str__(self) -> str:
        return f"participant {self.participant_id}, {self.local_date} {self.service_code}"


# A week's days in BillingWeek's column names, Monday first (0001-01-01 was a Monday: a date's
# day of the week is (date - 0001-01-01) % 7, its index here).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def days_with_sessions(weight) -> models.Expression:
    """The sum over the week's days with sessions of `weight(index)` (0 Monday .. 6 Sunday)."""
    return reduce(operator.add, [
        models.Case(models.When(~Q(**{f"sessions_{day}": 0}), then=models.Value(weight(index))),
                    default=models.Value(0))
        for index, day in enumerate(WEEKDAYS)])


class BillingWeek(BillingSums):
    """The billing days (BillingDay) of a participant, service code, site and track summed per
    week, with each day's sums beside the week's, kept by PostgreSQL statement triggers on
    reports_billing_day (migration 0005), so the billing report's weekly summary reads one row
    per participant and week (at 2,000 participants 18,000 rows for 12 weeks) instead of one a
    day (82,000); the weeks a range holds whole, through their sums (BillingWeekSums).

    A day's sessions and microseconds are kept, not its units: the billing rules (settings) are
    applied when read, per day, as on the days. Every write to the days is a trigger's, in the
    writer's statement, and the days' own triggers add this table's delta in the same
    transaction, so a week is never behind its days. PostgreSQL only: on SQLite (`make run`)
    the report sums the days and this table stays empty.
    """

    week = models.DateField(_("week (Monday)"))
    sessions_mon = models.IntegerField(default=0)
    sessions_tue = models.IntegerField(default=0)
    sessions_wed = models.IntegerField(default=0)
    sessions_thu = models.IntegerField(default=0)
    sessions_fri = models.IntegerField(default=0)
    sessions_sat = models.IntegerField(default=0)
    sessions_sun = models.IntegerField(default=0)
    length_mon = models.BigIntegerField(default=0)
    length_tue = models.BigIntegerField(default=0)
    length_wed = models.BigIntegerField(default=0)
    length_thu = models.BigIntegerField(default=0)
    length_fri = models.BigIntegerField(default=0)
    length_sat = models.BigIntegerField(default=0)
    length_sun = models.BigIntegerField(default=0)
    # Worked out by the database on every write of the row: the days with sessions, as bits
    # (Monday 1 .. Sunday 64) and counted, which the summary reads of every row.
    weekdays = models.GeneratedField(expression=days_with_sessions(lambda index: 1 << index),
                                     output_field=models.IntegerField(), db_persist=True)
    days = models.GeneratedField(expression=days_with_sessions(lambda index: 1),
                                 output_field=models.IntegerField(), db_persist=True)

    class Meta:
        db_table = "reports_billing_week"
        verbose_name = _("billing week")

    def __str__(self) -> str:
        return f"participant {self.participant_id}, week of {self.week} {self.service_code}"


class BillingWeekSums(models.Model):
    """The billing weeks (BillingWeek rows with sessions) of a week, service code, site and
    track added up, kept from them by PostgreSQL statement triggers (migration 0006), so the
    billing summary reads a few rows a track and week for the weeks a range holds whole instead
    of a row per participant (at 2,000 participants about 1,700 rows for 9 weeks against
    18,000).

    Two kinds of row, told apart by `length`: -1 holds the weeks' own sums, each week row as
    the summary counts a line of one row (`rows`, their `sessions`, `days` with sessions and
    `minutes`, each row's microseconds rounded to minutes half up, as ROUND would); a positive
    `length` counts the weeks' days of exactly that many microseconds (`row_days`), from which
    a per-diem code's units are counted under whatever minimum the rules set when read (a day
    counts when its microseconds meet it). The rules are applied when read, never stored. A
    week row's share is added and taken by its old and new images in the statement that moves
    it, so these sums always equal their week rows'. PostgreSQL only, as BillingWeek."""

    week = models.DateField(_("week (Monday)"))
    service_code = models.CharField(_("billing/service code"), max_length=12)
    site = models.ForeignKey("programs.Site", on_delete=models.DO_NOTHING, db_constraint=False,
                             db_index=False, related_name="+")
    track = models.ForeignKey("programs.Track", on_delete=models.DO_NOTHING, db_constraint=False,
                              db_index=False, null=True, related_name="+")
    length = models.BigIntegerField()  # -1: the weeks' own sums; else a day's microseconds
    row_days = models.IntegerField(default=0)
    rows = models.IntegerField(default=0)
    sessions = models.IntegerField(default=0)
    days = models.IntegerField(default=0)
    minutes = models.BigIntegerField(default=0)

    class Meta:
        db_table = "reports_billing_week_sums"
        # The triggers' ON CONFLICT target is a unique index of the migration's own, on (week,
        # service_code, site, COALESCE(track, 0), length), which the summary reads by week.

    def __str__(self) -> str:
        return f"week of {self.week} {self.service_code}, site {self.site_id}"


class BillingLineRows(models.Model):
    """How many billing weeks (BillingWeek rows with sessions: one per site and track) a
    participant's week of a service code has, kept with the weeks by the same trigger
    (migration 0005). Nearly every line has one; the billing summary adds those up row by row
    and groups only the lines of more than one (a participant at two sites, or moved to another
    track, that week) into lines first. PostgreSQL only, as BillingWeek."""

    participant = models.ForeignKey("participants.Participant", on_delete=models.DO_NOTHING,
                                    db_constraint=False, db_index=False, related_name="+")
    week = models.DateField(_("week (Monday)"))
    service_code = models.CharField(_("billing/service code"), max_length=12)
    rows = models.IntegerField(default=0)

    class Meta:
        db_table = "reports_billing_line_rows"
        verbose_name = _("billing line's rows")
        constraints = [
            models.UniqueConstraint(fields=["week", "participant", "service_code"],
                                    name="reports_billing_line_rows_key"),
        ]
        indexes = [
            # The few lines the summary groups: a range of weeks' lines of more than one row.
            models.Index(fields=["week"], condition=models.Q(rows__gt=1),
                         name="reports_billing_line_split"),
        ]

    def __str__(self) -> str:
        return f"participant {self.participant_id}, week of {self.week} {self.service_code}"
