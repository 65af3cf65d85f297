"""Root URLconf: the only module of the shell that names the apps, to include their URLs."""
from django.contrib import admin
from django.urls import include, path

from . import health

admin.site.site_header = "IOP Clinic administration"
admin.site.site_title = "IOP Clinic"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("webhooks/", include("reminders.urls")),
    path("", include("accounts.urls")),
    path("portal/", include("portal.urls")),
    path("", include("staff.urls")),
]

# Styled error pages in the asker's layout (staff, portal or visitor), each with a way back.
handler400 = "accounts.errors.bad_request"
handler403 = "accounts.errors.permission_denied"
handler404 = "accounts.errors.page_not_found"
handler500 = "accounts.errors.server_error"
