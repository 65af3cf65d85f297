"""The staff face's access rules: the view decorators and mixins, and everything limited to
the user's sites.

Every staff view goes through these helpers:
- `staff_required` / `StaffRequiredMixin`: signed in, holds a staff role, is not a portal user
  (a participant is sent to the portal's home instead).
- `role_required(...)` / `RoleRequiredMixin`: one of the given roles (directors always pass).
- `*_for(user)`: querysets limited to the user's sites (`user.sites`).
- `zone_for(user)`: pages show times in the user's (first) site's time zone.
- `get_*_or_404(user, ...)`: fetch one object, answering 404 for another site's object, so a
  stranger cannot even learn that it exists.
Who is staff and the `can_*` capabilities live in `accounts/access.py`.
"""
from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Callable
from functools import cache, wraps

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.models import Group
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connection, connections, router
from django.db.models import Exists, F, OuterRef, QuerySet, Value
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone

from accounts.access import has_any_role, is_portal_user, is_staff_member
from accounts.models import User
from accounts.roles import Role
from authorizations.models import Authorization
from iop_clinic.compiled import CompiledQuery, compile_once, id_sentinels
from participants.models import Enrollment, Participant
from programs.models import Site, Track
from programs.selectors import programs_at
from sessions.models import Attendance, FollowUp, TherapySession


# --- Decorators and mixins -----------------------------------------------------------------

def _check(request, roles: tuple[Role, ...] | None):
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    _load_access(user)
    if is_portal_user(user):
        # A participant who opens a staff address (or `/`) belongs in the portal.
        return redirect("portal-home")
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

# The user id the access query is compiled with, replaced by the real one when it runs.
_ANY_USER = -1


@cache
def _access_statement(alias: str, vendor: str, *, all_sites: bool) -> CompiledQuery:
    """The access query (`_load_access`), compiled by the ORM once per process
    (iop_clinic.compiled): compiling this union costs about ten times the CPU of running it, on
    every staff page. Only the user's id changes from one request to the next (a parameter), so
    the statement can't go stale; no row is kept, only the SQL text. Prepared once a connection
    too (iop_clinic.prepared): PostgreSQL planned this union afresh on every staff page, about
    0.2 ms of its CPU, several times what running it costs; its str parameters are the kinds'
    constant names."""
    columns = ("kind", "ident", "label")
    groups = Group.objects.filter(user=_ANY_USER).annotate(
        kind=Value("group"), ident=F("pk"), label=F("name"))
    sites = (Site.objects.all() if all_sites else Site.objects.filter(staff=_ANY_USER)).annotate(
        kind=Value("site"), ident=F("pk"), label=F("time_zone"))
    participant = Participant.objects.filter(user=_ANY_USER).annotate(
        kind=Value("participant"), ident=F("pk"), label=Value(""))
    rows = groups.order_by().values_list(*columns).union(
        sites.order_by().values_list(*columns), participant.order_by().values_list(*columns),
        all=True)
    return compile_once(rows.query.get_compiler(using=alias), {_ANY_USER: "user"},
                        what="access", prepared=True)


def _load_access(user: User) -> None:
    """Everything the access rules read about the user, in one query: their groups (the roles
    `is_staff_member` and `has_role` read), whether a participant is linked to the login (what
    `is_portal_user` reads) and (id, time zone) of their sites (`site_ids_for`, `zone_for`).

    Kept on this user object only, so for one request: it is read again from the database on
    the next one, and removing someone from a site or a role takes effect there. What it fills
    in is what `prefetch_related("groups")` and `select_related("participant")` would have.
    """
    if not user.is_authenticated or getattr(user, "_site_rows_cache", None) is not None:
        return
    rows = _access_statement(connection.alias, connection.vendor,
                             all_sites=user.is_superuser).rows({"user": user.pk})
    group_rows, site_rows, is_participant = [], [], False
    for kind, ident, label in rows:
        if kind == "group":
            group_rows.append(Group(pk=ident, name=label))
        elif kind == "site":
            site_rows.append((ident, label))
        else:
            is_participant = True
    if "groups" not in getattr(user, "_prefetched_objects_cache", {}):
        # As prefetch_related_objects stores a prefetched many-to-many (query.prefetch_one_level).
        prefetched = user.groups.all()
        prefetched._result_cache = group_rows
        prefetched._prefetch_done = True
        user._prefetched_objects_cache = {**getattr(user, "_prefetched_objects_cache", {}),
                                          "groups": prefetched}
    if not is_participant:
        # As select_related("participant") leaves a login without one: `user.participant`
        # raises DoesNotExist without a query. A participant's login is left to load its record
        # when something reads it (a staff page only redirects it to the portal).
        User.participant.related.set_cached_value(user, None)
    user._site_rows_cache = sorted(site_rows) if is_staff_member(user) else []


def _site_rows(user: User) -> list[tuple[int, str]]:
    """(id, time zone) of the user's sites, fetched once per request and kept on the user."""
    cached = getattr(user, "_site_rows_cache", None)
    if cached is None:
        if not user.is_authenticated:
            return []
        _load_access(user)
        cached = user._site_rows_cache
    return cached


def site_ids_for(user: User) -> list[int]:
    return [pk for pk, _zone in _site_rows(user)]


def zone_for(user: User) -> zoneinfo.ZoneInfo | None:
    """The time zone staff pages show times in: that of the user's first site."""
    rows = _site_rows(user)
    return zoneinfo.ZoneInfo(rows[0][1]) if rows else None


def sites_for(user: User) -> QuerySet:
    return Site.objects.filter(pk__in=site_ids_for(user))


def participants_for(user: User) -> QuerySet:
    """Participants whose home site is one of mine, or who are enrolled in a track at one."""
    return participants_at(site_ids_for(user))


def participants_at(site_ids) -> QuerySet:
    """participants_for a user with these sites."""
    enrolled_here = Enrollment.objects.filter(participant=OuterRef("pk"),
                                              track__site_id__in=site_ids)
    return Participant.objects.filter(home_site_id__in=site_ids) | Participant.objects.filter(
        Exists(enrolled_here)
    )


def sessions_for(user: User) -> QuerySet:
    return TherapySession.objects.filter(site_id__in=site_ids_for(user))


def tracks_for(user: User) -> QuerySet:
    return _tracks_at(site_ids_for(user))


def _tracks_at(site_ids) -> QuerySet:
    return Track.objects.filter(site_id__in=site_ids)


def followups_for(user: User) -> QuerySet:
    return FollowUp.objects.filter(participant__in=participants_for(user).values("pk"))


def _participant_query(site_ids, code) -> QuerySet:
    return participants_at(site_ids).select_related("home_site", "primary_clinician").filter(
        code=code).order_by()  # as get() runs it: one row needs no order


def _session_query(site_ids, pk) -> QuerySet:
    return TherapySession.objects.filter(site_id__in=site_ids).select_related(
        "site", "room", "facilitator", "track__program", "session_type", "participant",
    ).filter(pk=pk).order_by()  # as get() runs it: one row needs no order


def _track_query(site_ids, pk) -> QuerySet:
    return _tracks_at(site_ids).select_related("program", "site").filter(
        pk=pk).order_by()  # as get() runs it: one row needs no order


_ONE_OBJECT_QUERIES = {"participant": (Participant, _participant_query, "code"),
                       "session": (TherapySession, _session_query, "id"),
                       "track": (Track, _track_query, "id")}
# The key the one-object queries are compiled with, replaced by the real one when they run;
# the site ids are compiled as `id_sentinels` (no real id is negative).
_ANY_KEY = {"participant": uuid.UUID(int=0), "session": -(2**31), "track": -(2**31)}


@cache
def _one_object_statement(kind: str, alias: str, vendor: str, site_count: int) -> CompiledQuery:
    """A `get_*_or_404` query for a user with `site_count` sites, compiled by the ORM once per
    process (iop_clinic.compiled), building its objects as the ORM does: the select_related
    joins cost more to compile (~1.5-2 ms on the chart and the roster) than to run. The site
    ids and the object's key are parameters, so the statement can't go stale; no row is kept,
    nor anything tied to one thread's database connection."""
    model, build, key_name = _ONE_OBJECT_QUERIES[kind]
    site_sentinels, sentinels = id_sentinels("sites", site_count)
    compiler = build(site_sentinels, _ANY_KEY[kind]).using(alias).query.get_compiler(
        using=alias)
    key_field = model._meta.get_field(key_name)
    sentinels[key_field.get_db_prep_value(_ANY_KEY[kind], connections[alias])] = "key"
    # The chart's participant and the session pages' session are prepared once a connection
    # (iop_clinic.prepared): planning them took ~0.2 ms of each chart and ~0.5 ms of each
    # roster at 2,000 participants (a session's six joins); their generic plans are the same.
    return compile_once(compiler, sentinels, what=kind, model=model,
                        prepared=kind in ("participant", "session"))


def _get_one_or_404(kind: str, user: User, key) -> object:
    """What `get_object_or_404(<the kind's query>, <key>=key)` gives, through a statement
    compiled once per process (`_one_object_statement`)."""
    model, _build, key_name = _ONE_OBJECT_QUERIES[kind]
    site_ids = site_ids_for(user)
    if not site_ids:  # as filter(site_id__in=[]): nothing matches
        raise Http404(f"No {model._meta.object_name} matches the given query.")
    alias = router.db_for_read(model)
    connection_ = connections[alias]
    # As the ORM prepares a lookup's value (a code that is no UUID fails here as it does there),
    # and finds nothing for an id out of the column's range (IntegerFieldOverflow).
    key_field = model._meta.get_field(key_name)
    key = key_field.get_db_prep_value(key, connection_)
    if isinstance(key, int):
        low, high = connection_.ops.integer_field_range(key_field.get_internal_type())
        if (low is not None and key < low) or (high is not None and key > high):
            raise Http404(f"No {model._meta.object_name} matches the given query.")
    found = _one_object_statement(kind, alias, connection_.vendor, len(site_ids)).objects(
        {"sites": site_ids, "key": key}, limit=2)
    if not found:
        raise Http404(f"No {model._meta.object_name} matches the given query.")
    if len(found) > 1:  # the keys are unique; as get() would say
        raise model.MultipleObjectsReturned(f"get() returned more than one {model.__name__}")
    return found[0]


def get_participant_or_404(user: User, code) -> object:
    """A participant I may see (`participants_for`), with their home site and clinician."""
    return _get_one_or_404("participant", user, code)


def get_session_or_404(user: User, pk: int) -> object:
    """A session at one of my sites, with everything the session pages show about it."""
    return _get_one_or_404("session", user, pk)


def programs_for(user: User) -> QuerySet:
    """Programs offered at one of my sites or running a track there."""
    return programs_at(site_ids=site_ids_for(user))


def get_program_or_404(user: User, pk: int) -> object:
    return get_object_or_404(programs_for(user), pk=pk)


def get_track_or_404(user: User, pk: int) -> object:
    """A track at one of my sites, with its program and site (`tracks_for`), through the
    statement compiled once (compiling its joins was ~0.5 ms of the track page's CPU)."""
    return _get_one_or_404("track", user, pk)


def get_enrollment_or_404(user: User, pk: int) -> object:
    """An enrollment in a track at one of my sites."""
    return get_object_or_404(
        Enrollment.objects.filter(track__site_id__in=site_ids_for(user))
        .select_related("participant__home_site", "participant__primary_clinician",
                        "track__program", "track__site"),
        pk=pk,
    )


def get_authorization_or_404(user: User, pk: int) -> object:
    """A payer authorization of an enrollment in a track at one of my sites."""
    return get_object_or_404(
        Authorization.objects.filter(enrollment__track__site_id__in=site_ids_for(user))
        .select_related("payer"), pk=pk)


def get_attendance_or_404(user: User, pk: int) -> object:
    """An attendance row of a participant I may see."""
    return get_object_or_404(
        Attendance.objects.filter(participant__in=participants_for(user).values("pk"))
        .select_related("participant__home_site", "session__site", "session__session_type"),
        pk=pk)


def get_followup_or_404(user: User, pk: int) -> object:
    return get_object_or_404(
        followups_for(user).select_related("participant", "assignee", "session__site"), pk=pk
    )
