"""Admin for therapy sessions, attendance and what attendance raises; schedule actions on tracks.

Actions call the services (schedule generation, cancelling); nothing here re-implements a rule.
History and workflow rows (attendance changes, follow-ups, excuse requests) are read-only here:
the staff pages and the portal change them through their services.
"""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from iop_clinic.admin_mixins import (
    LabelledTabularInline, ReadOnlyModelAdmin, SiteClockMixin, run_each,
)
from participants.admin import EnrollmentAdmin
from participants.models import Enrollment
from participants.selectors import seat_annotations, seats_of
from programs.admin import TrackAdmin
from programs.models import Track

from .models import (
    ContactAttendance,
    Attendance,
    AttendanceChange,
    AttendanceStatus,
    ExcusedAbsenceRequest,
    FollowUp,
    StayHours,
    TherapySession,
    WeekHours,
)
from .services.enrollment import (
    enrollment_admit_from_waitlist, enrollment_resume, enrollment_withdraw,
)
from .services.schedule import schedule_generate, session_cancel
from .services.session_change import session_change


def _stamp_marked(request: HttpRequest, attendance: Attendance, changed: list[str]) -> None:
    # "Who marked it and when" must stay true when an administrator corrects a record here.
    if {"status", "minutes_attended"} & set(changed):
        attendance.marked_by = request.user
        attendance.marked_at = timezone.now()


def _at_the_site(moment, site) -> str | None:
    # The admin's own datetimes read in settings.TIME_ZONE (UTC); staff read their site's clock.
    if moment is None:
        return None  # the admin's own mark for nothing, as in the other columns
    return date_format(moment.astimezone(site.zone), "DATETIME_FORMAT")


class MarkedAtTheSiteMixin:
    @admin.display(description=_("marked at (site time)"), ordering="marked_at")
    def marked_when(self, attendance: Attendance) -> str | None:
        return _at_the_site(attendance.marked_at, attendance.session.site)


class CancelSessionsForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=200,
        help_text=_("Staff see it on the session; participants are only told it is cancelled."),
    )


class AttendanceInline(MarkedAtTheSiteMixin, LabelledTabularInline):
    """A session's roll. Rows come from enrollments, so the participant is fixed here."""

    model = Attendance
    view_on_site = False  # models link back into the admin itself
    fields = ("participant", "status", "minutes_attended", "note", "marked_by", "marked_when")
    readonly_fields = ("participant", "marked_by", "marked_when")
    extra = 0
    ordering = ("participant__last_name", "participant__first_name")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Attendance]:
        # Each row's __str__ names the participant and the session (by title or type).
        return super().get_queryset(request).select_related(
            "participant", "marked_by", "session__session_type", "session__site",
        )

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# Moving a session (time, room, facilitator) goes through `session_change`, which names clashes
# and re-plans reminders; the rest of what a session is comes from the timetable or a booking.
SESSION_MOVING_FIELDS = ("starts_at", "ends_at", "room", "facilitator")
SESSION_FIXED_FIELDS = ("session_type", "kind", "track", "weekly_slot", "participant",
                        "care_plan", "site", "local_date")


def _session_change_args(session: TherapySession) -> dict:
    return {"starts_at_local": session.starts_at,
            "duration_minutes": int((session.ends_at - session.starts_at).total_seconds() // 60),
            "room": session.room, "facilitator": session.facilitator}


class TherapySessionAdminForm(forms.ModelForm):
    """Checks a move with the service before anything is saved, so clashes show on the form."""

    class Meta:
        model = TherapySession
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        moving = set(self.changed_data) & set(SESSION_MOVING_FIELDS)
        if self.instance.pk and moving and not self.errors:
            proposed = TherapySession(pk=self.instance.pk, **{
                name: cleaned.get(name, getattr(self.instance, name))
                for name in SESSION_MOVING_FIELDS})
            if proposed.ends_at <= proposed.starts_at:
                raise ValidationError(_("A session must end after it starts."))
            stored = TherapySession.objects.get(pk=self.instance.pk)
            session_change(session=stored, check_only=True, **_session_change_args(proposed))
        return cleaned


@admin.register(TherapySession)
class TherapySessionAdmin(SiteClockMixin, admin.ModelAdmin):
    form = TherapySessionAdminForm
    site_time_zone_path = "site__time_zone"
    # Eight columns, so the list fits 1280 px beside its filters: a session is for a track or
    # for one person, and happens at a site, in a room.
    list_display = ("local_start", "title_or_type", "kind", "held_for", "place", "facilitator",
                    "status", "attendance_count")
    list_filter = ("status", "kind", "site", "session_type")
    search_fields = ("title", "session_type__name", "track__name", "participant__record_number",
                     "participant__last_name")
    date_hierarchy = "local_date"
    list_select_related = ("session_type", "site", "track__program", "participant", "room__site",
                           "facilitator")
    autocomplete_fields = ("session_type", "site", "track", "weekly_slot", "participant",
                           "care_plan", "room", "facilitator")
    # Cancelling goes through the "Cancel selected sessions" action, so the roll and the
    # reminders follow; editing the status here would skip both.
    readonly_fields = ("status", "cancel_reason", "cancelled_at", "cancelled_by", "created_at",
                       "updated_at")
    inlines = (AttendanceInline,)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # What a session is (its type, owner, site) comes from the timetable or a booking; here
        # only its time, room and facilitator move, through the service.
        return (*self.readonly_fields, *SESSION_FIXED_FIELDS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Sessions come from a track's timetable or the personal-session page, with their roll.
        return False

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            return super().save_model(request, obj, form, change)
        if set(form.changed_data) & set(SESSION_MOVING_FIELDS):
            stored = TherapySession.objects.get(pk=obj.pk)
            session_change(session=stored, by=request.user, **_session_change_args(obj))
        if "title" in form.changed_data:
            stored = TherapySession.objects.get(pk=obj.pk)
            stored.title = obj.title
            stored.save(update_fields=["title", "updated_at"])
        return None
    actions = ("cancel_sessions",)
    fieldsets = (
        (None, {"fields": ("session_type", "kind", "title")}),
        (_("Who"), {
            "fields": ("track", "weekly_slot", "participant", "care_plan"),
            "description": _("Group and workshop sessions belong to a track; individual and "
                             "family sessions to one participant."),
        }),
        (_("When and where"), {"fields": ("site", "room", "facilitator", "starts_at", "ends_at",
                                          "local_date")}),
        (_("Status"), {"fields": ("status", "cancel_reason", "cancelled_at", "cancelled_by")}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[TherapySession]:
        return super().get_queryset(request).annotate(
            _attended=Count("attendances",
                            filter=Q(attendances__status__in=AttendanceStatus.attended())),
            _on_roll=Count("attendances"),
        )

    @admin.display(description=_("starts (site time)"), ordering="starts_at")
    def local_start(self, session: TherapySession) -> str:
        local = session.starts_at.astimezone(session.site.zone)
        return f"{date_format(local, 'DATETIME_FORMAT')} {local:%Z}"

    @admin.display(description=_("for"), ordering="track__name")
    def held_for(self, session: TherapySession):
        return session.track or session.participant or "—"

    @admin.display(description=_("where"), ordering="site__name")
    def place(self, session: TherapySession) -> str:
        room = session.room.name if session.room else _("no room")
        return f"{session.site.name} · {room}"

    @admin.display(description=_("title / topic"), ordering="title")
    def title_or_type(self, session: TherapySession) -> str:
        return session.title or session.session_type.name

    @admin.display(description=_("attended / on roll"), ordering="_attended")
    def attendance_count(self, session: TherapySession) -> str:
        return f"{session._attended} / {session._on_roll}"

    @admin.action(description=_("Cancel selected sessions"), permissions=("change",))
    def cancel_sessions(self, request: HttpRequest, queryset: QuerySet[TherapySession]):
        """Ask for a reason on a confirmation page, then cancel each session through the service."""
        queryset = queryset.select_related("session_type", "site")
        form = CancelSessionsForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            cancelled = run_each(self, request, queryset, lambda session: session_cancel(
                session=session, reason=form.cleaned_data["reason"], by=request.user))
            if cancelled:
                self.message_user(request, ngettext(
                    "%(count)d session cancelled; expected attendance there is cancelled by the "
                    "clinic and reminders are re-planned.",
                    "%(count)d sessions cancelled; expected attendance there is cancelled by the "
                    "clinic and reminders are re-planned.", cancelled) % {"count": cancelled},
                    messages.SUCCESS)
            return None
        return TemplateResponse(request, "admin/iop_sessions/therapysession/cancel_sessions.html", {
            **self.admin_site.each_context(request),
            "title": _("Cancel sessions"),
            "opts": self.model._meta,
            "sessions": queryset,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        })

    def save_formset(self, request, form, formset, change) -> None:
        for attendance in formset.save(commit=False):
            changed = next((c for f, c in formset.changed_objects if f is attendance), [])
            _stamp_marked(request, attendance, changed)
            attendance.save()
        for attendance in formset.deleted_objects:
            attendance.delete()


@admin.register(Attendance)
class AttendanceAdmin(MarkedAtTheSiteMixin, SiteClockMixin, admin.ModelAdmin):
    site_time_zone_path = "session__site__time_zone"
    # Times in the session's site's zone: the session's name carries its start there.
    list_display = ("participant", "session", "session_site", "status", "minutes_attended",
                    "marked_by", "marked_when")
    list_filter = ("status", "session__site", "session__kind")
    search_fields = ("participant__record_number", "participant__first_name",
                     "participant__last_name", "session__title")
    date_hierarchy = "session__local_date"
    list_select_related = ("participant", "session__session_type", "session__site", "marked_by")
    autocomplete_fields = ("session", "participant", "enrollment")
    readonly_fields = ("marked_by", "marked_when")
    fields = ("session", "participant", "enrollment", "status", "minutes_attended", "note",
              "marked_by", "marked_when")

    @admin.display(description=_("site"), ordering="session__site__name")
    def session_site(self, attendance: Attendance):
        return attendance.session.site

    def save_model(self, request, obj, form, change) -> None:
        _stamp_marked(request, obj, form.changed_data if change else ["status"])
        super().save_model(request, obj, form, change)


@admin.register(AttendanceChange)
class AttendanceChangeAdmin(ReadOnlyModelAdmin):
    """Edits of marked attendance: history, appended by the attendance service and never edited."""

    list_display = ("attendance", "old_status", "new_status", "old_minutes", "new_minutes",
                    "changed_by", "changed_at")
    list_filter = ("new_status", "attendance__session__site")
    search_fields = ("attendance__participant__record_number", "attendance__participant__last_name",
                     "attendance__session__title")
    date_hierarchy = "changed_at"
    list_select_related = ("attendance__participant", "attendance__session__session_type",
                           "attendance__session__site", "changed_by")


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyModelAdmin):
    """Raised by attendance and resolved on the staff pages (an outcome is a clinical note)."""

    list_display = ("participant", "kind", "status", "assignee", "session", "week_start",
                    "created_at", "resolved_at", "resolved_by")
    list_filter = ("status", "kind", "participant__home_site")
    search_fields = ("participant__record_number", "participant__first_name",
                     "participant__last_name", "assignee__username", "assignee__last_name")
    date_hierarchy = "created_at"
    list_select_related = ("participant", "assignee", "session__session_type", "session__site",
                           "resolved_by")


@admin.register(ExcusedAbsenceRequest)
class ExcusedAbsenceRequestAdmin(ReadOnlyModelAdmin):
    """Asked for in the portal, answered on the staff pages."""

    list_display = ("attendance", "status", "requested_at", "requested_by", "decided_at",
                    "decided_by")
    list_filter = ("status", "attendance__session__site")
    search_fields = ("code", "attendance__participant__record_number",
                     "attendance__participant__last_name")
    date_hierarchy = "requested_at"
    list_select_related = ("attendance__participant", "attendance__session__session_type",
                           "attendance__session__site", "requested_by", "decided_by")


admin.site.unregister(Track)


@admin.register(Track)
class ScheduledTrackAdmin(TrackAdmin):
    """The tracks' admin with the schedule action (programs cannot import sessions' services)."""

    actions = (*TrackAdmin.actions, "generate_schedule")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Track]:
        return super().get_queryset(request).annotate(**seat_annotations())

    @admin.display(description=_("seats taken"))
    def seats_taken(self, track: Track) -> str:
        seats = seats_of(track)  # the one seat rule, from participants.selectors
        return _("%(taken)s (%(active)s active, %(on_hold)s on hold, %(offered)s offered)") % {
            "taken": seats.taken, "active": seats.active, "on_hold": seats.on_hold,
            "offered": seats.offered}

    @admin.action(description=_("Generate schedule for selected tracks"), permissions=("change",))
    def generate_schedule(self, request: HttpRequest, queryset: QuerySet[Track]) -> None:
        for track in queryset.select_related("site", "program"):
            try:
                result = schedule_generate(track=track)
            except ValidationError as error:
                # A clash refuses the whole track: nothing is created for it.
                shown = error.messages[:5]
                more = len(error.messages) - len(shown)
                self.message_user(request, _("%(track)s: nothing created. %(why)s%(more)s") % {
                    "track": track, "why": " ".join(shown),
                    "more": _(" (and %(n)d more)") % {"n": more} if more > 0 else "",
                }, messages.ERROR)
                continue
            skipped = len(result.skipped_closures)
            self.message_user(request, _(
                "%(track)s: %(created)d sessions created, %(skipped)d closure days skipped.") % {
                "track": track, "created": result.created, "skipped": skipped,
            }, messages.SUCCESS)


admin.site.unregister(Enrollment)


@admin.register(Enrollment)
class LifecycleEnrollmentAdmin(EnrollmentAdmin):
    """The enrollments' admin with lifecycle actions that need no more input than the selection.

    Holding (a reason) and discharging (a date, a reason, a care plan) need a form: they stay on
    the staff pages. Each action runs the service per enrollment and reports each refusal.
    """

    actions = ("admit_from_waitlist", "resume", "withdraw")

    def _run(self, request: HttpRequest, queryset: QuerySet[Enrollment], service, done: str):
        succeeded = run_each(self, request, queryset.select_related("participant", "track__program"),
                             lambda enrollment: service(enrollment=enrollment, by=request.user))
        if succeeded:
            self.message_user(request, done % {"count": succeeded}, messages.SUCCESS)

    @admin.action(description=_("Admit selected from the waitlist"), permissions=("change",))
    def admit_from_waitlist(self, request: HttpRequest, queryset: QuerySet[Enrollment]) -> None:
        self._run(request, queryset, enrollment_admit_from_waitlist,
                  _("%(count)d admitted from the waitlist."))

    @admin.action(description=_("Resume selected enrollments on hold"), permissions=("change",))
    def resume(self, request: HttpRequest, queryset: QuerySet[Enrollment]) -> None:
        self._run(request, queryset, enrollment_resume, _("%(count)d resumed."))

    @admin.action(description=_("Withdraw selected (not yet admitted)"), permissions=("change",))
    def withdraw(self, request: HttpRequest, queryset: QuerySet[Enrollment]) -> None:
        self._run(request, queryset, enrollment_withdraw, _("%(count)d withdrawn."))


@admin.register(ContactAttendance)
class ContactAttendanceAdmin(MarkedAtTheSiteMixin, admin.ModelAdmin):
    list_display = ("session", "contact", "status", "marked_by", "marked_when")
    list_filter = ("status",)
    search_fields = ("contact__name", "contact__participant__record_number",
                     "contact__participant__last_name")
    date_hierarchy = "marked_at"
    list_select_related = ("session__session_type", "session__site", "contact", "marked_by")
    autocomplete_fields = ("session", "contact")


@admin.register(StayHours)
class StayHoursAdmin(ReadOnlyModelAdmin):
    """Each stay's attended time the database triggers keep (migration 0012), what the outcomes
    report's length of stay reads: to check, never to edit."""
    list_display = ("enrollment", "session_type", "attended_microseconds")
    list_select_related = ("enrollment__participant", "enrollment__track__program",
                           "session_type")
    search_fields = ("enrollment__participant__last_name",
                     "enrollment__participant__record_number")


@admin.register(WeekHours)
class WeekHoursAdmin(ReadOnlyModelAdmin):
    """The week's sums the database triggers keep (migration 0009): to check, never to edit."""
    list_display = ("week", "participant", "session_type", "attended_minutes", "offered_minutes",
                    "expected_minutes", "excused_minutes")
    list_select_related = ("participant", "session_type")
    date_hierarchy = "week"
    search_fields = ("participant__last_name", "participant__record_number")
