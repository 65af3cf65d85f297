"""The report pages' table rows as ready-made HTML, so their templates do no work per row.

A report page shows a few tables of a dozen to a few dozen rows, each of six to eight numbers;
resolving and localizing every cell through the template engine (`{{ row.held_hours }}` reads
the settings and the active language's formats once a value) was a third of the attendance
page's Python. Here every value is written as the template wrote it (`Numbers` below, `|date`
through the same function) and escaped as format_html escapes, as autoescaping did. Each function
returns what its template's `{% for %}` loop wrote, blank lines included, so the pages are the
same to the byte; tests/staff/test_report_rows.py compares them with those loops' output.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import lru_cache

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import formats
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from iop_clinic.page_rows import PLACEHOLDER_CODE, RowUrl


class Numbers:
    """`{{ number }}` as the template writes it (formats.localize), without reading the
    settings and formats once a value: where localizing writes an int as str() does and a
    Decimal as its plain digits with a point (English, no thousands separator: every staff
    page), that is what this writes; in any other case it asks localize itself."""

    def __init__(self) -> None:
        # Asked once a process and language (two localize calls cost about 15 µs, and a report
        # page writes three or four tables and charts); a change of settings asks again.
        language = get_language()
        plain = _plain_languages.get(language)
        if plain is None:
            plain = _plain_languages[language] = (
                formats.localize(1234567) == "1234567"
                and formats.localize(Decimal("-1234.50")) == "-1234.50")
        self._plain = plain

    def __call__(self, value) -> str:
        if self._plain:
            if type(value) is int:
                return str(value)
            if type(value) is Decimal:
                return f"{value:f}"
        return formats.localize(value)


# Per language: does localize write numbers plainly (Numbers)? Formats come from the settings
# and the languages' format modules, so only a change of settings (a test's) can change this.
_plain_languages: dict[str | None, bool] = {}


@receiver(setting_changed)
def _forget_plain_languages(**kwargs) -> None:
    _plain_languages.clear()


def _figures(number: Numbers) -> Callable[[object], str]:
    """A number as `number` writes it, escaped: where that is plain digits (an int's str(), a
    Decimal's digits and point) there is nothing to escape, and escaping every cell was most
    of a table's time."""
    if not number._plain:
        return lambda value: _escape(number(value))

    def figure(value) -> str:
        kind = type(value)
        if kind is int:
            return str(value)
        if kind is Decimal:
            return f"{value:f}"
        return _escape(number(value))
    return figure


def _percent(value, number: Numbers) -> str:
    # {% if value is not None %}{{ value }}%{% else %}—{% endif %}
    return f"{number(value)}%" if value is not None else "—"


def _escape(value) -> str:
    """What format_html does to each value (conditional_escape), without the lazy-string
    wrapper it goes through for every value: a third of the rows' time."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def date_texts(format_name: str = "DATE_FORMAT") -> Callable[[date], str]:
    """`{{ day|date }}` (or `|date:"MONTH_DAY_FORMAT"`...) for many days: formats.date_format,
    as the filter calls it, in the current language, each day found once a process."""
    language, format_string = get_language(), formats.get_format(format_name)
    return lambda value: _date_text(language, format_string, format_name, value)


# A calendar day's text in a language and format, kept across pages: a report's weeks are the
# same from one request to the next, and formatting one cost about 12 µs (the census and
# access pages write each of twelve weeks twice). The words of the calendar, nothing about
# anyone.
@lru_cache(maxsize=4096)
def _date_text(language: str | None, format_string: str, format_name: str,  # noqa: ARG001
               value: date) -> str:
    return formats.date_format(value, format_name)


def _rows(row_format: str, cells, empty: str = "") -> SafeString:
    """Each row as `{% for %}` wrote it: the loop's body, blank lines included; `empty` is the
    `{% empty %}` branch's output. Every value is escaped as format_html_join escapes it."""
    return mark_safe("".join([row_format.format(*map(_escape, row)) for row in cells])
                     or empty)


# --- Attendance ----------------------------------------------------------------------------

_ATTENDANCE_ROW = (
    '\n  <tr><th scope="row">{}</th><td class="text-end">{}</td><td class="text-end">{}</td>'
    '<td class="text-end">{}</td><td class="text-end">{}</td><td class="text-end">{}</td>'
    '<td class="text-end">{}</td></tr>\n  ')


def attendance_rows_html(rows) -> SafeString:
    """templates/staff/reports/_attendance_rows.html's rows (AttendanceRow)."""
    number = Numbers()
    return _rows(_ATTENDANCE_ROW, (
        (row.label, number(row.held_hours), number(row.attended_hours),
         _percent(row.rate, number), _percent(row.no_show_rate, number),
         number(row.excused_hours), number(row.unmarked)) for row in rows),
        empty='<tr><td colspan="7">No sessions held in this range.</td></tr>\n  ')


_BELOW_ROW = (
    '\n  <tr><th scope="row"><a href="{}">{}</a></th><td>{}</td><td class="text-end">{} h</td>'
    '<td class="text-end">{} h</td><td class="text-end">{} h</td><td class="text-end">{} h</td>'
    '<td data-reason="{}">{}</td></tr>\n  ')


def below_minimum_rows_html(rows) -> SafeString:
    """templates/staff/reports/_below_minimum.html's rows (BelowMinimum)."""
    number = Numbers()
    chart = RowUrl("participant_chart", placeholder=PLACEHOLDER_CODE)
    cells = []
    for b in rows:
        cells.append((chart(b.participant_code), b.participant, b.track,
                      number(b.minimum_hours), number(b.attended_hours), number(b.ahead_hours),
                      number(b.offered_hours), b.reason, b.reason_label))
    return _rows(_BELOW_ROW, cells, empty='<tr><td colspan="7">Nobody.</td></tr>\n  ')


# --- Census, access, outcomes, staff load --------------------------------------------------

_CENSUS_ROW = (
    '\n  <tr><td>{}</td><th scope="row">{} <span class="small text-body-secondary">{}</span>'
    '</th><td class="text-end">{}</td><td class="text-end">{}</td><td class="text-end">{}</td>'
    '<td class="text-end">{}</td><td class="text-end">{}</td><td class="text-end">{}</td>'
    '</tr>\n  ')


def census_rows_html(tracks) -> SafeString:
    """templates/staff/reports/census.html's rows per track (CensusTrack)."""
    figure = _figures(Numbers())
    return mark_safe("".join([_CENSUS_ROW.format(
        _escape(t.site), _escape(t.track), _escape(t.program), figure(t.capacity),
        figure(t.active), figure(t.on_hold), figure(t.waitlisted), figure(t.offered),
        figure(t.seats_free)) for t in tracks])
        or '<tr><td colspan="8">No active tracks match.</td></tr>\n  ')


_WEEK_ROW = ('<tr><th scope="row"><time datetime="{}">{}</time></th>'
             '<td class="text-end">{}</td></tr>')


def weeks_rows_html(weeks) -> SafeString:
    """templates/staff/reports/_weeks_table.html's rows (WeekCount)."""
    figure, date_text = _figures(Numbers()), date_texts()
    # |date:'Y-m-d' (ISO digits and dashes: nothing to escape) and |date (formats.date_format,
    # as the filter calls it)
    return mark_safe("".join([_WEEK_ROW.format(
        w.week_start.isoformat(), _escape(date_text(w.week_start)), figure(w.count))
        for w in weeks]))


_COUNT_ROW = '<tr><th scope="row">{}</th><td class="text-end">{}</td></tr>'


def counts_rows_html(rows) -> SafeString:
    """templates/staff/reports/_counts_table.html's rows (ReasonCount)."""
    figure = _figures(Numbers())
    return mark_safe("".join([_COUNT_ROW.format(_escape(row.label), figure(row.count))
                              for row in rows]))


_STAFF_LOAD_ROW = ('<tr><th scope="row">{}</th><td class="text-end">{}</td>'
                   '<td class="text-end">{}</td><td class="text-end">{}</td></tr>\n  ')


def staff_load_rows_html(rows) -> SafeString:
    """templates/staff/reports/staff_load.html's rows (StaffLoadRow)."""
    figure = _figures(Numbers())
    return mark_safe("".join([_STAFF_LOAD_ROW.format(
        _escape(row.clinician), figure(row.sessions), figure(row.session_hours),
        figure(row.participant_hours)) for row in rows])
        or '<tr><td colspan="4">No sessions held in this range.</td></tr>')


# --- Billing -------------------------------------------------------------------------------

_BILLING_EMPTY = '<tr><td colspan="7">Nothing billable in this range.</td></tr>'
_BILLING_SUMMARY_ROW = (
    '<tr><th scope="row">{}</th><td>{}</td><td class="text-end">{}</td>'
    '<td class="text-end">{}</td><td class="text-end">{}</td><td class="text-end">{}</td>'
    '<td class="text-end">{}</td></tr>\n  ')
_BILLING_LINE_ROW = (
    '<tr><td>{}</td><th scope="row">{} <span class="small text-body-secondary">{}</span></th>'
    '<td>{}</td><td class="text-end">{}</td><td class="text-end">{}</td>'
    '<td class="text-end">{}</td><td class="text-end">{}</td></tr>\n  ')


def billing_summary_rows_html(rows) -> SafeString:
    """templates/staff/reports/billing.html's rows per week and code (BillingSummary)."""
    number, date = Numbers(), date_texts()
    return _rows(_BILLING_SUMMARY_ROW, (
        (date(s.week_start), s.service_code, number(s.participants), number(s.sessions),
         number(s.days), number(s.hours), number(s.units)) for s in rows), empty=_BILLING_EMPTY)


def billing_lines_rows_html(lines) -> SafeString:
    """templates/staff/reports/billing.html's lines per participant (BillingLine): up to 200
    lines of eight cells. Each week's date is written and escaped once, and a whole number
    written as str() writes it (digits and a sign) is not escaped: nothing in it could be."""
    number, date = Numbers(), date_texts()
    weeks: dict = {}

    def figure(value) -> str:
        return str(value) if number._plain and type(value) is int else _escape(number(value))

    rows = []
    for line in lines:
        week = weeks.get(line.week_start)
        if week is None:
            week = weeks[line.week_start] = _escape(date(line.week_start))
        rows.append(_BILLING_LINE_ROW.format(
            week, _escape(line.participant), _escape(line.record_number),
            _escape(line.service_code), figure(line.sessions), figure(line.days),
            figure(line.minutes), figure(line.units)))
    return mark_safe("".join(rows) or _BILLING_EMPTY)
