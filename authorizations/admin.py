"""Admin for payers, coverage, authorizations and the warnings staff went past.

Usage is not a field: it is derived from attendance (selectors), so the admin shows no typed
figure for it; the chart shows used, scheduled and remaining."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from iop_clinic.admin_mixins import ReadOnlyModelAdmin

from .services import authorization_usage_refresh
from .models import (
    Authorization,
    AuthorizationAlertRow,
    AuthorizationOverride,
    AuthorizationUsage,
    Coverage,
    Payer,
)


@admin.register(Payer)
class PayerAdmin(admin.ModelAdmin):
    list_display = ("name", "requires_authorization", "phone", "is_active")
    list_filter = ("requires_authorization", "is_active")
    search_fields = ("name",)


@admin.register(Coverage)
class CoverageAdmin(admin.ModelAdmin):
    list_display = ("enrollment", "payer", "member_id", "updated_at")
    list_filter = ("payer", "enrollment__track__site")
    search_fields = ("member_id", "enrollment__participant__record_number",
                     "enrollment__participant__last_name", "payer__name")
    list_select_related = ("payer", "enrollment__participant", "enrollment__track__program")
    raw_id_fields = ("enrollment",)


@admin.register(Authorization)
class AuthorizationAdmin(admin.ModelAdmin):
    list_display = ("number", "participant", "payer", "status", "unit", "service_code",
                    "units_authorized", "start_date", "end_date", "next_review_date")
    list_filter = ("status", "payer", "unit", "level_of_care", "enrollment__track__site")
    search_fields = ("number", "member_id", "service_code",
                     "enrollment__participant__record_number",
                     "enrollment__participant__last_name", "payer__name")
    list_select_related = ("payer", "enrollment__participant")
    date_hierarchy = "end_date"
    raw_id_fields = ("enrollment",)
    readonly_fields = ("created_at", "updated_at", "created_by")
    fieldsets = (
        (None, {"fields": ("enrollment", "payer", "member_id", "number", "status")}),
        (_("What is covered"), {"fields": ("level_of_care", "unit", "service_code",
                                           "units_authorized", "start_date", "end_date",
                                           "next_review_date")}),
        (_("Note"), {"fields": ("note",)}),
        (_("Record"), {"fields": ("created_at", "updated_at", "created_by")}),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Usage is derived, never typed: store it for Today as the staff pages' service does.
        authorization_usage_refresh(participant_ids=[obj.enrollment.participant_id])

    @admin.display(description=_("participant"), ordering="enrollment__participant__last_name")
    def participant(self, obj: Authorization):
        return obj.enrollment.participant


@admin.register(AuthorizationOverride)
class AuthorizationOverrideAdmin(admin.ModelAdmin):
    list_display = ("created_at", "created_by", "enrollment", "action", "on_date", "warning")
    list_filter = ("action",)
    search_fields = ("warning", "enrollment__participant__record_number",
                     "enrollment__participant__last_name")
    list_select_related = ("created_by", "enrollment__participant",
                           "enrollment__track__program")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuthorizationUsage)
class AuthorizationUsageAdmin(admin.ModelAdmin):
    """Derived from attendance: read only."""

    list_display = ("authorization", "used", "scheduled", "runs_out_on", "over_from",
                    "after_end_from", "as_of", "refreshed_at")
    list_select_related = ("authorization__payer",)
    search_fields = ("authorization__number",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuthorizationAlertRow)
class AuthorizationAlertRowAdmin(ReadOnlyModelAdmin):
    """The alerts the database triggers keep for Today (migration 0004): to check, never to
    edit."""

    list_display = ("on_date", "kind", "participant", "authorization", "payer", "site",
                    "shown_from", "shown_until")
    list_select_related = ("participant", "authorization__payer", "payer", "site")
    date_hierarchy = "on_date"
