from django.contrib import admin
from django.urls import include, path

from . import health

admin.site.site_header = "IOP Clinic administration"
admin.site.site_title = "IOP Clinic"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("portal/", include("participants.portal.urls")),
    # STAND-IN for the staff app's login/logout/home; remove when it lands.
    path("", include("participants.portal.standin_urls")),
]
