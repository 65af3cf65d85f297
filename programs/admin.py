"""Admin for what the clinic offers and when: every list costs a fixed number of queries."""
from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.admin import UserAdmin
from accounts.models import User
from iop_clinic.formatting import phone
from iop_clinic.admin_mixins import (
    LabelledTabularInline, ReadOnlyMixin, ReadOnlyModelAdmin, SharedChoicesInlineMixin, changelist_url,
)

from .models import Closure, Program, Room, SessionType, Site, Track, WeeklySlot
from .phones import PhoneField
from .services import site_save


class _SiteChildInline(LabelledTabularInline):
    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The rows' __str__ (shown on each line) names the site.
        return super().get_queryset(request).select_related("site")


class RoomInline(_SiteChildInline):
    model = Room
    view_on_site = False  # models link back into the admin itself
    fields = ("name", "capacity")
    extra = 0


class ClosureInline(_SiteChildInline):
    model = Closure
    view_on_site = False  # models link back into the admin itself
    fields = ("date", "reason")
    extra = 0
    ordering = ("-date",)


class SiteAdminForm(forms.ModelForm):
    tell_people = forms.BooleanField(
        label=_("Tell the people affected"), required=False, initial=True,
        help_text=_("If the address changes: a short neutral text and/or email with the new "
                    "address to each person expected here in the next 14 days, on the "
                    "channels they agreed to."))

    class Meta:
        model = Site
        fields = "__all__"


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("name", "public_alias", "time_zone", "call_back", "room_count", "track_count")
    list_filter = ("time_zone",)
    search_fields = ("name", "public_alias", "address")
    autocomplete_fields = ("staff",)
    form = SiteAdminForm
    inlines = (RoomInline, ClosureInline)
    fieldsets = (
        (None, {"fields": ("name", "address", "tell_people", "time_zone")}),
        (_("What participants see"), {
            "fields": ("public_alias", "phone"),
            "description": _("Messages and calendar feeds name the site only by this alias."),
        }),
        (_("Staff"), {"fields": ("staff",)}),
    )

    def save_model(self, request, obj, form, change) -> None:
        site_save(site=obj, notify=form.cleaned_data.get("tell_people", False))

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "phone":
            # The call-back number, typed the local way ("(201) 555-0123"), kept as E.164.
            return PhoneField(label=_("Call-back phone"),
                              help_text=_("Given in every message, e.g. (201) 555-0123."))
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Site]:
        return super().get_queryset(request).annotate(
            _room_count=Count("rooms", distinct=True), _track_count=Count("tracks", distinct=True),
        )

    @admin.display(description=_("call-back phone"), ordering="phone")
    def call_back(self, site: Site) -> str:
        return phone(site.phone)

    @admin.display(description=_("rooms"), ordering="_room_count")
    def room_count(self, site: Site) -> int:
        return site._room_count

    @admin.display(description=_("tracks"), ordering="_track_count")
    def track_count(self, site: Site) -> int:
        return site._track_count


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "site", "capacity")
    list_filter = ("site",)
    search_fields = ("name", "site__name")
    list_select_related = ("site",)
    autocomplete_fields = ("site",)


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("name", "level_of_care", "population", "duration_weeks", "min_weekly_hours",
                    "min_attendance_percent", "max_unexcused_absences", "is_active")
    list_filter = ("is_active", "level_of_care", "population", "cant_come_reply")
    search_fields = ("name",)
    filter_horizontal = ("sites",)
    fieldsets = (
        (None, {"fields": ("name", "level_of_care", "population", "duration_weeks", "is_active",
                           "sites")}),
        (_("Completion rules"), {"fields": (
            "min_weekly_hours", "min_attendance_percent", "max_unexcused_absences",
            "excused_notice_hours", "consecutive_absences_to_escalate", "marking_opens_minutes_before",
        )}),
        (_("Waitlist and text replies"), {"fields": ("seat_offer_hours", "cant_come_reply")}),
        (_("Family contacts"), {"fields": ("minor_disclosure_signer",
                                           "contacts_hear_all_minor_sessions")}),
    )


@admin.register(SessionType)
class SessionTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "default_duration_minutes", "default_capacity",
                    "counts_toward_hours", "service_code")
    list_filter = ("kind", "counts_toward_hours")
    search_fields = ("name", "service_code")


# A timetable edit moves the future sessions made from the slot, checks clashes and re-plans
# reminders (sessions.services.schedule.weekly_slot_update, on the track's staff page): here
# slots are only shown, so no change can skip that.
TIMETABLE_NOTE = _("Edit the timetable on the track's staff page (Programs › track › Edit "
                   "track): it moves future sessions, names clashes and re-plans reminders.")


class WeeklySlotInline(ReadOnlyMixin, SharedChoicesInlineMixin, LabelledTabularInline):
    model = WeeklySlot
    view_on_site = False  # models link back into the admin itself
    fields = ("weekday", "start_time", "duration_minutes", "session_type", "title", "facilitator",
              "room")
    extra = 0
    verbose_name_plural = TIMETABLE_NOTE

    def get_queryset(self, request: HttpRequest) -> QuerySet[WeeklySlot]:
        # Read-only rows print each related object: fetch them with the slots.
        return super().get_queryset(request).select_related("session_type", "facilitator",
                                                            "room__site")


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("name", "program", "site", "mode", "start_date", "end_date", "capacity",
                    "seats_taken", "lead_clinician", "scheduled_until", "is_active")
    list_filter = ("is_active", "mode", "program", "site")
    search_fields = ("name", "program__name", "site__name")
    date_hierarchy = "start_date"
    list_select_related = ("program", "site", "lead_clinician")
    autocomplete_fields = ("program", "site", "lead_clinician")
    readonly_fields = ("scheduled_until", "site_closures")
    inlines = (WeeklySlotInline,)
    actions = ("show_sessions",)
    fieldsets = (
        (None, {"fields": ("program", "site", "name", "lead_clinician", "is_active")}),
        (_("Dates and size"), {"fields": ("mode", "start_date", "end_date", "capacity")}),
        (_("Schedule"), {"fields": ("scheduled_until", "site_closures")}),
    )

    # sessions.admin fills the seats column in with the seat rule of participants.selectors:
    # programs builds below participants and cannot count enrollments itself.
    def seats_taken(self, track: Track) -> str:
        return "—"

    @admin.display(description=_("site closures in the track's dates"))
    def site_closures(self, track: Track) -> str:
        if track.pk is None:
            return "—"
        closures = track.site.closures.filter(date__gte=track.start_date)
        if track.end_date:
            closures = closures.filter(date__lte=track.end_date)
        rows = [(f"{c.date:%a %Y-%m-%d}", c.reason) for c in closures]
        if not rows:
            return _("None")
        return format_html_join(", ", "{} {}", rows)

    @admin.action(description=_("Show the sessions of the selected tracks"))
    def show_sessions(self, request: HttpRequest, queryset: QuerySet[Track]) -> HttpResponseRedirect:
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return HttpResponseRedirect(changelist_url("iop_sessions.therapysession", track__id__in=ids))


@admin.register(WeeklySlot)
class WeeklySlotAdmin(ReadOnlyModelAdmin):
    """Timetable lines, to read: see TIMETABLE_NOTE."""

    list_display = ("track", "weekday", "start_time", "duration_minutes", "session_type", "title",
                    "facilitator", "room")
    list_filter = ("weekday", "session_type__kind", "track__site")
    search_fields = ("title", "track__name", "session_type__name")
    list_select_related = ("track__program", "session_type", "facilitator", "room__site")
    autocomplete_fields = ("track", "session_type", "facilitator", "room")
    fields = ("track", "weekday", "start_time", "duration_minutes", "session_type", "title",
              "facilitator", "room")


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ("date", "site", "reason")
    list_filter = ("site",)
    search_fields = ("reason", "site__name")
    date_hierarchy = "date"
    list_select_related = ("site",)
    autocomplete_fields = ("site",)
    ordering = ("-date",)


class SiteAssignmentInline(SharedChoicesInlineMixin, LabelledTabularInline):
    """The sites a staff member works at (the reverse of Site.staff).

    A clinic has a handful of sites, so a plain dropdown (one shared query) beats autocomplete,
    which looks up each row's site on its own.
    """

    model = Site.staff.through
    fields = ("site",)
    extra = 0
    verbose_name = _("site assignment")
    verbose_name_plural = _("site assignments")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Each row's __str__ names the site and the user.
        return super().get_queryset(request).select_related("site", "user")


admin.site.unregister(User)


@admin.register(User)
class UserWithSitesAdmin(UserAdmin):
    """The user admin with the sites a staff member works at (accounts cannot import programs)."""

    inlines = (*UserAdmin.inlines, SiteAssignmentInline)
