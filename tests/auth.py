"""Signing personas in from tests, past the second factor that directors and admins need."""
from django.test import Client

from tests.security.helpers import force_login_verified


def needs_second_factor(user) -> bool:
    return user.is_superuser or user.is_staff or user.is_director


def sign_in(client: Client, user) -> Client:
    """Log `user` in as if they had typed their password (and authenticator code, if needed)."""
    if needs_second_factor(user):
        force_login_verified(client, user)
    else:
        client.force_login(user)
    return client
