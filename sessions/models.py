"""When people meet and whether they came: therapy sessions, attendance, follow-ups and excuses."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from participants.models import ContinuingCarePlan, Enrollment, Participant
from programs.models import Room, SessionKind, SessionType, Site, Track, WeeklySlot


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CANCELLED = "cancelled", _("Cancelled")


class TherapySession(models.Model):
    """One meeting at one time and place, of one session type."""

    session_type = models.ForeignKey(SessionType, verbose_name=_("session type"),
                                     on_delete=models.PROTECT, related_name="sessions")
    kind = models.CharField(_("kind"), max_length=12, choices=SessionKind.choices)
    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.PROTECT,
                             related_name="sessions")
    track = models.ForeignKey(Track, verbose_name=_("track"), on_delete=models.CASCADE,
                              null=True, blank=True, related_name="sessions")
    weekly_slot = models.ForeignKey(
        WeeklySlot, verbose_name=_("weekly slot"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="sessions", help_text=_("The timetable line this was generated from."),
    )
    participant = models.ForeignKey(
        Participant, verbose_name=_("participant"), on_delete=models.CASCADE, null=True,
        blank=True, related_name="personal_sessions",
        help_text=_("For individual and family sessions."),
    )
    care_plan = models.ForeignKey(
        ContinuingCarePlan, verbose_name=_("continuing-care plan"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="follow_up_sessions",
        help_text=_("Set for follow-up appointments after discharge."),
    )
    title = models.CharField(_("title / topic"), max_length=120, blank=True)
    room = models.ForeignKey(Room, verbose_name=_("room"), on_delete=models.SET_NULL, null=True,
                             blank=True, related_name="sessions")
    facilitator = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("facilitator"),
                                    on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="facilitated_sessions")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    local_date = models.DateField(_("local date"), help_text=_("The date at the site."))
    status = models.CharField(_("status"), max_length=10, choices=SessionStatus.choices,
                              default=SessionStatus.SCHEDULED)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)
    # Who cancelled and when: staff ask "who cancelled Monday's group?" and the audit trail needs it.
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("cancelled by"),
                                     on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        verbose_name = _("therapy session")
        verbose_name_plural = _("therapy sessions")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")),
                                   name="session_ends_after_start"),
            models.CheckConstraint(
                condition=(Q(kind__in=["group", "workshop"], track__isnull=False,
                             participant__isnull=True)
                           | Q(kind__in=["individual", "family"], participant__isnull=False)),
                name="session_owner_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(status="scheduled", cancel_reason="") | Q(status="cancelled"),
                name="session_cancel_reason_only_when_cancelled",
            ),
            # Generating a schedule twice cannot duplicate a slot's session on a day.
            models.UniqueConstraint(fields=["weekly_slot", "local_date"],
                                    condition=Q(weekly_slot__isnull=False),
                                    name="session_one_per_slot_per_day"),
        ]
        indexes = [
            models.Index(fields=["site", "starts_at"], name="session_site_start_idx"),
            models.Index(fields=["track", "starts_at"], name="session_track_start_idx"),
            # The day list, the week calendar and the at-risk box ask by local date (and site).
            models.Index(fields=["local_date", "site"], name="session_day_site_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title or self.session_type} {self._when_text()}"

    def _when_text(self) -> str:
        # In the site's zone and our format, as the pages write it, never UTC: the clock time
        # when the site is already loaded, otherwise the (stored local) date, so naming a
        # session (admin lists, the audit trail's record) never costs a query of its own.
        if self.starts_at and TherapySession.site.is_cached(self):
            return date_format(self.starts_at.astimezone(self.site.zone), "DATETIME_FORMAT")
        return date_format(self.local_date, "DATE_FORMAT") if self.local_date else ""

    def get_absolute_url(self) -> str:
        return reverse("admin:iop_sessions_therapysession_change", args=[self.pk])

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class AttendanceStatus(models.TextChoices):
    EXPECTED = "expected", _("Expected")
    PRESENT = "present", _("Present")
    LATE = "late", _("Late")
    LEFT_EARLY = "left_early", _("Left early")
    ABSENT = "absent", _("Absent")
    EXCUSED = "excused", _("Excused")
    CANCELLED = "cancelled", _("Cancelled by clinic")

    @classmethod
    def attended(cls) -> tuple[str, ...]:
        return (cls.PRESENT, cls.LATE, cls.LEFT_EARLY)

    @classmethod
    def marked(cls) -> tuple[str, ...]:
        return (cls.PRESENT, cls.LATE, cls.LEFT_EARLY, cls.ABSENT, cls.EXCUSED)


class AttendanceConfirmation(models.TextChoices):
    NONE = "", _("No answer")
    CONFIRMED = "confirmed", _("Confirmed by text")
    CANT_COME = "cant_come", _("Can't come (by text)")


class Attendance(models.Model):
    session = models.ForeignKey(TherapySession, verbose_name=_("session"), on_delete=models.CASCADE,
                                related_name="attendances")
    participant = models.ForeignKey(Participant, verbose_name=_("participant"),
                                    on_delete=models.CASCADE, related_name="attendances")
    enrollment = models.ForeignKey(Enrollment, verbose_name=_("enrollment"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="attendances")
    status = models.CharField(_("status"), max_length=12, choices=AttendanceStatus.choices,
                              default=AttendanceStatus.EXPECTED)
    minutes_attended = models.PositiveSmallIntegerField(_("minutes attended"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("marked by"),
                                  on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    marked_at = models.DateTimeField(_("marked at"), null=True, blank=True)
    # The participant's own answer to "Reply 1 to confirm, 2 if you can't come" (two-way SMS).
    confirmation = models.CharField(_("participant's answer"), max_length=10,
                                    choices=AttendanceConfirmation.choices, blank=True)
    confirmed_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # A make-up (sessions/services/makeups.py): the missed attendance it makes up for. While
    # the make-up is still on (expected or attended) the chart stops offering one for that
    # miss; cancelled or missed in turn, the offer comes back.
    makeup_for = models.ForeignKey("self", verbose_name=_("makes up for"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="makeups", db_index=False)
    # The session's local date, kept by the database (migration 0013's triggers: set when a
    # row is written, moved with its session's date), so a participant's rows within a range
    # of days are found in an index (`attendance_part_day_idx`) instead of reading all their
    # rows ever and then each one's session. A row saved by the ORM has it in the database,
    # not on the instance.
    session_date = models.DateField(
        _("session's date"), null=True, blank=True, editable=False,
        help_text=_("The session's date at its site; kept from the session by the database."))

    class Meta:
        ordering = ["session__starts_at", "participant__last_name"]
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [
            models.UniqueConstraint(fields=["session", "participant"],
                                    name="attendance_one_per_participant_session"),
            models.CheckConstraint(
                condition=Q(minutes_attended__isnull=True) | Q(minutes_attended__gte=0),
                name="attendance_minutes_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["present", "late", "left_early"])
                | Q(minutes_attended__isnull=True) | Q(minutes_attended=0),
                name="attendance_minutes_only_when_attended",
            ),
        ]
        indexes = [
            models.Index(fields=["participant", "status"], name="attendance_part_status_idx"),
            # A caseload's rows of a range of days (the attendance report by clinician), without
            # their rows of every earlier stay, answered from the index alone (what the report
            # counts a row by: its session, status and minutes).
            models.Index(fields=["participant", "session_date"],
                         include=["session", "status", "minutes_attended"],
                         name="attendance_part_day_idx"),
            # Counts per session and status (day list, calendar) and the week's hours of Today's
            # at-risk list (participant, status, minutes of each session's rows) answered from
            # the index alone, without a heap read per row (bench/explain.py at 2,000).
            models.Index(fields=["session", "status"], include=["participant", "minutes_attended"],
                         name="attendance_session_cover_idx"),
            # Only make-ups point back at a miss: a partial index stays as small as they are.
            models.Index(fields=["makeup_for"], condition=Q(makeup_for__isnull=False),
                         name="attendance_makeup_for_idx"),
        ]

    def __str__(self) -> str:
        # The label looked up directly: get_status_display() hashes every choice's lazy label
        # on each call, which the audit trail of a census import pays 70,000 times.
        return f"{self.participant} at {self.session}: {AttendanceStatus(self.status).label}"

    def get_absolute_url(self) -> str:
        return self.session.get_absolute_url()


class AttendanceChange(models.Model):
    """One later edit of an attendance that had already been marked: who, when, from what to what.

    The first marking lives on the attendance itself (`marked_by`, `marked_at`); every change
    after it is appended here and never edited, so the record of care stays whole.
    """

    attendance = models.ForeignKey(Attendance, verbose_name=_("attendance"),
                                   on_delete=models.CASCADE, related_name="changes")
    old_status = models.CharField(_("status before"), max_length=12,
                                  choices=AttendanceStatus.choices)
    new_status = models.CharField(_("status after"), max_length=12,
                                  choices=AttendanceStatus.choices)
    old_minutes = models.PositiveSmallIntegerField(_("minutes before"), null=True, blank=True)
    new_minutes = models.PositiveSmallIntegerField(_("minutes after"), null=True, blank=True)
    old_note = models.CharField(_("note before"), max_length=300, blank=True)
    new_note = models.CharField(_("note after"), max_length=300, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("changed by"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        ordering = ["attendance", "changed_at", "pk"]
        verbose_name = _("attendance change")
        verbose_name_plural = _("attendance changes")

    def __str__(self) -> str:
        return f"{self.attendance}: {self.old_status} → {self.new_status}"

    def get_absolute_url(self) -> str:
        return self.attendance.get_absolute_url()


class FollowUpKind(models.TextChoices):
    UNEXCUSED_ABSENCE = "unexcused_absence", _("Unexcused absence")
    CONSECUTIVE_ABSENCES = "consecutive_absences", _("Consecutive absences")
    BELOW_MINIMUM_HOURS = "below_minimum_hours", _("Week below the minimum hours")
    ABSENCE_LIMIT = "absence_limit", _("Unexcused absence limit reached")
    CANT_COME = "cant_come", _("Said by text they can't come")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class FollowUp(models.Model):
    """A task for staff raised by attendance: reach out, then record what came of it."""

    participant = models.ForeignKey(Participant, verbose_name=_("participant"),
                                    on_delete=models.CASCADE, related_name="followups")
    enrollment = models.ForeignKey(Enrollment, verbose_name=_("enrollment"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="followups")
    kind = models.CharField(_("kind"), max_length=24, choices=FollowUpKind.choices)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assigned to"),
                                 on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="followups")
    status = models.CharField(_("status"), max_length=10, choices=FollowUpStatus.choices,
                              default=FollowUpStatus.OPEN)
    outcome_note = models.TextField(
        _("outcome"), blank=True,
        help_text=_("What came of the follow-up. A clinical note: front desk cannot see it."),
    )
    attendance = models.ForeignKey(Attendance, verbose_name=_("attendance"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="followups")
    session = models.ForeignKey(TherapySession, verbose_name=_("session"),
                                on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="followups")
    # The session's site, kept by the database (migration 0011's triggers: set when a follow-up
    # is written, moved with its session's site, empty without a session), so "the follow-ups
    # at these sites" reads the follow-ups alone instead of joining every session the clinic
    # ever held. A follow-up saved by the ORM has it in the database, not on the instance.
    session_site = models.ForeignKey(
        Site, verbose_name=_("session's site"), on_delete=models.PROTECT, null=True,
        blank=True, editable=False, related_name="+", db_index=False,
        help_text=_("Where the session is held; kept from the session by the database."))
    # The participant's home site, kept by the database as the session's site is (migration
    # 0015's triggers: set when a follow-up is written, moved with the person's home), so "the
    # follow-ups at these sites" reads the follow-ups alone, not everyone ever admitted there.
    home_site = models.ForeignKey(
        Site, verbose_name=_("participant's home site"), on_delete=models.PROTECT, null=True,
        blank=True, editable=False, related_name="+", db_index=False,
        help_text=_("Where the participant's home is; kept from the participant by the "
                    "database."))
    week_start = models.DateField(
        _("week (Monday)"), null=True, blank=True,
        help_text=_("For a week below the minimum hours: the Monday of that ISO week."),
    )
    missed_on = models.DateField(
        _("missed visit day"), null=True, blank=True,
        help_text=_("For absences: the local date of the visit day missed (the latest one for a "
                    "streak)."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("raised by"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("resolved by"),
                                    on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")

    class Meta:
        ordering = ["status", "-created_at", "pk"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        constraints = [
            # One open task per cause: the same missed visit day (a group and a workshop missed
            # the same evening are one), the same streak, the same week.
            models.UniqueConstraint(
                fields=["participant", "missed_on"],
                condition=Q(status="open", kind="unexcused_absence"),
                name="followup_one_open_per_missed_day",
            ),
            models.UniqueConstraint(
                fields=["participant"],
                condition=Q(status="open", kind="consecutive_absences"),
                name="followup_one_open_streak_per_participant",
            ),
            models.UniqueConstraint(
                fields=["enrollment"],
                condition=Q(kind="absence_limit"),
                name="followup_absence_limit_once_per_enrollment",
            ),
            models.UniqueConstraint(
                fields=["enrollment", "week_start"],
                condition=Q(status="open", kind="below_minimum_hours"),
                name="followup_one_open_per_enrollment_week",
            ),
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | Q(status="resolved", resolved_at__isnull=False),
                name="followup_resolved_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["assignee", "status"], name="followup_assignee_status_idx"),
            # Today's open follow-ups (the oldest first, and their count) and the open list
            # without reading the resolved ones, which pile up for as long as the clinic runs.
            # Each of these three includes what "at these sites" reads (the person's home site
            # and the session's site, both kept on the follow-up), so a count reads its index
            # alone and nothing of the participants.
            models.Index(fields=["created_at", "id"], condition=Q(status="open"),
                         include=["participant", "session_site", "home_site"],
                         name="followup_open_homes_idx"),
            # The resolved list, newest first, and its count; and the whole list (either
            # status): a page walks its index and stops at its last row (about 110 buffers for
            # 25 rows at two sites), flat with the clinic's history.
            models.Index(fields=["created_at", "id"], condition=Q(status="resolved"),
                         include=["participant", "session_site", "home_site"],
                         name="followup_resolved_homes_idx"),
            models.Index(fields=["created_at", "id"],
                         include=["participant", "session_site", "home_site"],
                         name="followup_created_homes_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.participant} ({self.get_status_display()})"

    @property
    def about_date(self):
        """The day the follow-up is about: the missed visit day, or the short week's Monday."""
        return self.missed_on or self.week_start

    def get_absolute_url(self) -> str:
        return reverse("followup_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == FollowUpStatus.OPEN


class ExcuseStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class ExcusedAbsenceRequest(models.Model):
    """A participant asks, ahead of time, to be excused from one session; staff answer."""

    code = models.UUIDField(_("public code"), default=uuid.uuid4, unique=True, editable=False)
    attendance = models.ForeignKey(Attendance, verbose_name=_("attendance"),
                                   on_delete=models.CASCADE, related_name="excuse_requests")
    reason = models.TextField(_("reason"), max_length=500)
    status = models.CharField(_("status"), max_length=10, choices=ExcuseStatus.choices,
                              default=ExcuseStatus.PENDING)
    requested_at = models.DateTimeField(_("requested at"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    decided_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("answered by"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    decision_note = models.CharField(_("note to the participant"), max_length=300, blank=True)
    # The attendance's session's site and start, kept by the database (migration 0014's
    # triggers: set when a request is written, moved with its attendance's session and with
    # that session's site and time), so Today's requests waiting for review are read in order
    # from an index of the pending ones (`excuse_pending_start_idx`) instead of reading every
    # pending request's attendance and session to sort them. A request saved by the ORM has
    # them in the database, not on the instance.
    session_site = models.ForeignKey(
        Site, verbose_name=_("session's site"), on_delete=models.PROTECT, null=True,
        blank=True, editable=False, related_name="+", db_index=False,
        help_text=_("Where the session is held; kept from the session by the database."))
    session_starts_at = models.DateTimeField(
        _("session's start"), null=True, blank=True, editable=False,
        help_text=_("When the session starts; kept from the session by the database."))

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("excused-absence request")
        verbose_name_plural = _("excused-absence requests")
        constraints = [
            models.UniqueConstraint(fields=["attendance"], condition=Q(status="pending"),
                                    name="excuse_one_pending_per_attendance"),
            models.CheckConstraint(
                condition=(Q(status="pending", decided_at__isnull=True)
                           | (~Q(status="pending") & Q(decided_at__isnull=False))),
                name="excuse_decided_has_time",
            ),
        ]
        indexes = [
            # Today's requests waiting for review, the soonest session first, read in order
            # and stopped at the box's 50 (the site checked from the index).
            models.Index(fields=["session_starts_at", "id"], include=["session_site"],
                         condition=Q(status="pending"), name="excuse_pending_start_idx"),
        ]

    def __str__(self) -> str:
        return f"Excuse for {self.attendance} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("excuse_review", args=[self.code])



class ContactAttendanceStatus(models.TextChoices):
    PRESENT = "present", _("Came")
    ABSENT = "absent", _("Did not come")


class ContactAttendance(models.Model):
    """Whether a family contact came to a family session of the participant's (issue 18).

    Every contact (not removed) of the session's participant is expected at a family session;
    a row exists once someone has marked them, so no row means "expected".
    """

    session = models.ForeignKey(TherapySession, verbose_name=_("session"),
                                on_delete=models.CASCADE, related_name="contact_attendance")
    contact = models.ForeignKey("participants.Contact", verbose_name=_("family contact"),
                                on_delete=models.CASCADE, related_name="attendance")
    status = models.CharField(_("attendance"), max_length=8,
                              choices=ContactAttendanceStatus.choices)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("marked by"),
                                  on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    marked_at = models.DateTimeField(_("marked at"))

    class Meta:
        ordering = ["session", "contact"]
        verbose_name = _("family contact attendance")
        verbose_name_plural = _("family contact attendance")
        constraints = [
            models.UniqueConstraint(fields=["session", "contact"],
                                    name="contact_attendance_one_per_session"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} at {self.session}: {self.get_status_display()}"

    def get_absolute_url(self) -> str:
        return reverse("admin:iop_sessions_contactattendance_change", args=[self.pk])


class WeekHours(models.Model):
    """Minutes of one participant's ISO week at sessions of one type, kept by database triggers
    (migration 0009) on attendance and on sessions, so the attendance report's "below the weekly
    minimum" lists read a row per person and type instead of every attendance row of the week.

    Only rows that count for the hours ledger are summed: attendance not cancelled by the clinic
    at a scheduled (not cancelled) session, in the week of the session's local date. Every write
    (the ORM one row at a time, bulk_create, QuerySet.update, plain SQL, deletes and cascades,
    a session cancelled, restored, moved or given another type) goes through the triggers in the
    writer's transaction, so a committed row is never behind. Whether the type counts toward the
    hours is read live from the session type. What depends on the day (unmarked on an earlier
    day, or still ahead) is not stored: readers read those rows themselves.
    """

    # No database constraint and no cascade: the triggers own these rows (a deleted session's
    # attendance leaves a row of zeros that nobody reads).
    participant = models.ForeignKey(Participant, on_delete=models.DO_NOTHING, db_constraint=False,
                                    related_name="+")
    week = models.DateField(_("week (its Monday)"))
    session_type = models.ForeignKey(SessionType, on_delete=models.DO_NOTHING,
                                     db_constraint=False, related_name="+")
    # Present, late or left early: minutes_attended, or the session's length when not recorded.
    attended_minutes = models.BigIntegerField(default=0)
    offered_minutes = models.BigIntegerField(default=0)  # the length of every counted row
    expected_minutes = models.BigIntegerField(default=0)  # rows still "expected" (unmarked)
    excused_minutes = models.BigIntegerField(default=0)

    class Meta:
        db_table = "iop_sessions_week_hours"
        verbose_name = _("hours of a participant's week")
        constraints = [
            # The triggers' ON CONFLICT target, and the readers' (week, participants) lookup.
            models.UniqueConstraint(fields=["week", "participant", "session_type"],
                                    name="week_hours_one_per_week_and_type"),
        ]

    def __str__(self) -> str:
        return f"participant {self.participant_id}, week of {self.week}: {self.attended_minutes} min"


class StayHours(models.Model):
    """The time one enrollment attended, admission to discharge, at sessions of one type, kept by
    database triggers (migration 0012) on attendance, sessions and enrollments, so the outcomes
    report's length of stay in attended hours reads a row per stay and type instead of every
    attendance row of every stay that ended.

    Summed: the enrollment's own attendance rows marked present, late or left early, at
    scheduled (not cancelled) sessions whose local date is between its admission and discharge
    dates (none while it has no discharge date), each `minutes_attended` or, when not recorded,
    the session's length, in microseconds (exact: no rounding a row). Whether the type counts
    toward the hours is read live from the session type, so flipping it writes nothing here.
    Every write (a mark, a row moved to another session or enrollment, a session cancelled,
    moved or retyped, an admission or discharge date set or changed, deletes) goes through the
    triggers in the writer's transaction. On SQLite (`make run`) there are no triggers and the
    report sums the rows live.
    """

    # No database constraint and no cascade: the triggers own these rows (a deleted enrollment
    # or session leaves a row of zeros that nobody reads).
    # No index of their own: the unique constraint below leads with the enrollment, and nothing
    # looks sums up by type.
    enrollment = models.ForeignKey(Enrollment, on_delete=models.DO_NOTHING, db_constraint=False,
                                   db_index=False, related_name="+")
    session_type = models.ForeignKey(SessionType, on_delete=models.DO_NOTHING,
                                     db_constraint=False, db_index=False, related_name="+")
    attended_microseconds = models.BigIntegerField(default=0)

    class Meta:
        db_table = "iop_sessions_stay_hours"
        verbose_name = _("hours attended in a stay")
        verbose_name_plural = _("hours attended in stays")
        constraints = [
            # The triggers' ON CONFLICT target, and the report's look-up by enrollment.
            models.UniqueConstraint(fields=["enrollment", "session_type"],
                                    name="stay_hours_one_per_enrollment_and_type"),
        ]

    def __str__(self) -> str:
        return (f"enrollment {self.enrollment_id}, session type {self.session_type_id}: "
                f"{self.attended_microseconds // 60_000_000} min")
