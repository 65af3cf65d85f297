"""Root URLconf: the only module of the shell that names the apps, to include their URLs."""
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import branding, health, metrics

admin.site.site_header = f"{settings.CLINIC_NAME} administration"
admin.site.site_title = settings.CLINIC_NAME

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("favicon.ico", branding.favicon, name="favicon"),
    path("clinic.css", branding.clinic_css, name="clinic_css"),
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
