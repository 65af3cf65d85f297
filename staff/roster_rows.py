"""The roster's rows as plain values, so the template does no per-row work.

A roster of a large group has a hundred rows; resolving URLs, status labels, badge classes
and five status buttons in the template cost about a millisecond a row. Here each URL is
reversed once and completed per row, and the buttons are built with format_html.

The roster page's rows are written out here too (`roster_rows_html`): including
_roster_row.html a hundred times was still half of the page's time. A marking's answer prints
the same row (`roster_row_html`) in that template; a refused marking's row, with its form's
values and errors, is written by the template itself.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from html import escape
from typing import Any

from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

from accounts.models import staff_name

from iop_clinic.formatting import clinic_format, clock
from iop_clinic.page_rows import PLACEHOLDER_CODE, RowUrl
from sessions.models import AttendanceStatus, TherapySession
from sessions.selectors.pages import RosterEntry

_BADGE = {
    AttendanceStatus.EXPECTED: "text-bg-light border",
    AttendanceStatus.ABSENT: "text-bg-danger",
    AttendanceStatus.EXCUSED: "text-bg-secondary",
    AttendanceStatus.CANCELLED: "text-bg-dark",
}


def _clock_has_no_seconds() -> bool:
    """Whether the current language's clock format shows nothing finer than minutes."""
    return not any(code in clinic_format("TIME_FORMAT") for code in "suvU")


@dataclass
class RosterRow:
    attendance: RosterEntry
    form: Any
    mark_url: str
    chart_url: str
    badge_class: str
    status_label: str
    buttons: SafeString
    # Plain values for the row without a form (the whole roster page).
    pk: str = ""
    name: str = ""
    minutes_text: str = ""
    minutes_value: str = ""
    marked_text: str = ""
    can_mark: bool = False


class RosterUrls:
    """Reverses the row URLs once per page and fills in each row's ids."""

    def __init__(self, session: TherapySession) -> None:
        self._mark = RowUrl("attendance_mark", args=(session.pk,))
        self._chart = RowUrl("participant_chart", placeholder=PLACEHOLDER_CODE)

    def mark(self, attendance_pk: int) -> str:
        return self._mark(attendance_pk)

    def chart(self, code: uuid.UUID) -> str:
        return self._chart(code)

    @property
    def html_safe(self) -> bool:
        """Whether these URLs, filled in with an id or a UUID, hold nothing HTML escapes."""
        return self._mark.html_safe and self._chart.html_safe


def roster_rows(*, session: TherapySession, attendances: list[RosterEntry],
                choices: list[tuple[str, Any]], forms: dict[int, Any] | None = None,
                ) -> list[RosterRow]:
    urls = RosterUrls(session)
    zone = session.site.zone
    labels = [(value, str(label)) for value, label in choices]
    status_labels = {value: str(label) for value, label in AttendanceStatus.choices}
    forms = forms or {}
    buttons_for: dict[str, SafeString] = {}
    # A session's marks fall within a few minutes of each other: each minute is formatted once
    # (when the clock shows hours and minutes only).
    clocks: dict = {}
    by_minute = _clock_has_no_seconds()

    def marked_clock(moment) -> str:
        if not by_minute:
            return clock(moment)
        key = (moment.utcoffset(), moment.hour, moment.minute)
        if key not in clocks:
            clocks[key] = clock(moment)
        return clocks[key]

    rows = []
    for attendance in attendances:
        status = attendance.status
        buttons = buttons_for.get(status)
        if buttons is None:  # six statuses: each row set is built once a page
            buttons = buttons_for[status] = format_html_join(
                "\n", '<button type="submit" name="status" value="{}" aria-pressed="{}" '
                      'class="btn btn-tap flex-fill {}">{}</button>',
                ((value, "true" if status == value else "false",
                  "btn-primary" if status == value else "btn-outline-primary", label)
                 for value, label in labels))
        minutes = attendance.minutes_attended
        marked_text = ""
        if attendance.marked_by_id is not None:
            at = marked_clock(attendance.marked_at.astimezone(zone)) \
                if attendance.marked_at else ""
            name = staff_name(attendance.marked_by_first_name, attendance.marked_by_last_name,
                              attendance.marked_by_username)
            marked_text = f"· by {name} {at}"
        rows.append(RosterRow(
            attendance=attendance, form=forms.get(attendance.pk),
            mark_url=urls.mark(attendance.pk), chart_url=urls.chart(attendance.participant.code),
            badge_class=_BADGE.get(status, "text-bg-success"),
            status_label=status_labels.get(status, status), buttons=buttons,
            pk=str(attendance.pk), name=attendance.participant.full_name,
            minutes_text=f"{minutes} min" if minutes is not None else "",
            # The session's length is only a placeholder: a late arrival must not silently
            # get the whole session.
            minutes_value=str(minutes) if minutes is not None else "",
            marked_text=marked_text, can_mark=status != AttendanceStatus.CANCELLED))
    return rows



# A marked row (no form), byte for byte what _roster_row.html's form-less branch wrote (kept in
# tests/staff/test_roster.py, ROW_TEMPLATE, which compares the two), as f-strings in
# _RowWriter: str.format with fourteen named fields cost 3 µs a row.
# Around each row of the roster page, the lines _roster_row.html's tags wrote when the page
# included it once a row.
_BEFORE_ROW, _AFTER_ROW = "\n\n\n", "\n\n\n\n\n"
_MAKEUP = '<span class="badge text-bg-light border makeup-badge">Make-up</span>'
_CONFIRMATION = ('<span class="badge text-bg-light border" data-confirmation="{}">{}</span>')


class _RowWriter:
    """Writes form-less rows, every value escaped as the template's autoescaping did
    (html.escape is what it calls), except what can hold nothing to escape: the ids, the
    minutes, and the row URLs when their reversed halves hold nothing to escape (checked once a
    page; what fills them in is an id or a UUID). A status's badge and a confirmation's badge
    are escaped once a page: the escaping of fourteen values a row was a tenth of the roster's
    time."""

    def __init__(self, *, session: TherapySession, markable: bool, duration: int,
                 csrf_input: str) -> None:
        self.session, self.markable, self.csrf_input = session, markable, csrf_input
        self.duration_text = escape(str(duration))
        self.confirmations: dict[str, str] = {}
        self.statuses: dict[str, tuple[str, str, str]] = {}
        self.urls_need_escaping = not RosterUrls(session).html_safe

    def _status(self, row: RosterRow) -> tuple[str, str, str]:
        key = (row.attendance.status, row.badge_class, row.status_label)
        found = self.statuses.get(key)
        if found is None:
            found = self.statuses[key] = tuple(escape(value) for value in key)
        return found

    def __call__(self, row: RosterRow) -> str:
        a, session, markable = row.attendance, self.session, self.markable
        pk = row.pk  # str(attendance.pk): digits
        mark_url, chart_url = row.mark_url, row.chart_url
        if self.urls_need_escaping:
            mark_url, chart_url = escape(mark_url), escape(chart_url)
        status, badge_class, status_label = self._status(row)
        confirmation = ""
        if a.confirmation:
            confirmation = self.confirmations.get(a.confirmation, "")
            if not confirmation:
                confirmation = self.confirmations[a.confirmation] = _CONFIRMATION.format(
                    escape(a.confirmation), escape(str(a.get_confirmation_display())))
        makeup = (_MAKEUP if a.enrollment_id and session.track_id
                  and a.enrollment_track_id != session.track_id else "")
        note = escape(a.note) if a.note else ""
        # minutes_text and minutes_value are a number (and " min") or nothing.
        controls = ""
        if markable and row.can_mark:
            duration = self.duration_text
            controls = f"""
    <div class="col-4 col-md-2">
      <label class="form-label small mb-0" for="minutes-{pk}">Minutes</label>
      <input class="form-control" type="number" min="0" max="{duration}" inputmode="numeric"
             name="minutes" id="minutes-{pk}" placeholder="{duration}"
             value="{row.minutes_value}">
    </div>
    <div class="col-8 col-md-4">
      <label class="form-label small mb-0" for="note-{pk}">Note</label>
      <input class="form-control" type="text" maxlength="300" name="note" id="note-{pk}"
             value="{note}">
    </div>
    <div class="col-12">
      <div class="d-flex flex-wrap gap-2 status-group" role="group" aria-labelledby="name-{pk}">
        {row.buttons}
      </div>
    </div>
    """
        marked_text = escape(row.marked_text) if row.marked_text else ""
        note_div = f"<div>{note}</div>" if note and not markable else ""
        return f"""<li class="list-group-item roster-row" id="attendance-{pk}">
  <form method="post" action="{mark_url}"
        hx-post="{mark_url}" hx-target="#attendance-{pk}" hx-swap="outerHTML"
        class="row g-2 align-items-end">
    {self.csrf_input}
    <div class="col-12 col-md">
      <a class="fw-semibold" href="{chart_url}" id="name-{pk}">{escape(row.name)}</a>
      <div class="small text-body-secondary">
        <span class="badge {badge_class}" data-status="{status}">{status_label}</span>
        {makeup}
        {confirmation}
        {row.minutes_text}
        {marked_text}
        {note_div}
      </div>
    </div>
    {controls}
  </form>
</li>"""


def roster_rows_html(*, rows: list[RosterRow], session: TherapySession, markable: bool,
                     duration: int, csrf_input: str) -> SafeString:
    """The roster page's rows as one string."""
    write = _RowWriter(session=session, markable=markable, duration=duration,
                       csrf_input=csrf_input)
    # Safe: every value is escaped; csrf_input and the buttons are SafeStrings.
    return mark_safe("".join(f"{_BEFORE_ROW}{write(row)}{_AFTER_ROW}" for row in rows))


def roster_row_html(*, row: RosterRow, session: TherapySession, markable: bool, duration: int,
                    csrf_input: str) -> SafeString:
    """One marked row, as the answer to a marking prints it (in _roster_row.html)."""
    # Safe: every value is escaped; csrf_input and the buttons are SafeStrings.
    return mark_safe(_RowWriter(session=session, markable=markable, duration=duration,
                                csrf_input=csrf_input)(row))


_SHEET_ROW = ('\n      <tr><td class="sheet-n">{}</td><td class="sheet-name">{}, {}</td>\n'
              '        <td>{}</td><td></td><td></td><td></td></tr>\n      ')


def sheet_rows_html(*, attendances: list[RosterEntry]) -> SafeString:
    """The sign-in sheet's numbered rows (_sign_in_sheet.html's loop), written in one go."""
    # Safe: every value is escaped; the numbers are a counter.
    return mark_safe("".join(
        _SHEET_ROW.format(number, escape(a.participant.last_name),
                          escape(a.participant.first_name),
                          "Excused" if a.status == AttendanceStatus.EXCUSED else "")
        for number, a in enumerate(attendances, start=1)))
