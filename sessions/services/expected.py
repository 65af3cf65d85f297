"""Expected attendance: who is due at which session, derived from enrollments and sessions.

Schedule generation, personal sessions and enrollment all end here, so the rule "an active
enrollment expects its participant at every scheduled track session in its window" lives once.
"""
from collections.abc import Iterable
from datetime import date

from django.db import connections, router
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
    new = _insert_new(rows)
    if all(_ATTENDANCE_PARTICIPANT.is_cached(row) for row in new):
        # Everything the audit trail describes is in memory: no need to read 70,000 rows back.
        rows_audit_created(model=Attendance, pks=[], objects=new)
    else:
        rows_audit_created(model=Attendance, pks=[row.pk for row in new])
    return len(rows)


_PARTICIPANT = Enrollment._meta.get_field("participant")
_ATTENDANCE_PARTICIPANT = Attendance._meta.get_field("participant")


_VARYING = ("session", "participant", "enrollment")
_ROWS_PER_INSERT = 10000


def _insert_new(rows: list[Attendance]) -> list[Attendance]:
    """Insert the rows not there yet (a row per session and participant); returns the new ones,
    their primary keys set.

    On PostgreSQL the rows go as three id arrays (unnest) with ON CONFLICT DO NOTHING
    RETURNING the new ids: a census import expects 70,000 visits, and bulk_create's
    per-field preparation of that many instances costs more than the database's work.
    Elsewhere bulk_create(ignore_conflicts) leaves the rows without keys, so the ones not
    there before are read back: two queries, whatever the size.
    """
    connection = connections[router.db_for_write(Attendance)]
    fields = [f for f in Attendance._meta.concrete_fields if not f.primary_key]
    fixed = [f for f in fields if f.name not in _VARYING]
    prototype = rows[0]
    fixed_values = [f.pre_save(prototype, True) for f in fixed]
    alike = all(f.value_from_object(row) == value for row in rows
                for f, value in zip(fixed, fixed_values))
    if connection.vendor == "postgresql" and alike:
        return _insert_unnested(connection, rows, fixed, fixed_values)
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
    return new


def _insert_unnested(connection, rows, fixed, fixed_values) -> list[Attendance]:
    quote = connection.ops.quote_name
    meta = Attendance._meta
    varying = [meta.get_field(name) for name in _VARYING]
    columns = ", ".join(quote(f.column) for f in varying + fixed)
    sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) "
           f"SELECT u.s, u.p, u.e{', %s' * len(fixed)} "
           "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS u(s, p, e) "
           f"ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}, "
           f"{quote(varying[0].column)}, {quote(varying[1].column)}")
    prepared = [f.get_db_prep_save(value, connection) for f, value in zip(fixed, fixed_values)]
    by_pair = {(row.session_id, row.participant_id): row for row in rows}
    new = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start:start + _ROWS_PER_INSERT]
            cursor.execute(sql, [*prepared, [r.session_id for r in chunk],
                                 [r.participant_id for r in chunk],
                                 [r.enrollment_id for r in chunk]])
            for pk, session_id, participant_id in cursor.fetchall():
                row = by_pair[(session_id, participant_id)]
                row.pk = pk
                new.append(row)
    return new
