"""Expected attendance: who is due at which session, derived from enrollments and sessions.

Schedule generation, personal sessions and enrollment all end here, so the rule "an active
enrollment expects its participant at every scheduled track session in its window" lives once.
"""
from collections.abc import Iterable
from datetime import date

from django.db.models import QuerySet

from participants.models import Enrollment, EnrollmentStatus

from ..models import Attendance, AttendanceStatus, SessionStatus, TherapySession


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
    One query per track plus the bulk insert, whatever the size.
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
        candidates = (sessions if sessions is not None else TherapySession.objects).filter(
            track_id=track_id, status=SessionStatus.SCHEDULED,
            local_date__gte=start, local_date__lte=end,
        ).only("pk", "local_date")
        for session in candidates:
            for enrollment in track_enrollments:
                if enrollment.admission_date <= session.local_date <= _window_end(enrollment):
                    rows.append(Attendance(
                        session_id=session.pk, participant_id=enrollment.participant_id,
                        enrollment_id=enrollment.pk, status=AttendanceStatus.EXPECTED,
                    ))
    Attendance.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)
