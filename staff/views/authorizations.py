"""Staff pages about payer authorizations: record and change them, set an enrollment's payer,
the utilization-review packet and the report of authorizations ending or running out.

Directors and front desk edit (`can_enroll`); every staff role reads. Objects come through the
access layer, so another site's enrollment or authorization is a 404.
"""
from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import can_enroll
from audit.services import audit_access
from authorizations.selectors import authorization_figures, authorizations_ending, coverage_of
from authorizations.services import authorization_save, coverage_set
from iop_clinic.forms import add_service_errors
from programs.selectors import site_today
from sessions.selectors.ledger import hours_ledger
from staff.access import (
    get_authorization_or_404,
    get_enrollment_or_404,
    get_participant_or_404,
    site_ids_for,
    staff_required,
)
from staff.forms.authorizations import AuthorizationForm, CoverageForm

EXPIRING_DAYS = 14


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"))


def _require_editor(request: HttpRequest) -> None:
    if not can_enroll(request.user):
        raise PermissionDenied(_("Your role does not allow this."))


def _chart(participant) -> HttpResponse:
    return redirect("participant_chart", code=participant.code)


@staff_required
@require_http_methods(["GET", "POST"])
def authorization_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Record an authorization for enrollment `pk`."""
    _require_editor(request)
    enrollment = get_enrollment_or_404(request.user, pk)
    return _authorization_form(request, enrollment=enrollment, authorization=None)


@staff_required
@require_http_methods(["GET", "POST"])
def authorization_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    authorization = get_authorization_or_404(request.user, pk)
    enrollment = get_enrollment_or_404(request.user, authorization.enrollment_id)
    return _authorization_form(request, enrollment=enrollment, authorization=authorization)


def _authorization_form(request, *, enrollment, authorization) -> HttpResponse:
    participant = enrollment.participant
    if authorization is not None:
        initial = {name: getattr(authorization, name) for name in (
            "member_id", "number", "status", "level_of_care", "unit", "service_code",
            "units_authorized", "start_date", "end_date", "next_review_date", "note")}
        initial["payer"] = authorization.payer_id
    else:
        coverage = coverage_of(enrollment=enrollment)
        initial = {"start_date": enrollment.admission_date,
                   "end_date": enrollment.planned_end_date,
                   "level_of_care": enrollment.track.program.level_of_care,
                   "service_code": "H0015", "unit": "day"}
        if coverage is not None:
            initial.update(payer=coverage.payer_id, member_id=coverage.member_id)
    form = AuthorizationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            authorization_save(enrollment=enrollment, authorization=authorization,
                               by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Authorization saved."))
            return _chart(participant)
    return render(request, "staff/authorizations/authorization_form.html", {
        "form": form, "enrollment": enrollment, "participant": participant,
        "authorization": authorization})


@staff_required
@require_http_methods(["GET", "POST"])
def coverage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Set the payer enrollment `pk` is billed to."""
    _require_editor(request)
    enrollment = get_enrollment_or_404(request.user, pk)
    current = coverage_of(enrollment=enrollment)
    initial = {"payer": current.payer_id, "member_id": current.member_id} if current else {}
    form = CoverageForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            coverage_set(enrollment=enrollment, payer=form.cleaned_data["payer"],
                         member_id=form.cleaned_data["member_id"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Payer saved."))
            return _chart(enrollment.participant)
    return render(request, "staff/authorizations/coverage_form.html", {
        "form": form, "enrollment": enrollment, "participant": enrollment.participant})


@staff_required
def review_packet(request: HttpRequest, code) -> HttpResponse:
    """One printable page for a utilization review: hours by week against the minimum,
    excused absences and the authorization history of the participant's latest enrollment."""
    participant = get_participant_or_404(request.user, code)
    today = site_today(site=participant.home_site)
    enrollment = (participant.enrollments.select_related("track__program", "track__site")
                  .order_by("-admission_date", "-pk").first())
    ledger = hours_ledger(enrollment=enrollment, today=today) if enrollment else None
    figures = authorization_figures(enrollment_ids=[enrollment.pk] if enrollment else [],
                                    today=today)
    coverage = coverage_of(enrollment=enrollment) if enrollment else None
    audit_access(request=request, obj=participant, what="utilization review packet")
    return render(request, "staff/authorizations/review_packet.html", {
        "participant": participant, "enrollment": enrollment, "ledger": ledger,
        "authorizations": figures, "coverage": coverage, "today": today,
        "weeks": [{"week": week, "excused_hours": _hours(week.excused_minutes)}
                  for week in (ledger.weeks if ledger else [])],
        "printed_by": request.user})


@staff_required
def authorizations_expiring(request: HttpRequest) -> HttpResponse:
    """Approved authorizations at my sites that end or run out in the next 14 days."""
    today = timezone.localdate()
    return render(request, "staff/authorizations/expiring.html", {
        "rows": authorizations_ending(site_ids=site_ids_for(request.user), today=today,
                                      days=EXPIRING_DAYS),
        "today": today, "until": today + timedelta(days=EXPIRING_DAYS), "days": EXPIRING_DAYS,
    })
