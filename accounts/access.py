"""Who is staff and what each role may do, from the user and their groups alone.

- `is_portal_user` / `is_staff_member` / `has_any_role`: who is asking.
- `can_*(user)`: capabilities the templates use to hide what a role may not do; the views and
  services refuse the same things, hiding alone is never the guard.

Site scoping and the view decorators need the clinic's models and live a layer up, in
`staff/access.py`.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import prefetch_related_objects
from django.urls import reverse

from accounts.roles import Role


# --- Who is staff --------------------------------------------------------------------------

def is_portal_user(user) -> bool:
    """A login linked to a participant: the participant portal, never the staff pages.

    Reads the reverse one-to-one `user.participant` that the participants app adds, so this
    layer needs no import of it; a user without one raises ObjectDoesNotExist's subclass.
    """
    if not user.is_authenticated:
        return False
    try:
        return user.participant is not None
    except ObjectDoesNotExist:
        return False


def _load_groups(user) -> None:
    """Fetch the user's groups once per request; `User.has_role` then reads the cache."""
    if user.is_authenticated and "groups" not in getattr(user, "_prefetched_objects_cache", {}):
        prefetch_related_objects([user], "groups")


def is_staff_member(user) -> bool:
    if not user.is_authenticated:
        return False
    _load_groups(user)
    return bool(user.is_clinic_staff and not is_portal_user(user))


def has_any_role(user, roles: Iterable[Role]) -> bool:
    if not is_staff_member(user):
        return False
    if user.is_director:
        return True
    return any(user.has_role(role) for role in roles)


# --- Capabilities (templates hide, views and services refuse) ------------------------------

def can_manage_programs(user) -> bool:
    return is_staff_member(user) and user.is_director


def can_write_clinical_notes(user) -> bool:
    """Follow-up outcomes and discharge notes: directors and clinicians, never front desk."""
    return has_any_role(user, [Role.CLINICIAN])


def can_mark_attendance(user) -> bool:
    return has_any_role(user, [Role.CLINICIAN, Role.FRONT_DESK])


def can_enroll(user) -> bool:
    """Intake, enrollment, the waitlist, holds, profile and consent edits: front desk's work."""
    return has_any_role(user, [Role.FRONT_DESK])


def can_schedule(user) -> bool:
    """Individual/family sessions and cancelling a session: every staff role."""
    return has_any_role(user, [Role.CLINICIAN, Role.FRONT_DESK])


def can_discharge(user, participant) -> bool:
    """Directors discharge anyone; a clinician only their own caseload; front desk never."""
    if not has_any_role(user, [Role.CLINICIAN]):
        return False
    return user.is_director or participant.primary_clinician_id == user.pk


def post_login_redirect(user) -> str:
    """Where a user lands after signing in: staff at home, participants in the portal."""
    if getattr(user, "is_clinic_staff", False) or getattr(user, "is_staff", False):
        return reverse("home")
    if is_portal_user(user):
        return reverse("portal-home")
    return reverse("home")
