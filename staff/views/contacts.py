"""Staff pages about a participant's family contacts, the disclosure consents to tell them
about appointments, and marking a contact's attendance at a family session (from the roster).

Directors and front desk edit (`can_enroll`), as for the participant's own consents; the chart
shows every staff role the contacts. Objects come through the access layer: another site's
participant (and so their contacts) is a 404.
"""
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import can_enroll, can_mark_attendance
from iop_clinic.forms import add_service_errors
from participants.models import Contact, DisclosureConsent
from participants.services_contacts import (
    CONTACT_FIELDS,
    contact_create,
    contact_remove,
    contact_update,
    disclosure_consent_record,
    disclosure_consent_revoke,
    participant_is_minor,
)
from sessions.services.contact_attendance import contact_attendance_mark
from staff.access import get_participant_or_404, get_session_or_404, staff_required
from staff.forms.contacts import ContactForm, DisclosureConsentForm, RevokeForm


def _require_editor(request: HttpRequest) -> None:
    if not can_enroll(request.user):
        raise PermissionDenied(_("Your role does not allow this."))


def _contact_or_404(request: HttpRequest, code, pk: int) -> Contact:
    participant = get_participant_or_404(request.user, code)
    contact = get_object_or_404(Contact, pk=pk, participant=participant, removed_at__isnull=True)
    contact.participant = participant
    return contact


def _to_chart(participant) -> HttpResponse:
    return redirect(reverse("participant_chart", args=[participant.code]) + "#contacts-heading")


@staff_required
@require_http_methods(["GET", "POST"])
def contact_new(request: HttpRequest, code) -> HttpResponse:
    _require_editor(request)
    participant = get_participant_or_404(request.user, code)
    return _contact_form(request, participant=participant, contact=None)


@staff_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, code, pk: int) -> HttpResponse:
    _require_editor(request)
    contact = _contact_or_404(request, code, pk)
    return _contact_form(request, participant=contact.participant, contact=contact)


def _contact_form(request, *, participant, contact) -> HttpResponse:
    initial = {"language": "en", "reminder_channels": "email"}
    if contact is not None:
        initial = {name: getattr(contact, name) for name in CONTACT_FIELDS}
        initial["sms_consent"] = contact.has_sms_consent
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in CONTACT_FIELDS}
        try:
            if contact is None:
                contact_create(participant=participant, data=data,
                               sms_consent=form.cleaned_data["sms_consent"])
            else:
                contact_update(contact=contact, data=data,
                               sms_consent=form.cleaned_data["sms_consent"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Contact saved."))
            return _to_chart(participant)
    return render(request, "staff/participants/contact_form.html", {
        "form": form, "participant": participant, "contact": contact})


@staff_required
@require_POST
def contact_remove_view(request: HttpRequest, code, pk: int) -> HttpResponse:
    _require_editor(request)
    contact = _contact_or_404(request, code, pk)
    contact_remove(contact=contact, by=request.user)
    messages.success(request, _("Contact removed; nothing more will be sent to them."))
    return _to_chart(contact.participant)


@staff_required
@require_http_methods(["GET", "POST"])
def disclosure_new(request: HttpRequest, code, pk: int) -> HttpResponse:
    """Record the participant's signed consent to tell this contact about appointments."""
    _require_editor(request)
    contact = _contact_or_404(request, code, pk)
    participant = contact.participant
    form = DisclosureConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            disclosure_consent_record(contact=contact, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Consent recorded."))
            return _to_chart(participant)
    today = form.fields["signed_on"].initial
    return render(request, "staff/participants/disclosure_form.html", {
        "form": form, "participant": participant, "contact": contact,
        "minor": participant_is_minor(participant=participant, day=today)})


@staff_required
@require_POST
def disclosure_revoke(request: HttpRequest, code, pk: int) -> HttpResponse:
    _require_editor(request)
    participant = get_participant_or_404(request.user, code)
    consent = get_object_or_404(DisclosureConsent.objects.select_related("contact"), pk=pk,
                                contact__participant=participant)
    form = RevokeForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    if disclosure_consent_revoke(consent=consent, by=request.user, reason=reason):
        messages.success(request, _("Consent revoked; nothing more will be sent to %(name)s.")
                         % {"name": consent.contact.name})
    else:
        messages.info(request, _("That consent was already revoked."))
    return _to_chart(participant)


@staff_required
@require_POST
def contact_attendance_mark_view(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    """The roster's "came" / "did not come" for a family contact at a family session."""
    if not can_mark_attendance(request.user):
        raise PermissionDenied(_("Your role does not allow this."))
    session = get_session_or_404(request.user, pk)
    contact = get_object_or_404(Contact, pk=contact_pk, participant_id=session.participant_id,
                                removed_at__isnull=True)
    try:
        contact_attendance_mark(session=session, contact=contact,
                                status=request.POST.get("status", ""), by=request.user)
    except ValidationError as error:
        messages.error(request, _("Nothing was changed: %(errors)s") % {
            "errors": " ".join(error.messages)})
    return redirect(reverse("roster", args=[session.pk]) + "#family-contacts-heading")
