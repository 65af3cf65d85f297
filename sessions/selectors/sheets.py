"""Sign-in sheets: who is on each session's paper, for one session or a whole day at a site."""
from __future__ import annotations

from datetime import date

from django.db.models import Prefetch

from ..models import Attendance, AttendanceStatus, SessionStatus, TherapySession

SHEET_RELATED = ("site", "room", "facilitator", "session_type", "participant")


def _sheet_attendance():
    """Everyone expected on the paper, by name; nobody the clinic took off (cancelled)."""
    return (Attendance.objects.exclude(status=AttendanceStatus.CANCELLED)
            .select_related("participant")
            .order_by("participant__last_name", "participant__first_name", "pk"))


def day_sheets(*, site_id: int, day: date) -> list[TherapySession]:
    """The day's sessions at one site that still take place, in time order, each with
    `sheet_rows` (its attendance, by name). Two queries whatever the day holds."""
    return list(
        TherapySession.objects.filter(site_id=site_id, local_date=day,
                                      status=SessionStatus.SCHEDULED)
        .select_related(*SHEET_RELATED)
        .prefetch_related(Prefetch("attendances", queryset=_sheet_attendance(),
                                   to_attr="sheet_rows"))
        .order_by("starts_at", "pk"))
