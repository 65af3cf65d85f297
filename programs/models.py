"""What the clinic offers and when: sites, rooms, programs, session types, tracks, timetables."""
import zoneinfo
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from iop_clinic.formatting import clock

phone_validator = RegexValidator(
    r"^\+[1-9]\d{6,14}$", _("Enter the number in international format, e.g. +15555550123."),
    code="invalid_phone",
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("%(value)s is not an IANA time zone, e.g. America/Chicago."),
            code="invalid_time_zone", params={"value": value},
        )


class Site(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    public_alias = models.CharField(
        _("neutral public alias"), max_length=60,
        help_text=_("The only name participants see in messages and calendars, e.g. "
                    "'Riverside Health Center'. Must not hint at treatment."),
    )
    time_zone = models.CharField(_("time zone"), max_length=64, validators=[validate_time_zone],
                                 default="America/New_York")
    phone = models.CharField(_("call-back phone"), max_length=16, validators=[phone_validator])
    address = models.CharField(_("address"), max_length=200, blank=True)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("staff"), related_name="sites", blank=True,
        help_text=_("Staff who work at this site and may see its participants."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:programs_site_change", args=[self.pk])

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


def _site_assignment_str(assignment) -> str:
    return f"{assignment.user} at {assignment.site}"


# Site.staff's rows are a model Django writes for us, whose text would be "Site_staff object (2)"
# on the user admin's site rows and on a deletion's list of what goes with it.
Site.staff.through.__str__ = _site_assignment_str


class Room(models.Model):
    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.CASCADE,
                             related_name="rooms")
    name = models.CharField(_("name"), max_length=80)
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=12)

    class Meta:
        ordering = ["site__name", "name"]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="room_unique_name_per_site"),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="room_capacity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.site})"

    def get_absolute_url(self) -> str:
        return reverse("admin:programs_room_change", args=[self.pk])


class LevelOfCare(models.TextChoices):
    OUTPATIENT = "1", _("1 — Outpatient")
    IOP = "2.1", _("2.1 — Intensive outpatient")
    PHP = "2.5", _("2.5 — Partial hospitalization")


class Population(models.TextChoices):
    ADULT = "adult", _("Adult")
    ADOLESCENT = "adolescent", _("Adolescent")


def default_min_weekly_hours(level_of_care: str, population: str) -> Decimal:
    """ASAM criteria: IOP is 9+ hours a week for adults, 6+ for adolescents; PHP is 20+."""
    if level_of_care == LevelOfCare.PHP:
        return Decimal(20)
    if level_of_care == LevelOfCare.IOP:
        return Decimal(6) if population == Population.ADOLESCENT else Decimal(9)
    return Decimal(1)


class CantComeReply(models.TextChoices):
    """What a participant's text reply "2" (can't come) sets going."""
    FOLLOW_UP = "follow_up", _("A follow-up for the clinician to call")
    EXCUSE = "excuse", _("An excused-absence request for the clinician to decide")


class MinorDisclosureSigner(models.TextChoices):
    """Who signs a minor's consent to tell a family contact about appointments (42 CFR 2.14)."""
    PARTICIPANT = "participant", _("The minor alone (state law lets minors consent to this care)")
    BOTH = "both", _("The minor and a parent or guardian")


class Program(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    level_of_care = models.CharField(_("level of care"), max_length=3, choices=LevelOfCare.choices,
                                     default=LevelOfCare.IOP)
    population = models.CharField(_("population"), max_length=12, choices=Population.choices,
                                  default=Population.ADULT)
    duration_weeks = models.PositiveSmallIntegerField(
        _("duration (weeks)"), default=12, validators=[MinValueValidator(1), MaxValueValidator(52)],
        help_text=_("Typical IOPs run 8–12 weeks."),
    )
    min_weekly_hours = models.DecimalField(
        _("minimum hours a week"), max_digits=4, decimal_places=1, blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("Leave blank for the ASAM default: 9 adult IOP, 6 adolescent IOP, 20 PHP."),
    )
    min_attendance_percent = models.PositiveSmallIntegerField(
        _("attendance needed to complete (%)"), default=80, validators=[MaxValueValidator(100)],
    )
    max_unexcused_absences = models.PositiveSmallIntegerField(
        _("unexcused absences allowed"), default=6,
        help_text=_("E.g. at most 6 missed sessions in a 12-week cycle."),
    )
    excused_notice_hours = models.PositiveSmallIntegerField(
        _("notice for an excused absence (hours)"), default=48,
    )
    seat_offer_hours = models.PositiveSmallIntegerField(
        _("a seat offer stays open (hours)"), default=48,
        validators=[MinValueValidator(1), MaxValueValidator(336)],
        help_text=_("Unanswered after this long, the offer passes to the next person waiting; "
                    "the person who did not answer goes to the back of the waitlist."),
    )
    cant_come_reply = models.CharField(
        _('a text reply "2" (can\'t come) opens'), max_length=12,
        choices=CantComeReply.choices, default=CantComeReply.FOLLOW_UP,
        help_text=_("Default: a follow-up, so someone calls the person back. With an "
                    "excused-absence request the clinician approves or declines it like one "
                    "asked for in the portal (the notice hours do not apply to a reply), and "
                    "the person is told there is an answer."),
    )
    consecutive_absences_to_escalate = models.PositiveSmallIntegerField(
        _("consecutive absences before escalation"), default=2, validators=[MinValueValidator(1)],
    )
    marking_opens_minutes_before = models.PositiveSmallIntegerField(
        _("attendance opens (minutes before start)"), default=0,
        validators=[MaxValueValidator(60)],
        help_text=_("0: attendance can be marked from the session's start. Up to 60 lets front "
                    "desk check people in as they arrive."),
    )
    authorization_alert_units = models.PositiveSmallIntegerField(
        _("warn when authorized units left"), default=3,
        help_text=_("Today and the chart warn when an authorization has this many units or "
                    "fewer left."),
    )
    authorization_review_days = models.PositiveSmallIntegerField(
        _("warn of a utilization review (days ahead)"), default=7,
        validators=[MaxValueValidator(90)],
        help_text=_("Today and the chart warn when a payer's review is due within this many "
                    "days."),
    )
    minor_disclosure_signer = models.CharField(
        _("a minor's consent to tell a family contact is signed by"), max_length=12,
        choices=MinorDisclosureSigner.choices, default=MinorDisclosureSigner.BOTH,
        help_text=_("42 CFR Part 2: where a minor may consent to this care alone, only the minor "
                    "signs; otherwise the minor and a parent or guardian both sign."))
    contacts_hear_all_minor_sessions = models.BooleanField(
        _("family contacts are reminded of all of a minor's sessions"), default=False,
        help_text=_("Off: contacts with consent hear only of family sessions. On: for a "
                    "participant under 18, of every session."))
    is_active = models.BooleanField(_("active"), default=True)
    sites = models.ManyToManyField(
        Site, verbose_name=_("offered at"), related_name="programs", blank=True,
        help_text=_("Sites that offer this program. It also belongs to every site that runs one "
                    "of its tracks. Staff see and edit only their sites' programs."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        constraints = [
            models.CheckConstraint(condition=Q(duration_weeks__gte=1, duration_weeks__lte=52),
                                   name="program_duration_1_to_52_weeks"),
            models.CheckConstraint(condition=Q(min_attendance_percent__lte=100),
                                   name="program_attendance_percent_max_100"),
            models.CheckConstraint(condition=Q(min_weekly_hours__gte=0),
                                   name="program_min_hours_not_negative"),
            models.CheckConstraint(condition=Q(marking_opens_minutes_before__lte=60),
                                   name="program_marking_opens_at_most_60_min_early"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:programs_program_change", args=[self.pk])

    def save(self, *args, **kwargs) -> None:
        if self.min_weekly_hours is None:
            self.min_weekly_hours = default_min_weekly_hours(self.level_of_care, self.population)
        super().save(*args, **kwargs)


class SessionKind(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    GROUP = "group", _("Group")
    FAMILY = "family", _("Family")
    WORKSHOP = "workshop", _("Workshop")

    @classmethod
    def track_kinds(cls) -> tuple[str, ...]:
        """Kinds that belong to a track (everyone enrolled attends)."""
        return (cls.GROUP, cls.WORKSHOP)

    @classmethod
    def personal_kinds(cls) -> tuple[str, ...]:
        """Kinds that belong to one participant."""
        return (cls.INDIVIDUAL, cls.FAMILY)


class SessionType(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=SessionKind.choices)
    default_duration_minutes = models.PositiveSmallIntegerField(
        _("default duration (minutes)"), default=60, validators=[MinValueValidator(5)],
    )
    default_capacity = models.PositiveSmallIntegerField(_("default capacity"), default=12)
    counts_toward_hours = models.BooleanField(
        _("counts toward weekly hours"), default=True,
    )
    service_code = models.CharField(
        _("billing/service code"), max_length=12, blank=True, help_text=_("E.g. H0015, 90853, 90847."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("session type")
        verbose_name_plural = _("session types")
        constraints = [
            models.CheckConstraint(condition=Q(default_duration_minutes__gt=0),
                                   name="sessiontype_duration_positive"),
            models.CheckConstraint(condition=Q(default_capacity__gt=0),
                                   name="sessiontype_capacity_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:programs_sessiontype_change", args=[self.pk])


class TrackMode(models.TextChoices):
    COHORT = "cohort", _("Cohort (fixed start and end)")
    ROLLING = "rolling", _("Rolling admission")


class Track(models.Model):
    program = models.ForeignKey(Program, verbose_name=_("program"), on_delete=models.PROTECT,
                                related_name="tracks")
    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.PROTECT,
                             related_name="tracks")
    name = models.CharField(_("name"), max_length=120,
                            help_text=_("E.g. 'Evening — Mon/Wed/Thu 6–9 pm'."))
    mode = models.CharField(_("mode"), max_length=8, choices=TrackMode.choices,
                            default=TrackMode.COHORT)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(
        _("end date"), null=True, blank=True,
        help_text=_("Cohorts end on a fixed date (default: start + program duration). "
                    "Rolling tracks leave it blank."),
    )
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=12,
                                                help_text=_("Group size; 6–12 is common."))
    lead_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("lead clinician"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="led_tracks",
    )
    scheduled_until = models.DateField(
        _("schedule generated until"), null=True, blank=True, editable=False,
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["site__name", "program__name", "name"]
        verbose_name = _("track")
        verbose_name_plural = _("tracks")
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="track_unique_name_per_site"),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="track_capacity_positive"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="track_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(mode="rolling") | Q(end_date__isnull=False),
                name="track_cohort_has_end_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program} — {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("admin:programs_track_change", args=[self.pk])

    @property
    def is_cohort(self) -> bool:
        return self.mode == TrackMode.COHORT

    def default_end_date(self) -> date:
        return self.start_date + timedelta(weeks=self.program.duration_weeks) - timedelta(days=1)

    def clean(self) -> None:
        if self.mode == TrackMode.COHORT and self.end_date is None and self.start_date and self.program_id:
            self.end_date = self.default_end_date()
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": ValidationError(
                _("The end date must be on or after the start date."), code="end_before_start")})

    def save(self, *args, **kwargs) -> None:
        if self.mode == TrackMode.COHORT and self.end_date is None:
            self.end_date = self.default_end_date()
        super().save(*args, **kwargs)


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WeeklySlot(models.Model):
    """A recurring line of a track's timetable, in the site's local wall-clock time."""

    track = models.ForeignKey(Track, verbose_name=_("track"), on_delete=models.CASCADE,
                              related_name="weekly_slots")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("start time (local)"))
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(12 * 60)],
    )
    session_type = models.ForeignKey(SessionType, verbose_name=_("session type"),
                                     on_delete=models.PROTECT, related_name="weekly_slots")
    title = models.CharField(_("title / topic"), max_length=120, blank=True)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("facilitator"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="facilitated_slots",
    )
    room = models.ForeignKey(Room, verbose_name=_("room"), on_delete=models.SET_NULL, null=True,
                             blank=True, related_name="weekly_slots")

    class Meta:
        ordering = ["track", "weekday", "start_time"]
        verbose_name = _("weekly slot")
        verbose_name_plural = _("weekly slots")
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6),
                                   name="weeklyslot_weekday_0_to_6"),
            models.CheckConstraint(condition=Q(duration_minutes__gt=0),
                                   name="weeklyslot_duration_positive"),
            models.UniqueConstraint(fields=["track", "weekday", "start_time"],
                                    name="weeklyslot_unique_start_per_track_day"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M} — {self.title or self.session_type}"

    def get_absolute_url(self) -> str:
        return self.track.get_absolute_url()

    def clean(self) -> None:
        if self.session_type_id and self.session_type.kind not in SessionKind.track_kinds():
            raise ValidationError({"session_type": ValidationError(
                _("A track's timetable holds group and workshop sessions; schedule individual and "
                  "family sessions for a participant."), code="personal_kind_in_track")})
        if self.room_id and self.track_id and self.room.site_id != self.track.site_id:
            raise ValidationError({"room": ValidationError(
                _("The room must be at the track's site."), code="room_other_site")})
        self._overlap_check()

    def _minutes(self) -> tuple[int, int]:
        start = self.start_time.hour * 60 + self.start_time.minute
        return start, start + (self.duration_minutes or 0)

    def _overlap_check(self) -> None:
        """A track's people attend all of its lines, so two lines of one day can't overlap."""
        if not (self.track_id and self.start_time is not None and self.weekday is not None):
            return
        start, end = self._minutes()
        others = (WeeklySlot.objects.filter(track_id=self.track_id, weekday=self.weekday)
                  .exclude(pk=self.pk).select_related("session_type").order_by("start_time"))
        for other in others:
            other_start, other_end = other._minutes()
            if start < other_end and other_start < max(end, start + 1):
                raise ValidationError({"start_time": ValidationError(
                    _("This overlaps %(other)s on %(day)s, %(start)s to %(end)s; the track's "
                      "people can't be in two sessions at once. Choose another time."),
                    code="slot_overlap", params={
                        "other": other.title or other.session_type.name,
                        "day": other.get_weekday_display(),
                        "start": clock(other.start_time),
                        "end": clock((datetime.combine(date.min, other.start_time)
                                      + timedelta(minutes=other.duration_minutes)).time()),
                    })})


class Closure(models.Model):
    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.CASCADE,
                             related_name="closures")
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=120, blank=True)

    class Meta:
        ordering = ["site__name", "date"]
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        constraints = [
            models.UniqueConstraint(fields=["site", "date"], name="closure_unique_site_date"),
        ]

    def __str__(self) -> str:
        return f"{self.site} closed {self.date:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("admin:programs_closure_change", args=[self.pk])
