"""The report pages, their CSV/XLSX exports and background exports.

Who sees what: front desk the census and access reports only; clinicians every report limited
to their own caseload (participants whose primary clinician they are; in the staff load, the
sessions they facilitated); directors everything at their sites, any clinician's caseload
included. Everyone sees only their own sites.
"""
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.access import has_any_role
from accounts.roles import Role
from audit.services import audit_export
from iop_clinic.fixed_urls import reverse_once
from programs.models import Site
from reports import exports
from reports.models import ReportExport, ReportExportStatus
from reports import selectors
from reports.tasks import export_report
from staff import charts, report_rows
from staff.access import site_ids_for, staff_required
from staff.forms.reports import ReportFilterForm


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    roles: tuple[Role, ...]  # directors always may
    summary: str


ALL_STAFF = (Role.CLINICIAN, Role.FRONT_DESK)
REPORTS: dict[str, Report] = {report.slug: report for report in (
    Report("census", "Census", ALL_STAFF,
           "Active, on hold, waitlisted and offered a seat, per track; seats free; in care by week."),
    Report("attendance", "Attendance", (Role.CLINICIAN,),
           "Minutes attended of minutes held, by track, kind, weekday and time of day; no-shows; "
           "who is below the weekly minimum."),
    Report("outcomes", "Outcomes", (Role.CLINICIAN,),
           "Admissions, discharges by reason, completion, length of stay, step-down levels."),
    Report("access", "Access", ALL_STAFF,
           "Wait from referral to admission, the waitlist by week, seat offers."),
    Report("billing", "Billing units", (Role.CLINICIAN,),
           "Minutes, days and units per participant, week and service code."),
    Report("staff_load", "Staff load", (Role.CLINICIAN,),
           "Sessions and participant-hours per clinician."),
)}
PARTICIPANTS = Report("participants", "Participant list", ALL_STAFF,
                      "One line per enrollment: record number, name, track, status and dates.")


def _report_or_404(slug: str) -> Report:
    if slug == PARTICIPANTS.slug:
        return PARTICIPANTS
    try:
        return REPORTS[slug]
    except KeyError:
        raise Http404("No such report.") from None


def _check_role(user, report: Report) -> None:
    if not has_any_role(user, report.roles):
        raise PermissionDenied("Your role does not include this report.")


def _filter_form(request: HttpRequest, data) -> ReportFilterForm:
    user = request.user
    clinician_only = not user.is_director and user.has_role(Role.CLINICIAN)
    return ReportFilterForm(
        data, site_ids=site_ids_for(user), today=timezone.localdate(),
        caseload_of=user if clinician_only else None, may_choose_clinician=user.is_director)


def _query(form: ReportFilterForm) -> str:
    if not form.is_bound:
        return ""
    keep = {key: value for key, value in form.data.items() if key in form.fields and value}
    return urlencode(keep)


def visible_reports(user) -> list[Report]:
    return [report for report in REPORTS.values() if has_any_role(user, report.roles)]


@never_cache
@staff_required
@require_GET
def report_index(request: HttpRequest) -> HttpResponse:
    return render(request, "staff/reports/index.html", {
        "reports": visible_reports(request.user), "participants": PARTICIPANTS,
    })


# --- The pages -----------------------------------------------------------------------------

def _weeks_chart(title: str, weeks):
    """A line chart of WeekCounts, each week by the language's month-and-day ("Nov 30"), as
    the tables beside the chart write dates."""
    month_day = report_rows.date_texts("MONTH_DAY_FORMAT")
    return charts.line_chart(title, [(month_day(w.week_start), w.count) for w in weeks])


def _census_context(scope):
    report = selectors.census_report(scope=scope)
    return {
        "report": report, "tracks_html": report_rows.census_rows_html(report.tracks),
        "trend_html": report_rows.weeks_rows_html(report.trend),
        "chart": _weeks_chart("People in care by week", report.trend),
        "seats_chart": charts.bar_chart("Seats free per track", [
            (t.track, t.seats_free, f"{t.seats_free} of {t.capacity}") for t in report.tracks]),
    }


def _attendance_context(scope):
    report = selectors.attendance_report(scope=scope)
    return {
        "report": report,
        "chart": charts.bar_chart("Attendance rate by track (minutes attended of minutes held)", [
            (row.label, row.rate, f"{row.rate}%" if row.rate is not None else "no sessions held")
            for row in report.by_track], scale_max=100),
        "groups": [(heading, report_rows.attendance_rows_html(rows)) for heading, rows in (
            ("Track", report.by_track), ("Session kind", report.by_kind),
            ("Weekday", report.by_weekday), ("Time of day", report.by_time_of_day))],
        "below_this_week_html": report_rows.below_minimum_rows_html(report.below_this_week),
        "below_last_week_html": report_rows.below_minimum_rows_html(report.below_last_week),
    }


def _outcomes_context(scope):
    report = selectors.outcomes_report(scope=scope)
    shown = [d for d in report.discharges if d.count]
    return {
        "report": report, "discharges_html": report_rows.counts_rows_html(report.discharges),
        "step_down_html": report_rows.counts_rows_html(report.step_down),
        "chart": charts.bar_chart("Discharges by reason", [
            (d.label, d.count, str(d.count)) for d in shown]),
    }


def _access_context(scope):
    report = selectors.access_report(scope=scope)
    return {
        "report": report, "trend_html": report_rows.weeks_rows_html(report.waitlist_trend),
        "chart": _weeks_chart("People on the waitlist by week", report.waitlist_trend),
    }


def _billing_context(scope):
    report = selectors.billing_report(scope=scope)
    per_code: dict[str, int] = {}
    for row in report.summary:  # a few rows per week and code, not per participant
        per_code[row.service_code] = per_code.get(row.service_code, 0) + row.units
    return {
        "report": report, "summary_html": report_rows.billing_summary_rows_html(report.summary),
        "lines_html": report_rows.billing_lines_rows_html(report.lines),
        "chart": charts.bar_chart("Units per service code", [
            (code, units, str(units)) for code, units in sorted(per_code.items())]),
    }


def _staff_load_context(scope):
    rows = selectors.staff_load_report(scope=scope)
    return {
        "rows": rows, "rows_html": report_rows.staff_load_rows_html(rows),
        "chart": charts.bar_chart("Participant-hours per clinician", [
            (row.clinician, row.participant_hours, f"{row.participant_hours} h")
            for row in rows]),
    }


CONTEXTS = {"census": _census_context, "attendance": _attendance_context,
            "outcomes": _outcomes_context, "access": _access_context,
            "billing": _billing_context, "staff_load": _staff_load_context}


@never_cache
@staff_required
@require_GET
def report_page(request: HttpRequest, report: str) -> HttpResponse:
    spec = _report_or_404(report)
    if spec is PARTICIPANTS:
        raise Http404("The participant list is exported, not shown here.")
    _check_role(request.user, spec)
    form = _filter_form(request, request.GET or None)
    context = {"spec": spec, "form": form, "query": _query(form),
               "formats": exports.FORMATS,
               # ".../export/" : the templates add "csv/" or "xlsx/" (and "background/").
               "export_url": reverse_once(f"report_{report}_export", ("csv",))[:-len("csv/")]}
    if not form.is_bound or form.is_valid():
        scope = form.scope()
        context |= {"scope": scope, "caseload": scope.clinician_id is not None,
                    "long_range": _is_long(scope), "range_texts": _range_texts(scope)}
        context |= CONTEXTS[report](scope)
    return render(request, f"staff/reports/{report}.html", context)


def _range_texts(scope) -> dict[str, str]:
    """The range's days as the layout writes them, `|date:'Y-m-d'` and `|date`, each day's
    text found once a process (report_rows.date_texts)."""
    day = report_rows.date_texts()
    return {"from_iso": scope.date_from.isoformat(), "from": day(scope.date_from),
            "to_iso": scope.date_to.isoformat(), "to": day(scope.date_to)}


# --- Exports -------------------------------------------------------------------------------

def _is_long(scope) -> bool:
    return (scope.date_to - scope.date_from).days + 1 > settings.REPORT_EXPORT_INLINE_MAX_DAYS


def _audit(request, spec: Report, file_format: str, scope, *, background: bool) -> None:
    audit_export(
        request=request, sites=list(Site.objects.filter(pk__in=scope.site_ids).order_by("pk")),
        what=f"export: {spec.title.lower()} ({file_format})",
        details={"report": spec.slug, "format": file_format, "background": background,
                 "filters": scope.as_filters()})


def _export_scope(request: HttpRequest, spec: Report, data):
    _check_role(request.user, spec)
    form = _filter_form(request, data or None)
    if form.is_bound and not form.is_valid():
        return form, None
    return form, form.scope()


@never_cache
@staff_required
@require_GET
def report_export(request: HttpRequest, report: str, file_format: str) -> HttpResponse:
    """Download a report (or the participant list) with the page's filters, as CSV or XLSX."""
    spec = _report_or_404(report)
    if file_format not in exports.FORMATS:
        raise Http404("No such format.")
    form, scope = _export_scope(request, spec, request.GET)
    back = reverse("report_index" if spec is PARTICIPANTS else f"report_{report}")
    if scope is None:
        messages.error(request, " ".join(form.non_field_errors()) or "Check the filters.")
        return redirect(f"{back}?{_query(form)}")
    if _is_long(scope):
        messages.warning(request, "That range is long: prepare the export in the background.")
        return redirect(f"{back}?{_query(form)}")
    _audit(request, spec, file_format, scope, background=False)
    out = _SpooledResponseFile()
    exports.export_write(report=report, scope=scope, file_format=file_format, out=out.buffer)
    out.buffer.seek(0)
    name = exports.export_file_name(report=report, scope=scope, file_format=file_format)
    return FileResponse(out.buffer, as_attachment=True, filename=name,
                        content_type=exports.CONTENT_TYPES[file_format])


class _SpooledResponseFile:
    """Memory up to a few MB, then a temporary file: an export never fills the worker's RAM."""

    def __init__(self):
        import tempfile

        self.buffer = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)


@staff_required
@require_POST
def report_export_start(request: HttpRequest, report: str, file_format: str) -> HttpResponse:
    """Prepare an export in the background; the status page shows progress and the link."""
    spec = _report_or_404(report)
    if file_format not in exports.FORMATS:
        raise Http404("No such format.")
    form, scope = _export_scope(request, spec, request.POST)
    if scope is None:
        messages.error(request, " ".join(form.non_field_errors()) or "Check the filters.")
        return redirect(reverse("report_index"))
    with transaction.atomic():
        job = exports.report_export_request(user=request.user, report=report,
                                            file_format=file_format, scope=scope)
        _audit(request, spec, file_format, scope, background=True)
        transaction.on_commit(lambda: export_report.delay(job.pk))
    return redirect("report_export_status", code=job.code)


def _my_export(request: HttpRequest, code) -> ReportExport:
    return get_object_or_404(ReportExport, code=code, requested_by=request.user)


@never_cache
@staff_required
@require_GET
def report_export_status(request: HttpRequest, code) -> HttpResponse:
    job = _my_export(request, code)
    spec = _report_or_404(job.report)
    template = ("staff/reports/_export_status.html" if request.htmx
                else "staff/reports/export_status.html")
    return render(request, template, {
        "job": job, "spec": spec, "expired": _expired(job),
        "polling": job.status in (ReportExportStatus.PENDING, ReportExportStatus.RUNNING),
    })


def _expired(job: ReportExport) -> bool:
    return job.status == ReportExportStatus.EXPIRED or (
        job.expires_at is not None and job.expires_at <= timezone.now())


@never_cache
@staff_required
@require_GET
def report_export_download(request: HttpRequest, code) -> HttpResponse:
    job = _my_export(request, code)
    if _expired(job):
        return render(request, "staff/reports/export_status.html", {
            "job": job, "spec": _report_or_404(job.report), "expired": True, "polling": False,
        }, status=410)
    if job.status != ReportExportStatus.READY:
        return redirect("report_export_status", code=job.code)
    path = exports.export_path(job)
    if not path.exists():
        raise Http404("The file is gone.")
    scope = selectors.ReportScope.from_filters(job.filters)
    name = exports.export_file_name(report=job.report, scope=scope, file_format=job.file_format)
    return FileResponse(path.open("rb"), as_attachment=True, filename=name,
                        content_type=exports.CONTENT_TYPES[job.file_format])
