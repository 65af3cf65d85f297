"""A participant's answer to "will you come?" (two-way SMS): recorded on their expected rows.

"Can't come" then sets going what the program chose (`Program.cant_come_reply`): a follow-up
for the clinician to call (the default), or an excused-absence request per session that day,
which the clinician approves or declines like one asked for in the portal.
"""
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from programs.models import CantComeReply

from ..models import (
    Attendance,
    AttendanceConfirmation,
    AttendanceStatus,
    ExcusedAbsenceRequest,
    ExcuseStatus,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    SessionStatus,
)
from .followups import _absence_assignee, _raise

# The request's reason, as the clinician reads it on the review page (never sent anywhere).
CANT_COME_REASON = "Replied \"2\" (can't come) to a text reminder."


@dataclass(frozen=True)
class Confirmed:
    rows: int  # expected rows that took the answer (0: nothing open to answer)
    excuse_requested: bool = False  # "can't come" raised excused-absence requests


def attendance_confirm(*, participant_id: int, starts_from: datetime, starts_until: datetime,
                       answer: str) -> Confirmed:
    """Record `answer` (confirmed / cant_come) on the participant's expected, scheduled sessions
    starting in [starts_from, starts_until), not yet begun. "Can't come" opens, per the program
    of each row, one follow-up for the participant's clinician (none if one is already open
    for that session) or an excused-absence request for each session (none where one is
    already pending). Marked attendance is never touched."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(Attendance.objects.select_for_update(of=("self",)).filter(
            participant_id=participant_id, status=AttendanceStatus.EXPECTED,
            session__status=SessionStatus.SCHEDULED, session__starts_at__gte=max(starts_from, now),
            session__starts_at__lt=starts_until,
        ).select_related("session__track__program", "session__site",
                         "enrollment__track__program", "participant__primary_clinician")
            .order_by("session__starts_at"))
        if not rows:
            return Confirmed(rows=0)
        Attendance.objects.filter(pk__in=[row.pk for row in rows]).update(
            confirmation=answer, confirmed_at=now)
        excuse_requested = (answer == AttendanceConfirmation.CANT_COME
                            and _cant_come(participant_id=participant_id, rows=rows, now=now))
    return Confirmed(rows=len(rows), excuse_requested=excuse_requested)


def cant_come_opens(attendance: Attendance) -> str:
    """What "can't come" opens for this row: its enrollment's program, else its track's."""
    program = (attendance.enrollment.track.program if attendance.enrollment_id
               else attendance.session.track.program if attendance.session.track_id else None)
    return program.cant_come_reply if program is not None else CantComeReply.FOLLOW_UP


def _cant_come(*, participant_id: int, rows: list[Attendance], now: datetime) -> bool:
    """Open what each row's program chose; True when any row went the excuse way."""
    as_excuse = [row for row in rows if cant_come_opens(row) == CantComeReply.EXCUSE]
    as_followup = [row for row in rows if row not in as_excuse]
    if as_excuse:
        pending = set(ExcusedAbsenceRequest.objects.filter(
            attendance__in=as_excuse, status=ExcuseStatus.PENDING,
        ).values_list("attendance_id", flat=True))
        for row in as_excuse:
            if row.pk not in pending:
                # Saved one by one (auditlog records each); the partial unique constraint
                # keeps a second pending request out even under a race.
                ExcusedAbsenceRequest.objects.create(
                    attendance=row, reason=CANT_COME_REASON, requested_at=now, requested_by=None)
    if as_followup:
        first = as_followup[0]
        if not FollowUp.objects.filter(
                participant_id=participant_id, kind=FollowUpKind.CANT_COME,
                session=first.session, status=FollowUpStatus.OPEN).exists():
            _raise(participant_id=participant_id, enrollment_id=first.enrollment_id,
                   kind=FollowUpKind.CANT_COME, assignee=_absence_assignee(first),
                   attendance=first, session=first.session)
    return bool(as_excuse)
