"""STAND-IN routes for the staff app's sign-in, sign-out and home (see `_standins.py`)."""
from django.urls import path

from . import _standins

urlpatterns = [
    path("accounts/login/", _standins.standin_login, name="login"),
    path("accounts/logout/", _standins.standin_logout, name="logout"),
    path("staff/", _standins.standin_home, name="home"),
]
