"""The follow-up list's rows as plain values, so its template does no work per row.

A page of 25 follow-ups resolved a `{% url %}`, two labels, `|day` and `|when` per row in the
template; here the URL is reversed once and each label and date formatted once a page.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from sessions.models import FollowUp
from staff.chart_rows import PageFormats, Url, choice_labels


@dataclass
class FollowUpListRow:
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
    detail, fmt = Url("followup_detail"), PageFormats()
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
