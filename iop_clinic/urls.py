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
