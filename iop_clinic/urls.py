from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import health

admin.site.site_header = "IOP Clinic administration"
admin.site.site_title = "IOP Clinic"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Minimal login/logout until the staff app brings its own pages under these names.
    path("accounts/login/",
         auth_views.LoginView.as_view(template_name="security/login.html",
                                      redirect_authenticated_user=True),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/two-factor/", include("iop_clinic.security.urls")),
]
