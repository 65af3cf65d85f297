"""Who may see which portal page: the signed-in participant, found once per request."""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import redirect
from django.utils import timezone, translation

from participants.models import Participant


def portal_participant(request: HttpRequest) -> Participant | None:
    """The signed-in user's own participant record, with what every portal page shows."""
    if not request.user.is_authenticated:
        return None
    # get(), not first(): a login has at most one participant, so no ordering to compile.
    try:
        return Participant.objects.select_related("home_site").get(user_id=request.user.pk)
    except Participant.DoesNotExist:
        return None


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
