"""Staff pages that change a participant's care: intake, profile and consent, the waitlist,
holds, discharge with continuing care, personal sessions and cancelling a session.

Each view checks the role (templates hide the same buttons), fetches objects through the access
layer (another site's object is a 404), parses a form, calls one service and redirects; a
service's ValidationError lands on the form and nothing is written.
"""
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.utils.formats import date_format

from accounts.access import can_discharge, can_enroll, can_schedule

from staff.access import get_enrollment_or_404, get_participant_or_404, get_session_or_404, site_ids_for, sites_for, staff_required, tracks_for
from accounts.roles import Role
from iop_clinic.forms import add_service_errors
from participants.services import consent_give, consent_revoke, participant_update
from staff.forms.programs import staff_at
from programs.models import Room, SessionKind, SessionType

from staff.forms.care import (
    SessionChangeForm,
    ConsentChangeForm,
    DischargeForm,
    IntakeForm,
    ParticipantEditForm,
    PersonalSessionForm,
    ReasonForm,
    SessionCancelForm,
)
from sessions.services.discharge import enrollment_discharge_with_followups
from sessions.services.enrollment import (
    enrollment_admit_from_waitlist,
    enrollment_decline_offer,
    enrollment_hold,
    enrollment_resume,
)
from sessions.services.intake import participant_intake
from sessions.services.schedule import personal_session_schedule, session_cancel
from sessions.services.session_change import session_change
from reminders.selectors import notice_people_count
from authorizations.models import OverrideAction
from authorizations.selectors import (
    active_enrollment_of,
    admission_warnings,
    booking_dates,
    booking_warnings,
    resume_warnings,
)
from authorizations.services import authorization_overrides_record



def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("Your role does not allow this."))


def _clinicians(site_ids):
    return staff_at(site_ids, [Role.CLINICIAN, Role.DIRECTOR])


def _chart(participant) -> HttpResponse:
    return redirect("participant_chart", code=participant.code)


# --- Intake --------------------------------------------------------------------------------

@staff_required
@require_http_methods(["GET", "POST"])
def participant_intake_view(request: HttpRequest) -> HttpResponse:
    _require(can_enroll(request.user))
    site_ids = site_ids_for(request.user)
    tracks = (tracks_for(request.user).filter(is_active=True)
              .select_related("program", "site").order_by("site__name", "name"))
    initial = {"admission_date": timezone.localdate(), "consent_source": "intake",
               "home_site": site_ids[0] if site_ids else None}
    if request.GET.get("track", "").isdigit():
        initial["track"] = request.GET["track"]
    form = IntakeForm(request.POST or None, sites=sites_for(request.user).order_by("name"),
                      tracks=tracks, clinicians=_clinicians(site_ids), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = participant_intake(
                record_number=data["record_number"], first_name=data["first_name"],
                last_name=data["last_name"], home_site=data["home_site"], track=data["track"],
                admission_date=data["admission_date"], date_of_birth=data["date_of_birth"],
                email=data["email"], phone=data["phone"],
                primary_clinician=data["primary_clinician"],
                reminder_channels=data["reminder_channels"], language=data["language"],
                consent_channels=form.consent_channels(), consent_source=data["consent_source"],
                by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if result.waitlist_position:
                messages.warning(request, _(
                    "%(track)s is full: %(name)s is number %(position)s on the waitlist.") % {
                    "track": data["track"].name, "name": result.participant.full_name,
                    "position": result.waitlist_position})
            else:
                messages.success(request, _("%(name)s is enrolled in %(track)s.") % {
                    "name": result.participant.full_name, "track": data["track"].name})
            return _chart(result.participant)
    return render(request, "staff/participants/intake.html", {"form": form})


# --- Profile and consent -------------------------------------------------------------------

@staff_required
@require_http_methods(["GET", "POST"])
def participant_edit(request: HttpRequest, code) -> HttpResponse:
    _require(can_enroll(request.user))
    participant = get_participant_or_404(request.user, code)
    site_ids = site_ids_for(request.user)
    form = ParticipantEditForm(request.POST or None, instance=participant,
                               sites=sites_for(request.user).order_by("name"),
                               clinicians=_clinicians(site_ids))
    consent_form = ConsentChangeForm(prefix="consent")
    if request.method == "POST" and form.is_valid():
        fresh = get_participant_or_404(request.user, code)
        try:
            participant_update(participant=fresh, data={
                name: form.cleaned_data[name] for name in form.Meta.fields})
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Profile saved."))
            return _chart(fresh)
    return render(request, "staff/participants/edit.html", {
        "form": form, "consent_form": consent_form, "participant": participant,
        "consents": list(participant.consents.order_by("channel", "-given_at")),
    })


@staff_required
@require_POST
def participant_consent(request: HttpRequest, code) -> HttpResponse:
    _require(can_enroll(request.user))
    participant = get_participant_or_404(request.user, code)
    form = ConsentChangeForm(request.POST, prefix="consent")
    if form.is_valid():
        data = form.cleaned_data
        channel_label = dict(form.fields["channel"].choices)[data["channel"]]
        try:
            if data["action"] == "give":
                consent_give(participant=participant, channel=data["channel"],
                             source=data["source"])
                messages.success(request, _("%(channel)s consent recorded.") % {
                    "channel": channel_label})
            elif consent_revoke(participant=participant, channel=data["channel"],
                                source=data["source"]):
                messages.success(request, _("%(channel)s consent revoked.") % {
                    "channel": channel_label})
            else:
                messages.info(request, _("There was no %(channel)s consent to revoke.") % {
                    "channel": channel_label})
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    else:
        messages.error(request, _("Nothing was changed: choose a channel, a change and how."))
    return redirect("participant_edit", code=participant.code)


# --- The waitlist --------------------------------------------------------------------------

def _back_to(request, enrollment) -> HttpResponse:
    if request.POST.get("next") == "track":
        return redirect("track_detail", pk=enrollment.track_id)
    if request.POST.get("next") == "home":
        return redirect("home")
    return _chart(enrollment.participant)


@staff_required
@require_POST
def waitlist_admit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(can_enroll(request.user))
    enrollment = get_enrollment_or_404(request.user, pk)
    today = timezone.now().astimezone(enrollment.track.site.zone).date()
    warnings = (admission_warnings(enrollment=enrollment, today=today)
                if enrollment.status == "waitlisted" else [])
    if warnings and not request.POST.get("admit_anyway"):
        # Past the authorization: show the figures first; staff may still admit (recorded).
        return render(request, "staff/authorizations/admit_confirm.html", {
            "enrollment": enrollment, "participant": enrollment.participant,
            "warnings": warnings, "next": request.POST.get("next", ""), "action": "admit"})
    try:
        with transaction.atomic():
            enrollment_admit_from_waitlist(enrollment=enrollment, by=request.user)
            authorization_overrides_record(enrollment=enrollment, action=OverrideAction.ADMIT,
                                           warnings=warnings, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(name)s is admitted to %(track)s from %(date)s.") % {
            "name": enrollment.participant.full_name, "track": enrollment.track.name,
            "date": date_format(enrollment.admission_date)})
    return _back_to(request, enrollment)


@staff_required
@require_POST
def waitlist_pass(request: HttpRequest, pk: int) -> HttpResponse:
    _require(can_enroll(request.user))
    enrollment = get_enrollment_or_404(request.user, pk)
    keep = request.POST.get("keep_on_waitlist") == "1"
    try:
        enrollment_decline_offer(enrollment=enrollment, keep_on_waitlist=keep, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The seat is offered to the next person waiting."))
    return _back_to(request, enrollment)


# --- Hold, resume, discharge ---------------------------------------------------------------

@staff_required
@require_http_methods(["GET", "POST"])
def enrollment_hold_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(can_enroll(request.user))
    enrollment = get_enrollment_or_404(request.user, pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            enrollment_hold(enrollment=enrollment, reason=form.cleaned_data["reason"],
                            by=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The enrollment is on hold; the seat stays theirs."))
            return _chart(enrollment.participant)
    return render(request, "staff/participants/enrollment_action.html", {
        "form": form, "enrollment": enrollment, "participant": enrollment.participant,
        "action": "hold"})


@staff_required
@require_POST
def enrollment_resume_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(can_enroll(request.user))
    enrollment = get_enrollment_or_404(request.user, pk)
    today = timezone.now().astimezone(enrollment.track.site.zone).date()
    warnings = (resume_warnings(enrollment=enrollment, today=today)
                if enrollment.status == "on_hold" else [])
    if warnings and not request.POST.get("resume_anyway"):
        # Resuming books the rest of the stay: past the authorization, show the figures
        # first; staff may still resume (recorded).
        return render(request, "staff/authorizations/admit_confirm.html", {
            "enrollment": enrollment, "participant": enrollment.participant,
            "warnings": warnings, "action": "resume"})
    try:
        with transaction.atomic():
            enrollment_resume(enrollment=enrollment, by=request.user)
            authorization_overrides_record(enrollment=enrollment, action=OverrideAction.RESUME,
                                           warnings=warnings, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The enrollment is active again."))
        for warning in warnings:
            messages.warning(request, _("Resumed past the authorization: %(warning)s")
                             % {"warning": warning.message})
    return _chart(enrollment.participant)


@staff_required
@require_http_methods(["GET", "POST"])
def enrollment_discharge_view(request: HttpRequest, pk: int) -> HttpResponse:
    enrollment = get_enrollment_or_404(request.user, pk)
    participant = enrollment.participant
    _require(can_discharge(request.user, participant))
    session_types = SessionType.objects.filter(
        kind__in=SessionKind.personal_kinds()).order_by("name")
    form = DischargeForm(request.POST or None, session_types=session_types,
                         initial={"discharge_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            enrollment_discharge_with_followups(
                enrollment=enrollment, discharge_date=data["discharge_date"],
                reason=data["reason"], note=data["note"], care_plan=form.care_plan(),
                followups=form.followups(), facilitator=request.user, by=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("%(name)s is discharged; the seat is offered to the "
                                        "next person waiting.") % {"name": participant.full_name})
            return _chart(participant)
    return render(request, "staff/participants/enrollment_action.html", {
        "form": form, "enrollment": enrollment, "participant": participant,
        "action": "discharge"})


# --- Personal sessions and cancelling ------------------------------------------------------

@staff_required
@require_http_methods(["GET", "POST"])
def personal_session_new(request: HttpRequest, code) -> HttpResponse:
    _require(can_schedule(request.user))
    participant = get_participant_or_404(request.user, code)
    site_ids = [participant.home_site_id]
    form = PersonalSessionForm(
        request.POST or None,
        session_types=SessionType.objects.filter(
            kind__in=SessionKind.personal_kinds()).order_by("name"),
        staff=_clinicians(site_ids),
        rooms=Room.objects.filter(site_id=participant.home_site_id).order_by("name"),
        initial={"facilitator": request.user.pk},
    )
    warnings = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        enrollment = active_enrollment_of(participant)
        warnings = _booking_warnings(participant, enrollment, data)
        if warnings and not request.POST.get("book_anyway"):
            # Past the authorization: show the figures; staff may still book (recorded).
            return render(request, "staff/participants/personal_session.html", {
                "form": form, "participant": participant, "warnings": warnings})
        try:
            with transaction.atomic():
                sessions = personal_session_schedule(
                    participant=participant, session_type=data["session_type"],
                    starts_at_local=data["starts_at_local"],
                    duration_minutes=data["duration_minutes"],
                    facilitator=data["facilitator"], room=data["room"], title=data["title"],
                    repeat_weekly=data["repeat_weekly"])
                authorization_overrides_record(enrollment=enrollment, action=OverrideAction.BOOK,
                                               warnings=warnings, by=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
            warnings = []
        else:
            messages.success(request, _("%(count)s session(s) booked.") % {
                "count": len(sessions)})
            for warning in warnings:
                messages.warning(request, _("Booked past the authorization: %(warning)s")
                                 % {"warning": warning.message})
            return _chart(participant)
    return render(request, "staff/participants/personal_session.html", {
        "form": form, "participant": participant, "warnings": warnings})


def _booking_warnings(participant, enrollment, data) -> list:
    if enrollment is None:
        return []
    session_type = data["session_type"]
    minutes = data["duration_minutes"] or session_type.default_duration_minutes
    dates = booking_dates(first=data["starts_at_local"].date(),
                          repeat_weekly=data["repeat_weekly"],
                          until=enrollment.planned_end_date)
    return booking_warnings(enrollment=enrollment, service_code=session_type.service_code,
                            dates=dates, minutes=minutes,
                            today=timezone.now().astimezone(participant.home_site.zone).date())


@staff_required
@require_http_methods(["GET", "POST"])
def session_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(can_schedule(request.user))
    session = get_session_or_404(request.user, pk)
    form = SessionCancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            session_cancel(session=session, reason=form.cleaned_data["reason"], by=request.user,
                           notify=form.cleaned_data["notify"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Session cancelled; everyone expected is released."))
            return redirect("roster", pk=session.pk)
    return render(request, "staff/sessions/session_cancel.html", {
        "form": form, "session": session,
        "notice_people": notice_people_count(session_ids=[session.pk])})


@staff_required
@require_http_methods(["GET", "POST"])
def session_change_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move one session (time, length, room, facilitator); clashes are named on the form."""
    _require(can_schedule(request.user))
    session = get_session_or_404(request.user, pk)
    local_start = session.starts_at.astimezone(session.site.zone)
    form = SessionChangeForm(
        request.POST or None, staff=_clinicians([session.site_id]),
        rooms=Room.objects.filter(site_id=session.site_id).order_by("name"),
        initial={"day": local_start.date(), "start_time": local_start.time(),
                 "duration_minutes": session.duration_minutes, "room": session.room_id,
                 "facilitator": session.facilitator_id})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session_change(session=session,
                           starts_at_local=datetime.combine(data["day"], data["start_time"]),
                           duration_minutes=data["duration_minutes"], room=data["room"],
                           facilitator=data["facilitator"], by=request.user,
                           notify=data["notify"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Session changed; reminders follow the new time."))
            return redirect("roster", pk=session.pk)
    return render(request, "staff/sessions/session_change.html", {
        "form": form, "session": session,
        "notice_people": notice_people_count(session_ids=[session.pk])})

