"""Staff page that books a make-up: another track's session of the kind a participant missed."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import can_schedule
from authorizations.models import OverrideAction
from authorizations.selectors import booking_warnings
from authorizations.services import authorization_overrides_record
from sessions.selectors.makeups import makeup_of, makeup_options
from sessions.services.makeups import makeup_book, makeup_cancel
from staff.access import get_attendance_or_404, sessions_for, staff_required


@staff_required
@require_http_methods(["GET", "POST"])
def makeup_book_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the sessions that could make up for missed attendance `pk`; POST: book one."""
    if not can_schedule(request.user):
        raise PermissionDenied(_("Your role does not allow this."))
    missed = get_attendance_or_404(request.user, pk)
    participant = missed.participant
    enrollment = missed.enrollment
    if request.method == "POST":
        session = (sessions_for(request.user).select_related("session_type")
                   .filter(pk=request.POST.get("session") or 0).first())
        warnings = _authorization_warnings(enrollment, session, participant)
        if warnings and not request.POST.get("book_anyway"):
            # Past the authorization: show the figures first; staff may still book (recorded).
            return render(request, "staff/participants/makeup.html", {
                "participant": participant, "missed": missed, "options": [],
                "warned_session": session, "warnings": warnings})
        try:
            if session is None:
                raise ValidationError(_("Choose one of the sessions listed."), code="no_session")
            with transaction.atomic():
                makeup_book(participant=participant, session=session, missed=missed,
                            by=request.user)
                authorization_overrides_record(enrollment=enrollment, action=OverrideAction.BOOK,
                                               warnings=warnings, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Booked as a make-up: %(session)s.") % {
                "session": session.title or session.session_type.name})
            for warning in warnings:
                messages.warning(request, _("Booked past the authorization: %(warning)s")
                                 % {"warning": warning.message})
            return redirect("participant_chart", code=participant.code)
    # Already made up (booked or attended): say which, offer nothing until it is cancelled.
    made_up = makeup_of(missed)
    options = (makeup_options(enrollment=enrollment, kind=missed.session.kind,
                              now=timezone.now())
               if made_up is None and enrollment is not None and enrollment.status == "active"
               else [])
    return render(request, "staff/participants/makeup.html", {
        "participant": participant, "missed": missed, "options": options,
        "made_up": made_up})


def _authorization_warnings(enrollment, session, participant) -> list:
    """A make-up uses the participant's own authorization: the same warnings as booking a
    personal session, for that one date (the make-up's units and date, with the figures)."""
    if enrollment is None or session is None or enrollment.status != "active":
        return []
    return booking_warnings(
        enrollment=enrollment, service_code=session.session_type.service_code,
        dates=[session.local_date], minutes=session.duration_minutes,
        today=timezone.now().astimezone(participant.home_site.zone).date())


@staff_required
@require_POST
def makeup_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Take back make-up `pk` before it starts; the miss it was for is offered one again."""
    if not can_schedule(request.user):
        raise PermissionDenied(_("Your role does not allow this."))
    makeup = get_attendance_or_404(request.user, pk)
    try:
        makeup_cancel(attendance=makeup, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The make-up is cancelled; its seat is free again."))
    return redirect("participant_chart", code=makeup.participant.code)
