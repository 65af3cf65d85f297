"""Staff pages reached from the chart and Today: portal invitations and excuse review."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.roles import Role
from participants import portal_accounts
from sessions.models import ExcusedAbsenceRequest
from sessions.services.excuses import excuse_approve, excuse_decline
from staff.access import get_participant_or_404, role_required, site_ids_for, staff_required
from staff.forms.care import ExcuseDeclineForm


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _next_or(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def _staff_excuse(request, code) -> ExcusedAbsenceRequest:
    return get_object_or_404(
        ExcusedAbsenceRequest.objects.filter(
            attendance__session__site_id__in=site_ids_for(request.user))
        .select_related("attendance__participant", "attendance__session__site",
                        "attendance__session__room", "attendance__session__session_type",
                        "decided_by"),
        code=code)


# Answering an excuse request is a clinical decision: clinicians and directors only.
clinical_required = role_required(Role.CLINICIAN)


@require_POST
@staff_required
def staff_invite(request, code):
    participant = get_participant_or_404(request.user, code)
    try:
        portal_accounts.portal_invite(participant=participant, by=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, "Portal invitation sent.")
    return redirect(_next_or(request, f"/participants/{participant.code}/"))


@never_cache
@clinical_required
def staff_excuse_review(request, code):
    excuse_obj = _staff_excuse(request, code)
    attendance = excuse_obj.attendance
    with timezone.override(attendance.session.site.zone):
        return render(request, "staff/excuses/excuse_review.html", {
            "excuse": excuse_obj, "attendance": attendance,
            "starts": attendance.session.starts_at,
            "decline_form": ExcuseDeclineForm(), "next": request.GET.get("next", ""),
        })


@require_POST
@clinical_required
def staff_excuse_approve(request, code):
    excuse_obj = _staff_excuse(request, code)
    try:
        excuse_approve(request=excuse_obj, by=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, "Absence excused.")
    return redirect(_next_or(request, reverse("excuse_review", args=[code])))


@require_POST
@clinical_required
def staff_excuse_decline(request, code):
    excuse_obj = _staff_excuse(request, code)
    form = ExcuseDeclineForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Please keep the note under 300 characters.")
        return redirect(reverse("excuse_review", args=[code]))
    try:
        excuse_decline(request=excuse_obj, by=request.user, note=form.cleaned_data["note"])
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, "Request declined.")
    return redirect(_next_or(request, reverse("excuse_review", args=[code])))
