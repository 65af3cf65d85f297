from django.contrib import admin
from django.urls import include, path

from . import health, views

admin.site.site_header = "IOP Clinic administration"
admin.site.site_title = "IOP Clinic"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("webhooks/", include("sessions.urls_webhooks")),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("programs/", include("programs.urls")),
    path("portal/", include("portal.urls")),
    path("", include("iop_clinic.audit.urls")),
    path("", include("sessions.urls")),
    path("account/two-factor/", include("iop_clinic.security.urls")),
]
