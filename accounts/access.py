"""Who may see and do what in the staff app, in one place.

Every staff view goes through these helpers:
- `staff_required` / `StaffRequiredMixin`: signed in, holds a staff role, is not a portal user.
- `role_required(...)` / `RoleRequiredMixin`: one of the given roles (directors always pass).
- `*_for(user)`: querysets limited to the user's sites (`user.sites`).
- `zone_for(user)`: pages show times in the user's (first) site's time zone.
- `get_*_or_404(user, ...)`: fetch one object, answering 404 for another site's object, so a
  stranger cannot even learn that it exists.
- `can_*(user)`: capabilities the templates use to hide what a role may not do; the views and
  services refuse the same things, hiding alone is never the guard.
"""
from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable
from functools import wraps
from typing import TYPE_CHECKING

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet, prefetch_related_objects
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .roles import Role

if TYPE_CHECKING:
    from .models import User


# --- Who is staff --------------------------------------------------------------------------

def is_portal_user(user) -> bool:
    """A login linked to a participant: the participant portal, never the staff pages."""
    from participants.models import Participant

    if not user.is_authenticated:
        return False
    try:
        return user.participant is not None
    except Participant.DoesNotExist:
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


# --- Decorators and mixins -----------------------------------------------------------------

def _check(request, roles: tuple[Role, ...] | None):
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_staff_member(user):
        raise PermissionDenied("Staff only.")
    if roles and not has_any_role(user, roles):
        raise PermissionDenied("Your role does not allow this page.")
    return None


def role_required(*roles: Role) -> Callable:
    """Staff with one of `roles` (directors always); no roles given means any staff role."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            refusal = _check(request, roles or None)
            if refusal is not None:
                return refusal
            with timezone.override(zone_for(request.user)):
                return view(request, *args, **kwargs)

        return wrapped

    return decorator


def staff_required(view):
    return role_required()(view)


director_required = role_required(Role.DIRECTOR)


class RoleRequiredMixin(AccessMixin):
    required_roles: tuple[Role, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        refusal = _check(request, self.required_roles or None)
        if refusal is not None:
            return refusal
        with timezone.override(zone_for(request.user)):
            return super().dispatch(request, *args, **kwargs)


class StaffRequiredMixin(RoleRequiredMixin):
    required_roles = ()


class DirectorRequiredMixin(RoleRequiredMixin):
    required_roles = (Role.DIRECTOR,)


# --- What a user may see: querysets limited to their sites ---------------------------------

def _site_rows(user: User) -> list[tuple[int, str]]:
    """(id, time zone) of the user's sites, fetched once per request and kept on the user."""
    cached = getattr(user, "_site_rows_cache", None)
    if cached is None:
        from programs.models import Site

        if not is_staff_member(user):
            cached = []
        else:
            sites = Site.objects.all() if user.is_superuser else user.sites.all()
            cached = list(sites.order_by("pk").values_list("pk", "time_zone"))
        user._site_rows_cache = cached
    return cached


def site_ids_for(user: User) -> list[int]:
    return [pk for pk, _zone in _site_rows(user)]


def zone_for(user: User) -> zoneinfo.ZoneInfo | None:
    """The time zone staff pages show times in: that of the user's first site."""
    rows = _site_rows(user)
    return zoneinfo.ZoneInfo(rows[0][1]) if rows else None


def sites_for(user: User) -> QuerySet:
    from programs.models import Site

    return Site.objects.filter(pk__in=site_ids_for(user))


def participants_for(user: User) -> QuerySet:
    """Participants whose home site is one of mine, or who are enrolled in a track at one."""
    from participants.models import Enrollment, Participant

    site_ids = site_ids_for(user)
    enrolled_here = Enrollment.objects.filter(participant=OuterRef("pk"),
                                              track__site_id__in=site_ids)
    return Participant.objects.filter(home_site_id__in=site_ids) | Participant.objects.filter(
        Exists(enrolled_here)
    )


def sessions_for(user: User) -> QuerySet:
    from sessions.models import TherapySession

    return TherapySession.objects.filter(site_id__in=site_ids_for(user))


def tracks_for(user: User) -> QuerySet:
    from programs.models import Track

    return Track.objects.filter(site_id__in=site_ids_for(user))


def followups_for(user: User) -> QuerySet:
    from sessions.models import FollowUp

    return FollowUp.objects.filter(participant__in=participants_for(user).values("pk"))


def get_participant_or_404(user: User, code) -> object:
    participants = participants_for(user).select_related("home_site", "primary_clinician")
    return get_object_or_404(participants, code=code)


def get_session_or_404(user: User, pk: int) -> object:
    return get_object_or_404(
        sessions_for(user).select_related("site", "room", "facilitator", "track__program",
                                          "session_type", "participant"),
        pk=pk,
    )


def get_track_or_404(user: User, pk: int) -> object:
    return get_object_or_404(tracks_for(user).select_related("program", "site"), pk=pk)


def get_enrollment_or_404(user: User, pk: int) -> object:
    """An enrollment in a track at one of my sites."""
    from participants.models import Enrollment

    return get_object_or_404(
        Enrollment.objects.filter(track__site_id__in=site_ids_for(user))
        .select_related("participant__home_site", "participant__primary_clinician",
                        "track__program", "track__site"),
        pk=pk,
    )


def get_followup_or_404(user: User, pk: int) -> object:
    return get_object_or_404(
        followups_for(user).select_related("participant", "assignee", "session__site"), pk=pk
    )
