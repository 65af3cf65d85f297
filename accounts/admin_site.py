"""The admin site: django-otp's OTPAdminSite under the usual "admin" name.

OTPAdminSite treats a user who has not passed a second factor in this session as if they were
not staff, and its login form asks for the code. Keeping the instance name "admin" keeps every
`reverse("admin:...")` in the project working.
"""
from django.conf import settings
from django.utils.functional import SimpleLazyObject
from django_otp.admin import OTPAdminSite


class ClinicAdminSite(OTPAdminSite):
    site_header = f"{settings.CLINIC_NAME} administration"
    site_title = settings.CLINIC_NAME
    # The sidebar repeats the index's model list on every page and takes 290 px from each
    # changelist, which with the filters left 630 px of a 1280-px screen for the table.
    # Home (breadcrumbs) and the index list every model instead.
    enable_nav_sidebar = False

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def each_context(self, request):
        """Django's context for every admin page, with "available_apps" built only if a template
        reads it: only the nav sidebar does, and it is off. Building it reverses every model's
        URLs and asks every model admin's permissions, a sixth of a changelist's time."""
        script_name = request.META["SCRIPT_NAME"]
        site_url = script_name if self.site_url == "/" and script_name else self.site_url
        return {
            "site_title": self.site_title,
            "site_header": self.site_header,
            "site_url": site_url,
            "has_permission": self.has_permission(request),
            "available_apps": SimpleLazyObject(lambda: self.get_app_list(request)),
            "is_popup": False,
            "is_nav_sidebar_enabled": self.enable_nav_sidebar,
            "log_entries": self.get_log_entries(request),
        }

    def get_app_list(self, request, app_label=None):
        """One audit section: django-auditlog's changes beside our access events."""
        app_list = super().get_app_list(request, app_label)
        sections = {app["app_label"]: app for app in app_list}
        changes, audit = sections.get("auditlog"), sections.get("audit")
        if changes and audit:
            audit["models"] = sorted(audit["models"] + changes["models"],
                                     key=lambda model: str(model["name"]))
            app_list.remove(changes)
        return app_list
