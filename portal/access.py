"""Who may see which portal page: the signed-in participant, found once per request."""
from functools import cache, wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connections, router
from django.http import HttpRequest
from django.shortcuts import redirect
from django.utils import timezone, translation

from iop_clinic.compiled import CompiledQuery, compile_once
from participants.models import Participant


# The user id the participant query is compiled with, replaced by the real one when it runs.
_ANY_USER = -1


@cache
def _participant_statement(alias: str, vendor: str) -> CompiledQuery:
    """"The participant of this login, with their home site", compiled by the ORM once per
    process (iop_clinic.compiled), building both as the ORM does. Compiling it cost about 0.45
    ms of a portal page's CPU, four times what running it costs. Only the user's id changes
    from one request to the next (a parameter), so the statement can't go stale; no row is
    kept. Prepared once a connection (iop_clinic.prepared): planning it took PostgreSQL more
    than running it, on every portal page."""
    queryset = Participant.objects.using(alias).select_related("home_site").filter(
        user_id=_ANY_USER)
    return compile_once(queryset.query.get_compiler(using=alias), {_ANY_USER: "user"},
                        what="portal participant", model=Participant, prepared=True)


def portal_participant(request: HttpRequest) -> Participant | None:
    """The signed-in user's own participant record, with what every portal page shows: what
    `Participant.objects.select_related("home_site").get(user=request.user)` would give."""
    if not request.user.is_authenticated:
        return None
    alias = router.db_for_read(Participant)
    found = _participant_statement(alias, connections[alias].vendor).objects(
        {"user": request.user.pk}, limit=1)
    # A login has at most one participant (a one-to-one field).
    return found[0] if found else None


def participant_required(view):
    """Portal pages: anonymous visitors sign in first; staff go home; other users get 403."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        participant = portal_participant(request)
        if participant is None:
            if request.user.is_clinic_staff:
                return redirect("home")
            raise PermissionDenied
        request.participant = participant
        # Pages render inside the view, so dates and times show in the participant's zone and
        # words in the participant's language (the record is already here: no extra query).
        request.LANGUAGE_CODE = participant.language
        with timezone.override(participant.zone), translation.override(participant.language):
            response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Language", participant.language)
        return response
    return wrapper
