"""Admin for users: roles at a glance; programs/admin.py adds the site assignments inline."""
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp import admin as otp_totp_admin
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "roles", "credentials",
                    "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups", "sites")
    fieldsets = DjangoUserAdmin.fieldsets + ((_("Clinic"), {"fields": ("credentials",)}),)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def roles(self, user: User) -> str:
        return ", ".join(sorted(group.name for group in user.groups.all())) or "—"


class TOTPDeviceAdmin(otp_totp_admin.TOTPDeviceAdmin):
    """Authenticator devices without the views that show a device's secret.

    django-otp's admin draws any device's key as a QR code (`<id>/config/`, `<id>/qrcode/`),
    so a superuser could copy any staff member's second factor; those paths answer 404 for
    every id, and OTP_ADMIN_HIDE_SENSITIVE_DATA keeps the key off the change form.
    """

    readonly_fields = ["created_at", "last_used_at"]

    def get_list_display(self, request: HttpRequest):
        return [name for name in super().get_list_display(request) if name != "qrcode_link"]

    def get_urls(self):
        ours = super().get_urls()
        removed = {"otp_totp_totpdevice_config", "otp_totp_totpdevice_qrcode"}
        gone = self.admin_site.admin_view(self._gone)
        return [
            path("<path:object_id>/config/", gone),
            path("<path:object_id>/qrcode/", gone),
        ] + [url for url in ours if getattr(url, "name", None) not in removed]

    def _gone(self, request: HttpRequest, object_id: str):
        raise Http404


admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, TOTPDeviceAdmin)
