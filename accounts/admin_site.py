"""The admin site: django-otp's OTPAdminSite under the usual "admin" name.

OTPAdminSite treats a user who has not passed a second factor in this session as if they were
not staff, and its login form asks for the code. Keeping the instance name "admin" keeps every
`reverse("admin:...")` in the project working.
"""
from django.conf import settings
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
