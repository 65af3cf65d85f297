"""A participant's answer to "will you come?" (two-way SMS): recorded on their expected rows."""
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..models import (
    Attendance,
    AttendanceConfirmation,
    AttendanceStatus,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    SessionStatus,
)
from .followups import _absence_assignee, _raise


def attendance_confirm(*, participant_id: int, starts_from: datetime, starts_until: datetime,
                       answer: str) -> int:
    """Record `answer` (confirmed / cant_come) on the participant's expected, scheduled sessions
    starting in [starts_from, starts_until), not yet begun. "Can't come" opens one follow-up for
    the participant's clinician (none if one is already open for that session). Returns how
    many rows were updated; marked attendance is never touched."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(Attendance.objects.select_for_update(of=("self",)).filter(
            participant_id=participant_id, status=AttendanceStatus.EXPECTED,
            session__status=SessionStatus.SCHEDULED, session__starts_at__gte=max(starts_from, now),
            session__starts_at__lt=starts_until,
        ).select_related("session__track", "session__site", "participant__primary_clinician")
            .order_by("session__starts_at"))
        if not rows:
            return 0
        Attendance.objects.filter(pk__in=[row.pk for row in rows]).update(
            confirmation=answer, confirmed_at=now)
        first = rows[0]
        if answer == AttendanceConfirmation.CANT_COME and not FollowUp.objects.filter(
                participant_id=participant_id, kind=FollowUpKind.CANT_COME,
                session=first.session, status=FollowUpStatus.OPEN).exists():
            _raise(participant_id=participant_id, enrollment_id=first.enrollment_id,
                   kind=FollowUpKind.CANT_COME, assignee=_absence_assignee(first),
                   attendance=first, session=first.session)
    return len(rows)
