from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from iop_clinic.admin_mixins import SharedChoicesInlineMixin
from programs.models import Site

from .models import User


class SiteAssignmentInline(SharedChoicesInlineMixin, admin.TabularInline):
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


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "roles", "credentials",
                    "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups", "sites")
    fieldsets = DjangoUserAdmin.fieldsets + ((_("Clinic"), {"fields": ("credentials",)}),)
    inlines = (SiteAssignmentInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def roles(self, user: User) -> str:
        return ", ".join(sorted(group.name for group in user.groups.all())) or "—"
