"""Django's password backend, with the signed-in user of every request read through a query
compiled once a process.

Every signed-in request loads its user (django.contrib.auth.get_user calls the backend's
get_user, then checks the session's password hash against the user's). ModelBackend builds and
compiles `User.objects.get(pk=...)` for that each time: about 0.3 ms of CPU, ten times what
running it costs. Here the ORM compiles the same statement once (iop_clinic.compiled) and each
request runs it with its user's id: the same row, the same checks (an inactive user gets None,
the session hash is verified by Django as before). Only SQL text is kept, never a row, so a
deactivated user or a changed password still ends the session at the next request.
"""
from __future__ import annotations

from functools import cache

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.db import connections, router

from iop_clinic.compiled import CompiledQuery, compile_once

from .models import User

# Sessions signed in before this backend existed name Django's; SessionTimeoutMiddleware moves
# them over (legacy_backend_session) so nobody is signed out by the upgrade.
LEGACY_BACKEND = "django.contrib.auth.backends.ModelBackend"
BACKEND = "accounts.backends.UserBackend"

# The user id the statement is compiled with, replaced by the real one when it runs.
_ANY_USER = -1


@cache
def _user_statement(alias: str, vendor: str) -> CompiledQuery:
    """`User.objects.filter(pk=...)` as ModelBackend.get_user runs it, compiled once a process
    and prepared once a connection (iop_clinic.prepared): every signed-in request runs it."""
    compiler = User._default_manager.using(alias).filter(pk=_ANY_USER).order_by().query \
        .get_compiler(using=alias)
    return compile_once(compiler, {_ANY_USER: "user"}, what="signed-in user", model=User,
                        prepared=True)


def user_by_id(user_id) -> User | None:
    """The user with this id, as `User._default_manager.get(pk=user_id)` finds it, or None."""
    alias = router.db_for_read(User)
    query = _user_statement(alias, connections[alias].vendor)
    found = query.objects({"user": User._meta.pk.get_db_prep_value(user_id, connections[alias])},
                          limit=1)
    return found[0] if found else None


class UserBackend(ModelBackend):
    """ModelBackend (passwords, permissions) with get_user through `user_by_id`."""

    def get_user(self, user_id):
        user = user_by_id(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


def legacy_backend_session(session) -> None:
    """A session signed in through Django's ModelBackend continues through UserBackend."""
    if session.get(BACKEND_SESSION_KEY) == LEGACY_BACKEND:
        session[BACKEND_SESSION_KEY] = BACKEND
