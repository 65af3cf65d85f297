"""Sign-in sheets on paper: a day's sessions at a site, one sheet a page."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from sessions.selectors.sheets import day_sheets
from staff.access import sites_for, staff_required
from staff.forms.sheets import SheetsForm

# Lines left blank under the names, for people added on the day.
BLANK_ROWS_UNDER_NAMES = 2
BLANK_ROWS_EMPTY_SHEET = 6


def blank_rows(count: int) -> range:
    return range(BLANK_ROWS_UNDER_NAMES if count else BLANK_ROWS_EMPTY_SHEET)


@staff_required
def sign_in_sheets(request: HttpRequest) -> HttpResponse:
    sites = list(sites_for(request.user).order_by("name"))
    today = timezone.localdate()  # the staff decorator made my first site's zone current
    form = SheetsForm(request.GET or None, sites=sites,
                      initial={"date": today, "site": sites[0].pk if sites else None})
    day, site = today, (sites[0] if sites else None)
    if form.is_bound and form.is_valid():
        day = form.cleaned_data["date"] or today
        chosen = form.cleaned_data["site"]
        site = next((s for s in sites if s.pk == chosen), site)
    sessions = day_sheets(site_id=site.pk, day=day) if site else []
    for session in sessions:
        session.sheet_blank_rows = blank_rows(len(session.sheet_rows))
    return render(request, "staff/sessions/sign_in_sheets.html", {
        "form": form, "day": day, "site": site, "sites": sites, "sessions": sessions,
        "printed_at": timezone.now(),
    })
