"""Portal pages. Each view: find the visitor's own object through `access`, call one service."""
import hashlib
import json
import re

from axes.helpers import get_client_ip_address
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from iop_clinic.links import public_url
from accounts.lockout import lockout_response, user_is_locked_out
from audit.services import audit_access
from participants.models import PortalLinkPurpose
from sessions.selectors.offers import open_offer_by_link, open_offers_for
from sessions.services.excuses import excuse_request
from sessions.services.offers import seat_offer_answer, seat_offer_answer_by_link

from participants import portal_accounts as services

from . import selectors
from .record import participant_record, record_content, record_filename
from .schedule_rows import reminder_rows, reminders_html, schedule_rows
from .access import participant_required
from .feed import feed_render
from .forms import (
    CalendarAddressForm, ExcuseRequestForm, LanguageForm, PortalSetPasswordForm, ReminderPreferencesForm,
    SignInLinkForm,
)


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- Participant pages --------------------------------------------------------------------

@never_cache
@participant_required
def home(request):
    audit_access(request=request, obj=request.participant, what="portal: schedule")
    state = selectors.portal_state(participant=request.participant)
    now = timezone.now()
    # Only what the page shows: the visits ahead and the latest few past ones; with them, the
    # hours ledger's rows for the progress card.
    visits = selectors.home_visits_for(state=state, now=now)
    schedule = selectors.schedule_for(state=state, visits=visits.ahead, history=visits.past,
                                      now=now)
    return render(request, "portal/home.html", {
        "state": state,
        "schedule": schedule_rows(schedule),
        "progress": selectors.progress_for(state=state, now=now,
                                           ledger_rows=visits.ledger_rows),
        "nav": "home",
    })


@never_cache
@participant_required
def progress(request):
    audit_access(request=request, obj=request.participant, what="portal: progress")
    state = selectors.portal_state(participant=request.participant)
    return render(request, "portal/progress.html", {
        "state": state, "progress": selectors.progress_for(state=state), "nav": "progress",
    })


@never_cache
@participant_required
@require_http_methods(["GET", "POST"])
def reminders(request):
    participant = request.participant
    audit_access(request=request, obj=participant, what="portal: reminder settings")
    sms_consent = services.sms_consent_standing(participant)
    form = ReminderPreferencesForm(initial={
        "channels": participant.reminder_channels, "sms_consent": sms_consent,
    })
    language_form = LanguageForm(initial={"language": participant.language})
    if request.method == "POST" and request.POST.get("action") == "language":
        language_form = LanguageForm(request.POST)
        if language_form.is_valid():
            services.participant_language_set(
                participant=participant, language=language_form.cleaned_data["language"])
            # The confirmation already in the language just chosen.
            with translation.override(participant.language):
                messages.success(request, _("Your language is saved."))
            return redirect("portal-reminders")
    elif request.method == "POST":
        form = ReminderPreferencesForm(request.POST)
        if form.is_valid():
            try:
                services.reminder_preferences_update(
                    participant=participant, channels=form.cleaned_data["channels"],
                    sms_consent=form.cleaned_data["sms_consent"])
            except ValidationError as error:
                field = "sms_consent" if error.code == "sms_needs_consent" else "channels"
                form.add_error(field, error)
            else:
                messages.success(request, _("Your reminder settings are saved."))
                return redirect("portal-reminders")
    upcoming = reminder_rows(selectors.upcoming_reminders_for(participant=participant))
    return render(request, "portal/reminders.html", {
        "form": form, "language_form": language_form, "participant": participant,
        "nav": "reminders", "sms_consent": sms_consent,
        "upcoming_reminders": upcoming, "upcoming_reminders_html": reminders_html(upcoming),
    })


@never_cache
@participant_required
@require_http_methods(["GET", "POST"])
def calendar(request):
    """Post/redirect/get: a new link is made on POST, then shown once on the GET that follows.

    We keep only a hash of the token, so the raw one waits in the participant's server-side
    session for that one GET; reloading the page shows nothing new and re-issues nothing.
    """
    participant = request.participant
    audit_access(request=request, obj=participant, what="portal: calendar feed")
    if request.method == "POST":
        if request.POST.get("action") == "off":
            services.calendar_token_revoke(participant=participant)
            request.session.pop(_NEW_FEED_TOKEN, None)
            messages.success(request, _("Your calendar link is turned off."))
        elif request.POST.get("action") == "address":
            form = CalendarAddressForm(request.POST)
            if form.is_valid():
                services.calendar_address_set(participant=participant,
                                              shows=form.cleaned_data["shows_address"])
                messages.success(request, _("Your calendar setting is saved."))
        else:
            token = services.calendar_token_regenerate(participant=participant)
            request.session[_NEW_FEED_TOKEN] = token
        return redirect("portal-calendar")
    token = request.session.pop(_NEW_FEED_TOKEN, None)
    new_url = public_url(reverse("portal-feed", args=[token])) if token else None
    return render(request, "portal/calendar.html", {
        "participant": participant, "new_url": new_url,
        "webcal_url": re.sub(r"^https?://", "webcal://", new_url) if new_url else None,
        "has_feed": bool(participant.calendar_token), "nav": "calendar",
        # The tick box is written by the template: it needs the field's words and the
        # setting, not a form (building one deep-copies its fields on every view).
        "address_field": CalendarAddressForm.base_fields["shows_address"],
        "shows_address": participant.calendar_shows_address,
    })


_NEW_FEED_TOKEN = "portal_new_feed_token"


@never_cache
@participant_required
@require_http_methods(["GET", "POST"])
def excuse(request, session_id: int):
    state = selectors.portal_state(participant=request.participant)
    visit = selectors.visit_for(state=state, session_id=session_id)
    if visit is None:
        raise Http404
    audit_access(request=request, obj=request.participant, what="portal: excuse request")
    form = ExcuseRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            excuse_request(attendance=visit.attendance, reason=form.cleaned_data["reason"],
                           by=request.user)
        except ValidationError as error:
            form.add_error("reason" if error.code.startswith("reason") else None, error)
        else:
            messages.success(request, _("Thank you. We will let you know our answer here."))
            return redirect("portal-home")
    return render(request, "portal/excuse.html", {
        "visit": visit, "form": form, "state": state, "nav": "home",
    })


# What a one-time page says when a rule refuses the answer (a full track, care elsewhere):
# the rule's own words are written for staff.
_CALL_US = gettext_lazy("We could not take your answer online. Please call us at {phone}.")


def _answer(request) -> bool | None:
    """The button pressed: True (accept), False (decline), None (neither)."""
    return {"accept": True, "decline": False}.get(request.POST.get("answer", ""))


@never_cache
@participant_required
@require_http_methods(["GET", "POST"])
def offer(request):
    """The participant's open seat offers, each with "Yes, I take this place" and "No"."""
    participant = request.participant
    audit_access(request=request, obj=participant, what="portal: seat offer")
    if request.method == "POST":
        accept, offer_id = _answer(request), request.POST.get("offer", "")
        if accept is None or not offer_id.isdigit():
            return HttpResponse(status=400)
        try:
            seat_offer_answer(participant=participant, enrollment_id=int(offer_id),
                              accept=accept, by=request.user)
        except ValidationError as error:
            text = (_error_text(error) if error.code == "offer_closed"
                    else _CALL_US.format(phone=participant.home_site.phone))
            messages.error(request, text)
            return redirect("portal-offer")
        messages.success(request, _("The place is yours. See you soon!") if accept
                         else _("Thank you. We passed the place on; you stay on the waiting list."))
        return redirect("portal-home" if accept else "portal-offer")
    return render(request, "portal/offer.html", {
        "offers": open_offers_for(participant=participant), "nav": "home"})


@never_cache
@require_http_methods(["GET", "POST"])
def offer_link(request, token: str):
    """Answer a seat offer once without signing in. GET only shows the offer and two buttons
    (mail scanners that open links must not answer); nothing clinical is on the page."""
    link = services.seat_offer_link_find(token=token)
    offer = link and open_offer_by_link(enrollment_id=link.enrollment_id,
                                        link_created_at=link.created_at)
    if offer is None:
        return _link_invalid(request, offer=True, token=token)
    participant = link.participant
    audit_access(request=request, obj=participant, what="portal: seat offer link")
    context = {"offer": offer, "alias": offer.site_alias}
    with timezone.override(participant.zone):
        if request.method == "POST":
            accept = _answer(request)
            if accept is None:
                return HttpResponse(status=400)
            try:
                seat_offer_answer_by_link(token=token, accept=accept)
            except ValidationError as error:
                # Answered meanwhile (through the other message's link, or by staff).
                if error.code in ("link_invalid", "offer_closed", "not_waitlisted", "no_offer"):
                    return _link_invalid(request, offer=True, token=token)
                context["error"] = _CALL_US.format(phone=offer.site_phone)
            else:
                return _no_referrer(render(request, "portal/offer_answered.html", {
                    "accepted": accept, "phone": offer.site_phone, "alias": offer.site_alias}))
        return _no_referrer(render(request, "portal/offer_link.html", context))


def _no_referrer(response):
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@participant_required
@require_http_methods(["GET"])
def my_record(request):
    participant = request.participant
    audit_access(request=request, obj=participant, what="portal: record download")
    now = timezone.now()
    record = participant_record(participant=participant, now=now)
    response = HttpResponse(json.dumps(record, indent=2, ensure_ascii=False),
                            content_type="application/json; charset=utf-8")
    filename = record_filename(today=now.astimezone(participant.zone).date())
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@participant_required
@require_http_methods(["GET"])
def my_record_readable(request):
    """The same record as a page to read, print or save as PDF (the browser's own print)."""
    participant = request.participant
    audit_access(request=request, obj=participant, what="portal: record, readable copy")
    return _no_referrer(render(request, "portal/record.html", {
        "record": record_content(participant=participant, codes=True),
    }))


def feed(request, token: str):
    state = selectors.feed_state(token_hash=services.token_hash(token))
    if state is None:
        raise Http404
    body = feed_render(participant=state.participant,
                       events=selectors.feed_events_for(state=state, now=timezone.now()))
    # Calendar apps poll the feed: one that sends back the ETag of what it already has gets a
    # 304 without the text. The ETag is a hash of the text just written from the database, so
    # it can never stand for an older schedule (nothing is cached on the server).
    etag = quote_etag(hashlib.blake2b(body, digest_size=16).hexdigest())
    response = (get_conditional_response(request, etag=etag)
                or HttpResponse(body, content_type="text/calendar; charset=utf-8"))
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=900"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- Invitation and sign-in links ---------------------------------------------------------

def _link_invalid(request, *, offer: bool = False, token: str = ""):
    site = services.seat_offer_link_site(token=token) if offer and token else None
    return render(request, "portal/link_invalid.html", {
        "offer": offer, "alias": site.public_alias if site else "",
        "phone": site.phone if site else ""}, status=410)


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request, token: str):
    link = services.portal_link_find(token=token, purpose=PortalLinkPurpose.INVITATION)
    if link is None:
        return _link_invalid(request)
    form = PortalSetPasswordForm(link.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.portal_invitation_accept(token=token, set_password_form=form)
        except ValidationError:
            return _link_invalid(request)
        login(request, link.user, backend="accounts.backends.UserBackend")
        messages.success(request, _("Your password is set. Welcome!"))
        return redirect("portal-home")
    response = render(request, "portal/invitation.html", {
        "form": form, "link": link, "alias": link.participant.home_site.public_alias})
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_link_request(request):
    form = SignInLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.portal_sign_in_link_request(email=form.cleaned_data["email"],
                                             client=get_client_ip_address(request) or "")
        return render(request, "portal/sign_in_link_sent.html")
    return render(request, "portal/sign_in_link_request.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request, token: str):
    # GET only shows a button: mail scanners that open links must not spend them.
    link = services.portal_link_find(token=token, purpose=PortalLinkPurpose.SIGN_IN)
    if link is None:
        return _link_invalid(request)
    if request.method == "POST":
        if user_is_locked_out(request, link.user):
            # Someone is guessing this password: the lockout stands for every way in, and the
            # link stays unspent for when it ends.
            return lockout_response(request)
        try:
            link = services.portal_link_use(token=token, purpose=PortalLinkPurpose.SIGN_IN)
        except ValidationError:
            return _link_invalid(request)
        login(request, link.user, backend="accounts.backends.UserBackend")
        return redirect("portal-home")
    response = render(request, "portal/sign_in_confirm.html")
    response["Referrer-Policy"] = "no-referrer"
    return response
