"""Exports of the reports and the participant list as CSV or XLSX, inline or in the background.

An export holds the minimum necessary: figures, record numbers and names where a line is about a
person (billing needs them), never contact details or free-text notes. Each export is a list of
sections (a title, headers, rows); CSV writes them one after another under their titles, XLSX one
sheet each. Billing lines stream from a server-side cursor, so a year of them never sits in memory.

Background exports (`report_export_run`) write to settings.REPORT_EXPORT_DIR with progress on
the `ReportExport` row; `report_exports_purge` deletes files whose link has expired.
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from iop_clinic.sql_params import execute
from participants.models import Enrollment

from .models import ReportExport, ReportExportStatus
from . import selectors as r

logger = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK = 2000
Progress = Callable[[int, int], None]


@dataclass
class Section:
    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    count: int | None = None  # rows, when known ahead (for progress)


def _pct(value: Decimal | None):
    return "" if value is None else value


def _attendance_line(dimension: str, row: r.AttendanceRow) -> list:
    return [dimension, row.label, row.held_hours, row.attended_hours, _pct(row.rate),
            row.excused_hours, row.attended, row.absent, row.excused, row.unmarked,
            _pct(row.no_show_rate)]


def _census(scope: r.ReportScope) -> list[Section]:
    report = r.census_report(scope=scope)
    return [
        Section("Census by track", ["Site", "Program", "Track", "Capacity", "Active", "On hold",
                                    "Waitlisted", "Offered a seat", "Seats free"],
                [[t.site, t.program, t.track, t.capacity, t.active, t.on_hold, t.waitlisted,
                  t.offered, t.seats_free] for t in report.tracks]),
        Section("In care by week", ["Week starting", "In care"],
                [[w.week_start, w.count] for w in report.trend]),
    ]


def _attendance(scope: r.ReportScope) -> list[Section]:
    report = r.attendance_report(scope=scope)
    lines = [_attendance_line("All", report.total)]
    for dimension, rows in (("Track", report.by_track), ("Session kind", report.by_kind),
                            ("Weekday", report.by_weekday),
                            ("Time of day", report.by_time_of_day)):
        lines += [_attendance_line(dimension, row) for row in rows]
    below = [[b.week_start, b.record_number, b.participant, b.track, b.minimum_hours,
              b.attended_hours, b.ahead_hours, b.offered_hours, b.reason]
             for b in (*report.below_last_week, *report.below_this_week)]
    return [
        Section("Attendance", ["Grouping", "Group", "Hours held", "Hours attended",
                               "Attendance rate %", "Hours excused", "Sessions attended",
                               "Absent", "Excused", "Unmarked", "No-show rate %"], lines),
        Section("Below the weekly minimum", ["Week starting", "Record number", "Participant",
                                             "Track", "Minimum hours", "Hours attended",
                                             "Hours still scheduled", "Hours offered", "Why"],
                below),
    ]


def _outcomes(scope: r.ReportScope) -> list[Section]:
    report = r.outcomes_report(scope=scope)
    measures = [
        ["Admissions", report.admissions], ["Readmissions", report.readmissions],
        ["Discharges", report.discharged], ["Completed", report.completed],
        ["Completion rate %", _pct(report.completion_rate)],
        ["Length of stay, mean days", _pct(report.stay_days_mean)],
        ["Length of stay, median days", _pct(report.stay_days_median)],
        ["Length of stay, mean attended hours", _pct(report.stay_hours_mean)],
        ["Length of stay, median attended hours", _pct(report.stay_hours_median)],
    ]
    return [
        Section("Outcomes", ["Measure", "Value"], measures),
        Section("Discharges by reason", ["Reason", "Discharges"],
                [[d.label, d.count] for d in report.discharges]),
        Section("Step-down level", ["Level", "Continuing-care plans"],
                [[d.label, d.count] for d in report.step_down]),
    ]


def _access(scope: r.ReportScope) -> list[Section]:
    report = r.access_report(scope=scope)
    return [
        Section("Access", ["Measure", "Value"], [
            ["Admissions", report.admitted],
            ["Referral to admission, median days", _pct(report.wait_median_days)],
            ["Referral to admission, 90th percentile days", _pct(report.wait_p90_days)],
            ["Referral to admission, mean days", _pct(report.wait_mean_days)],
            ["Waiting now", report.waiting_now], ["Seat offers open", report.offers_open],
            ["Left the waitlist without admission", report.left_waitlist],
        ]),
        Section("Waitlist by week", ["Week starting", "Waiting on Sunday"],
                [[w.week_start, w.count] for w in report.waitlist_trend]),
    ]


def _billing_rows(scope: r.ReportScope) -> Iterator[list]:
    sql, params = r.billing_lines_sql(scope)
    with connection.chunked_cursor() as cursor:
        execute(cursor, sql, params)
        while rows := cursor.fetchmany(CHUNK):
            for row in rows:
                line = r.billing_line(row)
                yield [line.week_start, line.record_number, line.participant, line.service_code,
                       line.unit, line.sessions, line.days, line.minutes, line.hours, line.units]


def _billing(scope: r.ReportScope, *, count: bool = False) -> list[Section]:
    total = None
    if count:
        sql, params = r.billing_lines_sql(scope)
        with connection.cursor() as cursor:
            execute(cursor, f"SELECT COUNT(*) FROM ({sql}) x", params)
            total = cursor.fetchone()[0]
    return [Section("Billing units", ["Week starting", "Record number", "Participant",
                                      "Service code", "Unit", "Sessions", "Days", "Minutes",
                                      "Hours", "Units"], _billing_rows(scope), total)]


def _staff_load(scope: r.ReportScope) -> list[Section]:
    return [Section("Staff load", ["Clinician", "Sessions", "Session hours", "Participant-hours"],
                    [[row.clinician, row.sessions, row.session_hours, row.participant_hours]
                     for row in r.staff_load_report(scope=scope)])]


def _participants(scope: r.ReportScope) -> list[Section]:
    """One line per enrollment in scope whose window touches the range. One query."""
    enrollments = (
        Enrollment.objects.filter(r._enrollment_q(scope), admission_date__lte=scope.date_to)
        .filter(Q(discharge_date__isnull=True) | Q(discharge_date__gte=scope.date_from))
        .order_by("participant__last_name", "participant__first_name", "participant_id",
                  "admission_date")
        .values_list("participant__record_number", "participant__last_name",
                     "participant__first_name", "track__site__name", "track__program__name",
                     "track__name", "status", "admission_date", "planned_end_date",
                     "discharge_date", "discharge_reason",
                     "participant__primary_clinician__first_name",
                     "participant__primary_clinician__last_name")
    )
    rows = ([*row[:11], f"{row[11] or ''} {row[12] or ''}".strip()]
            for row in enrollments.iterator(chunk_size=CHUNK))
    return [Section("Participants", ["Record number", "Last name", "First name", "Site",
                                     "Program", "Track", "Status", "Admission", "Planned end",
                                     "Discharge date", "Discharge reason", "Primary clinician"],
                    rows)]


BUILDERS: dict[str, Callable[..., list[Section]]] = {
    "census": _census, "attendance": _attendance, "outcomes": _outcomes, "access": _access,
    "billing": _billing, "staff_load": _staff_load, "participants": _participants,
}


def export_sections(*, report: str, scope: r.ReportScope, count: bool = False) -> list[Section]:
    builder = BUILDERS[report]
    return builder(scope, count=True) if (count and report == "billing") else builder(scope)


# --- Writers -------------------------------------------------------------------------------

def _cell(value):
    if isinstance(value, UUID):
        return str(value)
    return "" if value is None else value


def write_csv(sections: list[Section], out, *, progress: Progress | None = None) -> int:
    """Write text CSV to `out`; returns the number of data rows."""
    writer = csv.writer(out)
    written = 0
    for index, section in enumerate(sections):
        if len(sections) > 1:
            if index:
                writer.writerow([])
            writer.writerow([section.title])
        writer.writerow(section.headers)
        for row in section.rows:
            writer.writerow([_safe_text(_cell(value)) for value in row])
            written += 1
            if progress and written % CHUNK == 0:
                progress(written, 0)
    return written


def _safe_text(value):
    """Spreadsheets run a cell that starts with = + - @ as a formula: quote such text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_xlsx(sections: list[Section], out, *, progress: Progress | None = None) -> int:
    """Write an XLSX workbook (one sheet per section) to the binary `out`.

    XlsxWriter in constant-memory mode: rows go to disk as they come, and a year of billing
    lines (50,000 rows) is written about 2.5 times faster than by openpyxl's write-only mode
    (bench/reports.py), which keeps a year's export under 10 s.
    """
    import xlsxwriter

    book = xlsxwriter.Workbook(out, {"constant_memory": True, "default_date_format": "yyyy-mm-dd",
                                     "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    written = 0
    for section in sections:
        sheet = book.add_worksheet(section.title[:31])
        sheet.write_row(0, 0, list(section.headers), bold)
        for index, row in enumerate(section.rows, start=1):
            sheet.write_row(index, 0, [_cell(value) for value in row])
            written += 1
            if progress and written % CHUNK == 0:
                progress(written, 0)
    book.close()
    return written


WRITERS = {"csv": write_csv, "xlsx": write_xlsx}


def export_write(*, report: str, scope: r.ReportScope, file_format: str, out,
                 progress: Progress | None = None) -> int:
    sections = export_sections(report=report, scope=scope, count=progress is not None)
    if file_format == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        try:
            return write_csv(sections, text, progress=progress)
        finally:
            text.flush()
            text.detach()
    return write_xlsx(sections, out, progress=progress)


def export_file_name(*, report: str, scope: r.ReportScope, file_format: str) -> str:
    return f"{report}-{scope.date_from:%Y%m%d}-{scope.date_to:%Y%m%d}.{file_format}"


# --- Background exports ---------------------------------------------------------------------

def export_dir() -> Path:
    path = Path(settings.REPORT_EXPORT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def report_export_request(*, user, report: str, file_format: str,
                          scope: r.ReportScope) -> ReportExport:
    """Record a background export; the caller queues `report_export_run` after commit."""
    if report not in BUILDERS or file_format not in FORMATS:
        raise ValueError("unknown report or format")
    return ReportExport.objects.create(requested_by=user, report=report, file_format=file_format,
                                       filters=scope.as_filters())


def report_export_run(*, export_id: int) -> ReportExport | None:
    """Write the file for a pending export, updating its progress. Idempotent: a row already
    running, ready or expired is left alone (a redelivered task does nothing)."""
    claimed = ReportExport.objects.filter(pk=export_id, status=ReportExportStatus.PENDING).update(
        status=ReportExportStatus.RUNNING, progress=1)
    if not claimed:
        return None
    export = ReportExport.objects.get(pk=export_id)
    scope = r.ReportScope.from_filters(export.filters)
    file_name = f"{export.code}.{export.file_format}"
    path = export_dir() / file_name
    total_hint: dict[str, int] = {}

    def progress(done: int, _unused: int) -> None:
        total = total_hint.get("total") or 0
        percent = min(95, max(1, int(95 * done / total))) if total else min(90, 1 + done // CHUNK)
        ReportExport.objects.filter(pk=export_id).update(progress=percent, rows=done)

    try:
        sections = export_sections(report=export.report, scope=scope, count=True)
        total_hint["total"] = sum(s.count or 0 for s in sections)
        with path.open("wb") as out:
            if export.file_format == "csv":
                text = io.TextIOWrapper(out, encoding="utf-8", newline="")
                rows = write_csv(sections, text, progress=progress)
                text.flush()
                text.detach()
            else:
                rows = write_xlsx(sections, out, progress=progress)
    except Exception:
        logger.exception("report export %s failed", export_id)
        path.unlink(missing_ok=True)
        ReportExport.objects.filter(pk=export_id).update(
            status=ReportExportStatus.FAILED, error="write_failed", finished_at=timezone.now())
        raise
    now = timezone.now()
    ReportExport.objects.filter(pk=export_id).update(
        status=ReportExportStatus.READY, progress=100, rows=rows, file_name=file_name,
        finished_at=now,
        expires_at=now + timedelta(hours=settings.REPORT_EXPORT_RETENTION_HOURS))
    export.refresh_from_db()
    return export


def export_path(export: ReportExport) -> Path:
    return export_dir() / export.file_name


def report_exports_purge() -> int:
    """Delete the files of exports whose link has expired and mark them expired. Idempotent."""
    now = timezone.now()
    expired = list(ReportExport.objects.filter(status=ReportExportStatus.READY,
                                               expires_at__lte=now).values_list("pk", "file_name"))
    for _pk, file_name in expired:
        (export_dir() / file_name).unlink(missing_ok=True)
    ReportExport.objects.filter(pk__in=[pk for pk, _ in expired]).update(
        status=ReportExportStatus.EXPIRED, file_name="")
    return len(expired)
