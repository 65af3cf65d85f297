"""Sign-in, sign-out and two-factor URLs (mounted at the root, paths unchanged)."""
from django.urls import path

from . import views

urlpatterns = [
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path("account/two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("account/two-factor/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("account/two-factor/recovery-codes/", views.two_factor_recovery_codes,
         name="two_factor_recovery_codes"),
]
