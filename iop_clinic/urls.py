from django.contrib import admin
from django.urls import include, path

from . import health

admin.site.site_header = "IOP Clinic administration"
admin.site.site_title = "IOP Clinic"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("webhooks/", include("sessions.urls_webhooks")),
]
