"""Expected attendance: who is due at which session, derived from enrollments and sessions.

Schedule generation, personal sessions and enrollment all end here, so the rule "an active
enrollment expects its participant at every scheduled track session in its window" lives once.
"""
from collections.abc import Iterable
from datetime import date

from django.db.models import QuerySet

from participants.models import Enrollment, EnrollmentStatus

from ..models import Attendance, AttendanceStatus, SessionStatus, TherapySession
from .audited import rows_audit_created


def _window_end(enrollment: Enrollment) -> date:
    return enrollment.discharge_date or enrollment.planned_end_date


def attendance_expect(
    *,
    enrollments: Iterable[Enrollment],
    sessions: QuerySet[TherapySession] | None = None,
    from_date: date | None = None,
) -> int:
    """Create "expected" attendance for active enrollments at their track's scheduled sessions.

    Only sessions inside each enrollment's window (admission to planned end or discharge) and on
    or after `from_date` count. Existing rows are left as they are, so calling it twice changes
    nothing. Returns how many rows were offered to the database (existing ones are skipped).
    One query per track plus the bulk insert and its audit entries, whatever the size.
    """
    by_track: dict[int, list[Enrollment]] = {}
    for enrollment in enrollments:
        if enrollment.status == EnrollmentStatus.ACTIVE:
            by_track.setdefault(enrollment.track_id, []).append(enrollment)
    rows: list[Attendance] = []
    for track_id, track_enrollments in by_track.items():
        start = min(e.admission_date for e in track_enrollments)
        if from_date and from_date > start:
            start = from_date
        end = max(_window_end(e) for e in track_enrollments)
        # The session type comes along for the audit trail's description of each new row.
        candidates = (sessions if sessions is not None else TherapySession.objects).filter(
            track_id=track_id, status=SessionStatus.SCHEDULED,
            local_date__gte=start, local_date__lte=end,
        ).select_related("session_type")
        for session in candidates:
            for enrollment in track_enrollments:
                if enrollment.admission_date <= session.local_date <= _window_end(enrollment):
                    row = Attendance(session=session, participant_id=enrollment.participant_id,
                                     enrollment_id=enrollment.pk,
                                     status=AttendanceStatus.EXPECTED)
                    if _PARTICIPANT.is_cached(enrollment):
                        row.participant = enrollment.participant
                    rows.append(row)
    if not rows:
        return 0
    # ignore_conflicts leaves the new rows without primary keys, so the audit trail reads back
    # the rows just offered that were not there before: two queries, whatever the size.
    session_ids = {row.session_id for row in rows}
    participant_ids = {row.participant_id for row in rows}
    pairs = Attendance.objects.filter(session_id__in=session_ids,
                                      participant_id__in=participant_ids)
    existing = set(pairs.values_list("session_id", "participant_id"))
    Attendance.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    offered = {(row.session_id, row.participant_id): row for row in rows
               if (row.session_id, row.participant_id) not in existing}
    new = []
    for pk, session_id, participant_id in pairs.values_list("pk", "session_id",
                                                            "participant_id"):
        row = offered.get((session_id, participant_id))
        if row is not None:
            row.pk = pk
            new.append(row)
    if all(_ATTENDANCE_PARTICIPANT.is_cached(row) for row in new):
        # Everything the audit trail describes is in memory: no need to read 70,000 rows back.
        rows_audit_created(model=Attendance, pks=[], objects=new)
    else:
        rows_audit_created(model=Attendance, pks=[row.pk for row in new])
    return len(rows)


_PARTICIPANT = Enrollment._meta.get_field("participant")
_ATTENDANCE_PARTICIPANT = Attendance._meta.get_field("participant")
