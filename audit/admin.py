"""Audit records in the admin: to read and search, never to add, change or delete — not even
for a superuser."""
from auditlog.admin import LogEntryAdmin as AuditlogLogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin

from iop_clinic.admin_mixins import ReadOnlyMixin

from .models import AccessEvent


if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyMixin, AuditlogLogEntryAdmin):
    pass


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "actor", "what", "object_repr", "path", "remote_addr")
    list_filter = ("what", "content_type")
    search_fields = ("actor__username", "actor__last_name", "object_repr", "what", "path")
    list_select_related = ("actor", "content_type")
    date_hierarchy = "at"
    fields = ("at", "actor", "participant", "content_type", "object_pk", "object_repr", "what",
              "path", "remote_addr", "details")
    readonly_fields = fields
