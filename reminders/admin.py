"""Admin for reminders and reminder policies: find failures fast, see a participant's history,
re-plan from the changelist."""
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from participants.admin import ParticipantAdmin
from participants.models import Participant
from reminders.models import Reminder, ReminderPolicy, ReminderStatus
from reminders.replan import reminders_replan_on_commit


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("failed", _("Failed")), ("unsent", _("Failed, skipped or expired"))]

    def queryset(self, request, queryset):
        if self.value() == "failed":
            return queryset.filter(status=ReminderStatus.FAILED)
        if self.value() == "unsent":
            return queryset.filter(status__in=[ReminderStatus.FAILED, ReminderStatus.SKIPPED,
                                               ReminderStatus.EXPIRED])
        return queryset


class RecipientFilter(admin.SimpleListFilter):
    title = _("to")
    parameter_name = "to"

    def lookups(self, request, model_admin):
        return (("participant", _("The participant")), ("contact", _("A family contact")))

    def queryset(self, request, queryset):
        if self.value() in ("participant", "contact"):
            return queryset.filter(contact__isnull=self.value() == "participant")
        return queryset


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    # Nine columns, so the list fits 1280 px beside its filters; "send before" is on each
    # reminder's page.
    list_display = ["visit_date", "participant_link", "kind", "channel", "status", "reason",
                    "due_at", "attempts", "history_link"]
    list_filter = [NeedsAttentionFilter, "status", "channel", "kind", "reason", RecipientFilter,
                   "site"]
    date_hierarchy = "visit_date"
    search_fields = ["participant__record_number", "participant__last_name", "provider_message_id"]
    list_select_related = ["participant", "site"]
    raw_id_fields = ["participant"]
    ordering = ["-visit_date", "participant_id"]
    actions = ["replan_participants"]
    list_per_page = 100
    readonly_fields = ["participant", "contact", "site", "visit_date", "kind", "channel", "status", "reason",
                       "detail", "due_at", "send_before", "attempts", "claimed_at", "sent_at",
                       "provider_message_id", "body", "created_at", "updated_at",
                       "previous_start", "previous_site", "session", "asks_reply",
                       "enrollment", "requested_by"]
    fieldsets = [
        (None, {"fields": ["participant", "contact", "site", "visit_date", "kind", "channel"]}),
        (_("Delivery"), {"fields": ["status", "reason", "detail", "due_at", "send_before",
                                    "attempts", "claimed_at", "sent_at", "provider_message_id"]}),
        (_("Message"), {"fields": ["body", "asks_reply"], "classes": ["collapse"]}),
        (_("Change notice"), {"fields": ["previous_start", "previous_site", "session"]}),
        (_("Seat offer and invitation"), {"fields": ["enrollment", "requested_by"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the planner writes reminders

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # read-only: state changes go through the planner and the send task

    @admin.display(description=_("participant"), ordering="participant__record_number")
    def participant_link(self, obj: Reminder) -> str:
        # The record number, not the name: this column is often on a shared screen.
        try:
            url = obj.participant.get_absolute_url()
        except NoReverseMatch:  # participant admin not installed
            return obj.participant.record_number
        return format_html('<a href="{}">{}</a>', url, obj.participant.record_number)

    @admin.display(description=_("history"))
    def history_link(self, obj: Reminder) -> str:
        url = reverse("admin:reminders_reminder_changelist")
        return format_html('<a href="{}?participant__id__exact={}">{}</a>', url,
                           obj.participant_id, _("all reminders"))

    @admin.action(description=_("Re-plan reminders for the participants of the selected rows"))
    def replan_participants(self, request: HttpRequest, queryset: QuerySet[Reminder]) -> None:
        _replan(self, request, set(queryset.values_list("participant_id", flat=True)))


@admin.action(description=_("Re-plan reminders for the selected participants"))
def replan_selected_participants(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    """For ParticipantAdmin.actions (participants/admin.py belongs to another branch)."""
    _replan(modeladmin, request, set(queryset.values_list("pk", flat=True)))


def _replan(modeladmin, request: HttpRequest, participant_ids: set[int]) -> None:
    reminders_replan_on_commit(participant_ids=participant_ids)
    modeladmin.message_user(request, ngettext(
        "Reminders for %(count)d participant will be re-planned in a moment.",
        "Reminders for %(count)d participants will be re-planned in a moment.",
        len(participant_ids)) % {"count": len(participant_ids)}, messages.SUCCESS)


@admin.register(ReminderPolicy)
class ReminderPolicyAdmin(admin.ModelAdmin):
    list_display = ["site", "day_before_enabled", "day_before_hours", "same_day_enabled",
                    "same_day_hours", "same_day_by_email", "quiet_start", "quiet_end",
                    "sms_per_day_max", "sms_per_week_max"]
    list_select_related = ["site"]
    fieldsets = [
        (None, {"fields": ["site"]}),
        (_("Day before"), {"fields": ["day_before_enabled", "day_before_hours"]}),
        (_("Same day"), {"fields": ["same_day_enabled", "same_day_hours", "same_day_by_email"]}),
        (_("Quiet hours (participant's local time)"), {"fields": ["quiet_start", "quiet_end"]}),
        (_("Text limits per participant"), {"fields": ["sms_per_day_max", "sms_per_week_max"]}),
        (_("Two-way texts"), {"fields": ["sms_ask_reply"]}),
    ]


admin.site.unregister(Participant)


@admin.register(Participant)
class RemindedParticipantAdmin(ParticipantAdmin):
    """The participants' admin with "re-plan reminders" (participants cannot import reminders)."""

    actions = (*ParticipantAdmin.actions, replan_selected_participants)
