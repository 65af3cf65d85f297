"""The staff home: the Today board."""
from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import can_enroll, can_mark_attendance, can_write_clinical_notes

from authorizations.selectors import authorization_alerts_first
from staff.access import site_ids_for, staff_required
from staff.forms.care import DayForm
from staff import today_rows
from sessions.selectors import care, pages
from reminders import selectors as reminder_reads
from reminders.health import outbox_vitals
from reports.tally import SESSION_COUNTS
from sessions.selectors.ledger import people_at_risk

ALERTS_SHOWN = 25


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """The day's sessions at my sites in time order, and the open follow-ups."""
    site_ids = site_ids_for(request.user)
    may_review_excuses = can_write_clinical_notes(request.user)
    followups_mine = pages.default_followup_assignee(request.user) == "me"
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
    # Directors see what /healthz says about the outbox (two queries), so a stall is noticed by
    # someone who can act on it even where nobody watches a monitor.
    outbox = outbox_vitals() if request.user.is_director else None
    alerts, alert_count = authorization_alerts_first(site_ids=site_ids, today=today,
                                                     shown=ALERTS_SHOWN)
    # The box's follow-ups (mine, or everyone's) and how many are open at my sites, in one
    # statement.
    followups, open_followup_count = pages.open_followups_and_count(
        site_ids=site_ids, assignee=request.user if followups_mine else None)
    # The day list's counts and the at-risk box's clock-dependent rows read the attendance
    # tally that reports keeps (SESSION_COUNTS), handed in: sessions may not import reports.
    return render(request, "staff/today/board.html", {
        "outbox": outbox if outbox and outbox.degraded else None,
        "form": form, "day": day, "today": today,
        "previous_day": day - timedelta(days=1), "next_day": day + timedelta(days=1),
        "session_items": today_rows.session_items(
            today_rows.session_rows(pages.day_sessions(site_ids=site_ids, day=day,
                                                       counts=SESSION_COUNTS)),
            name_sites=len(site_ids) > 1),
        "followups_mine": followups_mine,
        "followup_items": today_rows.followup_items(today_rows.followup_rows(followups)),
        "open_followup_count": open_followup_count,
        "can_mark": can_mark_attendance(request.user),
        "at_risk": today_rows.at_risk_rows(people_at_risk(site_ids=site_ids, today=today,
                                                          counts=SESSION_COUNTS)),
        "pending_excuses": (today_rows.excuse_rows(care.pending_excuses(site_ids=site_ids))
                            if may_review_excuses else []),
        "offered_seats": today_rows.offer_rows(care.offered_seats(site_ids=site_ids)),
        "failed_reminder_items": today_rows.failed_reminder_items(today_rows.failed_reminder_rows(
            reminder_reads.failed_reminders(site_ids=site_ids, today=today))),
        # The first ALERTS_SHOWN, and how many more the report has.
        "authorization_alert_items": today_rows.alert_items(today_rows.alert_rows(alerts)),
        "authorization_alerts_more": max(alert_count - ALERTS_SHOWN, 0),
        "can_enroll": can_enroll(request.user),
        "can_review_excuses": may_review_excuses,
    })
