"""Admin for census uploads: read-only, so an administrator sees who checked or imported which
file, when, and its report; the file's content (personal data) is never shown."""
from django.contrib import admin

from .models import CensusUpload


@admin.register(CensusUpload)
class CensusUploadAdmin(admin.ModelAdmin):
    list_display = ("uploaded_at", "uploaded_by", "file_name", "state", "committed_at")
    list_filter = ("state",)
    search_fields = ("file_name", "sha256", "uploaded_by__username", "uploaded_by__last_name")
    list_select_related = ("uploaded_by",)
    date_hierarchy = "uploaded_at"
    exclude = ("content",)
    readonly_fields = ("code", "uploaded_by", "uploaded_at", "file_name", "sha256", "state",
                       "report", "committed_at")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
