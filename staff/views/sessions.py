"""Staff pages about who comes when: week calendar, session roster, follow-ups, participant
search and chart."""
from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import can_discharge, can_enroll, can_mark_attendance, can_schedule, can_write_clinical_notes

from staff.access import get_followup_or_404, get_participant_or_404, get_session_or_404, participants_at, site_ids_for, sites_for, staff_required
from audit.services import audit_access
from authorizations.selectors import chart_authorizations
from iop_clinic.forms import add_service_errors

from staff.forms.care import (
    AttendanceMarkForm,
    CalendarFilterForm,
    FollowUpFilterForm,
    FollowUpResolveForm,
)
from staff.forms.caseload import CaseloadForm
from participants.selectors import chart_contacts
from sessions.models import Attendance, AttendanceStatus
from sessions.selectors import care, caseload, pages
from sessions.selectors import chart as chart_reads
from sessions.selectors.contacts import session_contacts
from sessions.selectors.ledger import participant_ids_at_risk
from reminders import selectors as reminder_reads
from reports.tally import tally_expected_count
from sessions.services.attendance import (
    attendance_mark,
    attendance_mark_rest_present,
    session_markable_error,
)
from sessions.services.followups import followup_resolve
from staff.calendar_rows import calendar_grid
from staff.timegrid import grid_html
from staff.chart_rows import authorizations_table_html, chart_rows
from staff.list_rows import caseload_rows, caseload_rows_html, followup_list_rows, followup_rows_html
from staff.roster_rows import roster_row_html, roster_rows, roster_rows_html, sheet_rows_html
from staff.views.sheets import blank_rows

SEARCH_PAGE_SIZE = 25
FOLLOWUP_PAGE_SIZE = 25



# --- Week calendar -------------------------------------------------------------------------

def _own_site_ids(user, sites) -> list[int]:
    """The sites the calendar opens on: those the user is assigned to (an administrator may see
    every site but works at a few), or all they see when they are assigned to none."""
    if not user.is_superuser:
        return [site.pk for site in sites]
    assigned = set(user.sites.values_list("pk", flat=True))
    return [site.pk for site in sites if site.pk in assigned] or [site.pk for site in sites]


def _calendar_links(query, focus: date, week_start: date) -> dict:
    """Query strings for the week and day links, each keeping the filters in force."""
    query = query.copy()

    def at(day: date) -> str:
        query["week"] = day.isoformat()
        return query.urlencode()

    return {
        "previous": at(focus - timedelta(days=7)), "next": at(focus + timedelta(days=7)),
        "previous_day": at(focus - timedelta(days=1)), "next_day": at(focus + timedelta(days=1)),
        "days": [(week_start + timedelta(days=n), at(week_start + timedelta(days=n)))
                 for n in range(7)],
    }


@staff_required
def week_calendar(request: HttpRequest) -> HttpResponse:
    """A week of sessions at the user's sites on a time grid; one day at a time on a tablet."""
    sites = list(sites_for(request.user).order_by("name"))
    if not sites:
        return render(request, "staff/sessions/calendar.html", {"no_sites": True})
    own = _own_site_ids(request.user, sites)
    today = timezone.localdate()  # in the user's zone: staff_required set it
    data = request.GET.copy()
    if not data.getlist("site"):
        data.setlist("site", [str(pk) for pk in own])
    form = CalendarFilterForm(data, sites=sites,
                              **pages.calendar_filter_choices(site_ids=[s.pk for s in sites]))
    chosen, focus, filters = own, today, {}
    if form.is_valid():
        chosen = form.cleaned_data["site"] or own
        focus = form.cleaned_data["week"] or today
        filters = {name: form.cleaned_data[name] for name in ("room", "facilitator", "track")}
    week_start = focus - timedelta(days=focus.weekday())
    days = pages.week_calendar(site_ids=chosen, week_start=week_start,
                               room_id=filters.get("room"),
                               facilitator_id=filters.get("facilitator"),
                               track_id=filters.get("track"),
                               expected_count=tally_expected_count())
    grid = calendar_grid(days=days, today=today, focus=focus, show_site=len(chosen) > 1)
    return render(request, "staff/sessions/calendar.html", {
        "form": form, "grid": grid, "week_start": week_start,
        "grid_html": grid_html(grid, grid_id="week", day_view=True, dated=True,
                               empty_text="No sessions."),
        "week_end": week_start + timedelta(days=6), "today": today, "focus": focus,
        "links": _calendar_links(request.GET, focus, week_start),
        "several_sites": len(sites) > 1,
        "chosen_sites": [s for s in sites if s.pk in chosen],
    })


# --- Roster and attendance -----------------------------------------------------------------

def _roster_context(request, session) -> dict:
    error = session_markable_error(session)
    return {
        "session": session,
        "markable": error is None and can_mark_attendance(request.user),
        "not_markable_reason": error.messages[0] if error else "",
        "duration": session.duration_minutes,
        "choices": AttendanceMarkForm.base_fields["status"].choices,
        "partial_statuses": ("late", "left_early"),
        "can_cancel": can_schedule(request.user),
        # One rendered CSRF field for every row: {% csrf_token %} would build it once a row.
        "csrf_input": render_to_string("staff/sessions/_csrf_input.html", request=request),
    }


@staff_required
def session_roster(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_session_or_404(request.user, pk)
    context = _roster_context(request, session)
    context["rows"] = roster_rows(session=session, attendances=pages.roster(session=session),
                                  choices=context["choices"])
    context["expected_left"] = sum(1 for row in context["rows"]
                                   if row.attendance.status == "expected")
    # Written out in Python (staff/roster_rows.py), not by including _roster_row.html per row.
    context["rows_html"] = roster_rows_html(
        rows=context["rows"], session=session, markable=context["markable"],
        duration=context["duration"], csrf_input=context["csrf_input"])
    context["family_contacts"] = session_contacts(session=session)
    # On paper the roster is a sign-in sheet (templates/staff/sessions/_sign_in_sheet.html).
    context["sheet_rows"] = [row.attendance for row in context["rows"]
                             if row.attendance.status != AttendanceStatus.CANCELLED]
    context["sheet_rows_html"] = sheet_rows_html(attendances=context["sheet_rows"])
    context["sheet_blank_rows"] = blank_rows(len(context["sheet_rows"]))
    context["printed_at"] = timezone.now()
    return render(request, "staff/sessions/roster.html", context)


@staff_required
@require_POST
def attendance_mark_view(request: HttpRequest, pk: int, attendance_pk: int) -> HttpResponse:
    if not can_mark_attendance(request.user):
        raise PermissionDenied
    session = get_session_or_404(request.user, pk)
    attendance = get_object_or_404(Attendance, pk=attendance_pk, session=session)
    form = AttendanceMarkForm(request.POST)
    if form.is_valid():
        try:
            attendance = attendance_mark(
                attendance=attendance, status=form.cleaned_data["status"],
                minutes=form.cleaned_data["minutes"], note=form.cleaned_data["note"],
                by=request.user,
            )
            form = None
        except ValidationError as error:
            add_service_errors(form, error)
    if not request.htmx:
        if form is not None:
            messages.error(request, _("Nothing was changed: %(errors)s") % {
                "errors": " ".join(e for errors in form.errors.values() for e in errors)})
        return redirect("roster", pk=session.pk)
    context = _roster_context(request, session)
    row = pages.roster_row(attendance_pk=attendance.pk, session=session)
    context["row"] = roster_rows(session=session, attendances=[row], choices=context["choices"],
                                 forms={row.pk: form})[0]
    if form is None:  # marked: the row as the roster page writes it
        context["row_html"] = roster_row_html(
            row=context["row"], session=session, markable=context["markable"],
            duration=context["duration"], csrf_input=context["csrf_input"])
    # The "rest present" button's count travels along as an out-of-band swap.
    context["oob"] = True
    context["expected_left"] = pages.expected_left(session=session)
    # A refused marking answers 200 with the errors in the row: htmx swaps only 2xx responses.
    return render(request, "staff/sessions/_roster_row.html", context)


@staff_required
@require_POST
def roster_rest_present(request: HttpRequest, pk: int) -> HttpResponse:
    if not can_mark_attendance(request.user):
        raise PermissionDenied
    session = get_session_or_404(request.user, pk)
    try:
        count = attendance_mark_rest_present(session=session, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Marked %(count)s present.") % {"count": count})
    return redirect("roster", pk=session.pk)


# --- Follow-ups ----------------------------------------------------------------------------

@staff_required
def followup_list(request: HttpRequest) -> HttpResponse:
    site_ids = site_ids_for(request.user)
    people = pages.staff_menu_rows(site_ids=site_ids)
    default = pages.default_followup_assignee(request.user)
    form = FollowUpFilterForm(request.GET or {"assignee": default, "status": "open"},
                              assignees=people)
    assignee_id, status = (request.user.pk if default == "me" else None), "open"
    if form.is_valid():
        raw = form.cleaned_data["assignee"]
        assignee_id = request.user.pk if raw == "me" else (int(raw) if raw else None)
        status = form.cleaned_data["status"]
    listed = pages.followup_list_pages(site_ids=site_ids, assignee_id=assignee_id, status=status)
    page = Paginator(listed, FOLLOWUP_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = followup_list_rows(page.object_list)
    return render(request, "staff/sessions/followup_list.html", {
        "form": form, "page_obj": page, "followups": rows, "rows_html": followup_rows_html(rows),
        "show_notes": can_write_clinical_notes(request.user),
    })


@staff_required
@require_http_methods(["GET", "POST"])
def followup_detail(request: HttpRequest, pk: int) -> HttpResponse:
    followup = get_followup_or_404(request.user, pk)
    may_resolve = can_write_clinical_notes(request.user)
    form = FollowUpResolveForm(request.POST or None) if may_resolve else None
    if request.method == "POST":
        if not may_resolve:
            raise PermissionDenied
        if form.is_valid():
            try:
                followup_resolve(followup=followup, outcome_note=form.cleaned_data["outcome_note"],
                                 by=request.user)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Follow-up resolved."))
                return redirect("followup_list")
    return render(request, "staff/sessions/followup_detail.html", {
        "followup": followup, "form": form, "show_notes": may_resolve,
    })


# --- Participants --------------------------------------------------------------------------

@staff_required
def participant_search(request: HttpRequest) -> HttpResponse:
    """The caseload: my sites' participants, searched, filtered and sorted, a page at a time."""
    site_ids = site_ids_for(request.user)
    form = CaseloadForm(request.GET or None,
                        **caseload.caseload_filter_choices(site_ids=site_ids))
    filters = form.cleaned_data if form.is_valid() else {}
    query = (filters.get("q") or "").strip()
    listed = caseload.caseload_rows(
        scope=participants_at, site_ids=site_ids, query=query,
        site_id=filters.get("site"), track_id=filters.get("track"),
        status=filters.get("status") or "", clinician_id=filters.get("clinician"),
        # Today's at-risk rule (the ledger's), this week at my sites; the staff decorator made
        # my site's zone current, so "today" is the clinic's.
        only_ids=(participant_ids_at_risk(site_ids=site_ids, today=timezone.localdate())
                  if filters.get("at_risk") else None),
        sort=filters.get("sort") or "name")
    page = Paginator(listed, SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))
    filtered = any(filters.get(name)
                   for name in ("q", "site", "track", "status", "clinician", "at_risk"))
    # Only the live search swaps the results alone; a history restore needs the whole page.
    wants_results = (request.htmx and request.htmx.target == "results"
                     and not request.htmx.history_restore_request)
    template = "staff/participants/_results.html" if wants_results else "staff/participants/search.html"
    rows, at_risk = caseload_rows(page.object_list), bool(filters.get("at_risk"))
    return render(request, template, {"form": form, "page_obj": page, "filtered": filtered,
                                      "rows": rows, "at_risk": at_risk,
                                      "rows_html": caseload_rows_html(rows, at_risk=at_risk)})


def _page_number(request: HttpRequest, name: str) -> int:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) < 10_000 else 1


@staff_required
def participant_chart(request: HttpRequest, code) -> HttpResponse:
    participant = get_participant_or_404(request.user, code)
    today = timezone.now().astimezone(participant.home_site.zone).date()
    chart = chart_reads.participant_chart(participant=participant, today=today)
    audit_access(request=request, obj=participant, what="chart")
    contacts = chart_contacts(participant=participant, today=today)
    told = reminder_reads.contact_reminders_around(
        contact_ids=[row.contact.pk for row in contacts], today=today)
    for row in contacts:
        row.reminders = told.get(row.contact.pk, [])
    care_reads = care.chart_care(participant=participant, enrollments=chart.enrollments,
                                 ledger_rows=chart.ledger_rows)
    reminders = reminder_reads.reminder_page(
        participant=participant, today=today, number=_page_number(request, "reminders_page"))
    may_schedule = can_schedule(request.user)
    show_notes = can_write_clinical_notes(request.user)
    may_enroll = can_enroll(request.user)
    authorizations = chart_authorizations(enrollments=chart.enrollments,
                                          participant=participant, today=today)
    for entry in authorizations.enrollments:
        entry.table_html = authorizations_table_html(
            entry.authorizations, can_edit=may_enroll, caption=entry.enrollment.track.name,
            show_notes=show_notes)
    return render(request, "staff/participants/chart.html", {
        "chart": chart, "participant": participant, "today": today,
        "care": care_reads,
        "authorizations": authorizations,
        "reminders": reminders,
        "rows": chart_rows(chart=chart, reminders=reminders.rows, ledger=care_reads.ledger,
                           can_schedule=may_schedule, show_notes=show_notes,
                           csrf_token=lambda: get_token(request)),
        "contacts": contacts,
        "show_notes": show_notes,
        "can_enroll": may_enroll,
        "can_schedule": may_schedule,
        "can_discharge": can_discharge(request.user, participant),
    })
