"""Admin for background exports: read-only, so an administrator sees who exported what, when.

Not even deletable: the row is the record of a disclosure; the file itself expires on its own.
"""
from django.contrib import admin

from iop_clinic.admin_mixins import ReadOnlyModelAdmin

from .models import ReportExport


@admin.register(ReportExport)
class ReportExportAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "requested_by", "report", "file_format", "status", "progress",
                    "expires_at")
    list_filter = ("report", "file_format", "status")
    search_fields = ("requested_by__username", "requested_by__last_name", "report")
    list_select_related = ("requested_by",)
    date_hierarchy = "created_at"
    readonly_fields = ("code", "requested_by", "report", "file_format", "filters", "status",
                       "progress", "rows", "file_name", "error", "created_at", "finished_at",
                       "expires_at")
