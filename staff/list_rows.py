"""The rows of the follow-up list and of the caseload (participant search) as plain values,
so their templates do no work per row.

A page of 25 resolved a `{% url %}`, labels and date filters per row in the template (the
caseload also looped over every status to find each row's label); here each URL is reversed
once a page and completed per row, and each label and date is formatted once a page.

Rows are dicts (TypedDict), not dataclasses: the template looks a variable's name up as a dict
key first and, on an object, pays for the exception before trying the attribute. The pages
print each table's rows written here (`followup_rows_html`, `caseload_rows_html`), every value
escaped as the template's autoescaping did (html.escape is what it calls): the templates' row
loops were half of their pages' templates. Those loops now live only in
tests/staff/test_list_rows.py, which compares each page with them, byte for byte.
"""
from __future__ import annotations

from html import escape
from typing import TypedDict

from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe

from iop_clinic.page_rows import PLACEHOLDER_CODE, RowUrl, choice_labels
from participants.models import EnrollmentStatus
from sessions.models import FollowUp
from staff.chart_rows import PageFormats



class FollowUpListRow(TypedDict):
    url: str
    name: str
    kind: str
    is_week: bool
    about: str
    assignee: str
    created: str
    status: str


def followup_list_rows(followups) -> list[FollowUpListRow]:
    """`followups`: dicts of sessions.selectors.pages.FOLLOWUP_LIST_FIELDS."""
    detail, fmt = RowUrl("followup_detail"), PageFormats()
    kinds, statuses = choice_labels(FollowUp, "kind"), choice_labels(FollowUp, "status")
    rows = []
    for f in followups:
        assignee = f"{f['assignee__first_name'] or ''} {f['assignee__last_name'] or ''}".strip()
        rows.append(FollowUpListRow(
            url=detail(f["pk"]),
            name=f"{f['participant__first_name']} {f['participant__last_name']}",
            kind=kinds.get(f["kind"], f["kind"]),
            # The day it is about: the missed visit day, or the short week's Monday.
            is_week=bool(f["week_start"] and not f["missed_on"]),
            about=fmt.day(f["missed_on"] or f["week_start"]),
            assignee=assignee or "Unassigned",
            # |when shows an aware time in the current zone (the staff decorator's site).
            created=fmt.when(timezone.localtime(f["created_at"])),
            status=statuses.get(f["status"], f["status"])))
    return rows


class CaseloadRow(TypedDict):
    chart_url: str
    name: str
    record_number: str
    status: str
    status_label: str
    badge_class: str
    track: str
    since: str
    home_site: str
    clinician: str


_BADGE = {EnrollmentStatus.ACTIVE: "success", EnrollmentStatus.ON_HOLD: "warning",
          EnrollmentStatus.WAITLISTED: "warning"}


def caseload_rows(participants) -> list[CaseloadRow]:
    """`participants`: dicts of sessions.selectors.caseload.CASELOAD_FIELDS."""
    chart = RowUrl("participant_chart", placeholder=PLACEHOLDER_CODE)
    labels = {value: str(label) for value, label in EnrollmentStatus.choices}
    # Admission dates formatted once each: a rolling track admits people on a few days.
    days: dict = {}
    rows = []
    for p in participants:
        status, admitted = p["current_status"], p["current_admission"]
        if admitted and admitted not in days:
            days[admitted] = formats.date_format(admitted)
        clinician = (f"{p['primary_clinician__first_name'] or ''} "
                     f"{p['primary_clinician__last_name'] or ''}").strip()
        rows.append(CaseloadRow(
            chart_url=chart(p["code"]),
            name=f"{p['last_name']}, {p['first_name']}", record_number=p["record_number"],
            status=status or "",
            # The status's label, or nothing for a value no longer among the choices.
            status_label=labels.get(status, "") if status else "",
            badge_class=_BADGE.get(status, "light border"),
            track=p["current_track"] or "—",
            since=days[admitted] if admitted else "",
            home_site=p["home_site__name"] or "", clinician=clinician or "—"))
    return rows


# One row as templates/staff/sessions/followup_list.html's loop wrote it (its copy:
# tests/staff/test_list_rows.py FOLLOWUP_LOOP).
_FOLLOWUP_ROW = """
  <tr>
    <td><a href="{url}">{name}</a></td>
    <td>{kind}</td>
    <td class="followup-day">{week}{about}</td>
    <td>{assignee}</td>
    <td>{created}</td>
    <td>{status}</td>
  </tr>
  """


def followup_rows_html(rows: list[FollowUpListRow]) -> SafeString:
    # Safe: every value is escaped.
    return mark_safe("".join(_FOLLOWUP_ROW.format(
        url=escape(r["url"]), name=escape(r["name"]), kind=escape(r["kind"]),
        week="week of " if r["is_week"] else "", about=escape(r["about"]),
        assignee=escape(r["assignee"]), created=escape(r["created"]),
        status=escape(r["status"])) for r in rows))


# One row as templates/staff/participants/_results.html's loop wrote it (its copy:
# tests/staff/test_list_rows.py CASELOAD_LOOP).
_CASELOAD_ROW = """
  <tr>
    <td><a href="{url}">{name}</a>{at_risk}</td>
    <td>{record_number}</td>
    <td>{status}</td>
    <td>{track}{since}</td>
    <td>{home_site}</td>
    <td>{clinician}</td>
  </tr>
  """
_AT_RISK = ' <span class="badge text-bg-warning">At risk</span>'
_NOT_ENROLLED = '<span class="text-body-secondary">Not enrolled</span>'
_STATUS = '<span class="badge text-bg-{}">{}</span>'
_SINCE = '<div class="small text-body-secondary">since {}</div>'


def caseload_rows_html(rows: list[CaseloadRow], *, at_risk: bool) -> SafeString:
    # Safe: every value is escaped.
    return mark_safe("".join(_CASELOAD_ROW.format(
        url=escape(r["chart_url"]), name=escape(r["name"]), at_risk=_AT_RISK if at_risk else "",
        record_number=escape(r["record_number"]),
        status=(_STATUS.format(escape(r["badge_class"]), escape(r["status_label"]))
                if r["status"] else _NOT_ENROLLED),
        track=escape(r["track"]),
        since=_SINCE.format(escape(r["since"])) if r["since"] else "",
        home_site=escape(r["home_site"]), clinician=escape(r["clinician"])) for r in rows))
