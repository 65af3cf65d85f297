"""Signing in and out, and the staff home: the Today board."""
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from iop_clinic.accounts.access import (
    can_enroll,
    can_mark_attendance,
    can_write_clinical_notes,
    site_ids_for,
    staff_required,
)
from portal.access import post_login_redirect
from sessions.forms import DayForm
from sessions.selectors import care, pages
from sessions.selectors import reminders as reminder_reads
from sessions.selectors.ledger import participants_at_risk


class SignInView(auth_views.LoginView):
    """One sign-in page for staff and participants; each lands in their own part."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return post_login_redirect(self.request.user)


class SignOutView(auth_views.LogoutView):
    pass


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """The day's sessions at my sites in time order, and the open follow-ups."""
    site_ids = site_ids_for(request.user)
    may_review_excuses = can_write_clinical_notes(request.user)
    today = timezone.localdate()  # the staff decorator made the user's site zone current
    form = DayForm(request.GET or None)
    day = today
    if form.is_bound:
        if form.is_valid():
            day = form.cleaned_data["date"] or today
        else:
            messages.warning(request, _("That is not a date; showing today instead."))
            form = DayForm(initial={"date": today})
    else:
        form = DayForm(initial={"date": today})
    return render(request, "today/board.html", {
        "form": form, "day": day, "today": today,
        "previous_day": day - timedelta(days=1), "next_day": day + timedelta(days=1),
        "sessions": pages.day_sessions(site_ids=site_ids, day=day),
        "my_followups": pages.open_followups(site_ids=site_ids, assignee=request.user, limit=20),
        "open_followup_count": pages.open_followup_count(site_ids=site_ids),
        "can_mark": can_mark_attendance(request.user),
        "at_risk": participants_at_risk(site_ids=site_ids, today=today),
        "pending_excuses": (care.pending_excuses(site_ids=site_ids)
                            if may_review_excuses else []),
        "offered_seats": care.offered_seats(site_ids=site_ids),
        "failed_reminders": reminder_reads.failed_reminders(site_ids=site_ids, today=today),
        "can_enroll": can_enroll(request.user),
        "can_review_excuses": may_review_excuses,
    })
