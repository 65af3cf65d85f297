"""Admin for therapy sessions and attendance."""
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Attendance, AttendanceStatus, TherapySession


def _stamp_marked(request: HttpRequest, attendance: Attendance, changed: list[str]) -> None:
    # "Who marked it and when" must stay true when an administrator corrects a record here.
    if {"status", "minutes_attended"} & set(changed):
        attendance.marked_by = request.user
        attendance.marked_at = timezone.now()


class AttendanceInline(admin.TabularInline):
    """A session's roll. Rows come from enrollments, so the participant is fixed here."""

    model = Attendance
    view_on_site = False  # models link back into the admin itself
    fields = ("participant", "status", "minutes_attended", "note", "marked_by", "marked_at")
    readonly_fields = ("participant", "marked_by", "marked_at")
    extra = 0
    ordering = ("participant__last_name", "participant__first_name")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Attendance]:
        # Each row's __str__ names the participant and the session (by title or type).
        return super().get_queryset(request).select_related(
            "participant", "marked_by", "session__session_type",
        )

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(TherapySession)
class TherapySessionAdmin(admin.ModelAdmin):
    list_display = ("local_start", "title_or_type", "kind", "site", "track", "participant", "room",
                    "facilitator", "status", "attendance_count")
    list_filter = ("status", "kind", "site", "session_type")
    search_fields = ("title", "session_type__name", "track__name", "participant__record_number",
                     "participant__last_name")
    date_hierarchy = "local_date"
    list_select_related = ("session_type", "site", "track__program", "participant", "room__site",
                           "facilitator")
    autocomplete_fields = ("session_type", "site", "track", "weekly_slot", "participant",
                           "care_plan", "room", "facilitator")
    readonly_fields = ("created_at", "updated_at")
    inlines = (AttendanceInline,)
    fieldsets = (
        (None, {"fields": ("session_type", "kind", "title")}),
        (_("Who"), {
            "fields": ("track", "weekly_slot", "participant", "care_plan"),
            "description": _("Group and workshop sessions belong to a track; individual and "
                             "family sessions to one participant."),
        }),
        (_("When and where"), {"fields": ("site", "room", "facilitator", "starts_at", "ends_at",
                                          "local_date")}),
        (_("Status"), {"fields": ("status", "cancel_reason")}),
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
        return f"{session.starts_at.astimezone(session.site.zone):%Y-%m-%d %H:%M %Z}"

    @admin.display(description=_("title / topic"), ordering="title")
    def title_or_type(self, session: TherapySession) -> str:
        return session.title or session.session_type.name

    @admin.display(description=_("attended / on roll"), ordering="_attended")
    def attendance_count(self, session: TherapySession) -> str:
        return f"{session._attended} / {session._on_roll}"

    def save_formset(self, request, form, formset, change) -> None:
        for attendance in formset.save(commit=False):
            changed = next((c for f, c in formset.changed_objects if f is attendance), [])
            _stamp_marked(request, attendance, changed)
            attendance.save()
        for attendance in formset.deleted_objects:
            attendance.delete()


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ("participant", "session", "session_site", "status", "minutes_attended",
                    "marked_by", "marked_at")
    list_filter = ("status", "session__site", "session__kind")
    search_fields = ("participant__record_number", "participant__first_name",
                     "participant__last_name", "session__title")
    date_hierarchy = "session__local_date"
    list_select_related = ("participant", "session__session_type", "session__site", "marked_by")
    autocomplete_fields = ("session", "participant", "enrollment")
    readonly_fields = ("marked_by", "marked_at")
    fields = ("session", "participant", "enrollment", "status", "minutes_attended", "note",
              "marked_by", "marked_at")

    @admin.display(description=_("site"), ordering="session__site__name")
    def session_site(self, attendance: Attendance):
        return attendance.session.site

    def save_model(self, request, obj, form, change) -> None:
        _stamp_marked(request, obj, form.changed_data if change else ["status"])
        super().save_model(request, obj, form, change)


from .reminders import admin as reminders_admin  # noqa: F401  (registers Reminder admin)
