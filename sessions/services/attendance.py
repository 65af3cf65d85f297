"""Marking attendance: one participant at a time, or the rest of a roster present.

When a session can be marked (decided here, once):
- it is scheduled (a cancelled session has nobody to mark), and
- it has started: marking opens at the session's start, or up to the program's
  `marking_opens_minutes_before` earlier (front desk checking people in as they arrive), so
  nobody records a visit that has not happened. Past sessions stay markable so late paperwork
  and corrections are possible; every change after the first marking is kept in
  `AttendanceChange` with who and when.

Minutes: present credits the whole session unless fewer are entered; late and left early must
say how many minutes were attended, fewer than the session's length (else it was "present").
"""
from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils import dateformat

from iop_clinic.formatting import clinic_format

from ..models import Attendance, AttendanceChange, AttendanceStatus, TherapySession
from .audited import row_save_audited, rows_audited, rows_update
from .followups import followups_after_marking, followups_after_marking_many
from ..signals import attendance_changed


def marking_opens_at(session: TherapySession):
    """When attendance at this session may first be marked (UTC)."""
    program = session.track.program if session.track_id else None
    early = program.marking_opens_minutes_before if program else 0
    return session.starts_at - timedelta(minutes=early)


def session_markable_error(session: TherapySession, *, now=None) -> ValidationError | None:
    """Why this session cannot be marked now, or None when it can."""
    if session.is_cancelled:
        return ValidationError(_("This session was cancelled; there is no attendance to mark."),
                               code="session_cancelled")
    opens = marking_opens_at(session)
    if (now or timezone.now()) < opens:
        local = timezone.localtime(opens, session.site.zone)
        return ValidationError(
            _("This session has not started; attendance can be marked from %(when)s."),
            code="session_not_started",
            params={"when": dateformat.format(local, clinic_format("WHEN_FORMAT"))},
        )
    return None


def _check_markable(session: TherapySession) -> None:
    error = session_markable_error(session)
    if error is not None:
        raise error


def _minutes_for(*, session: TherapySession, status: str, minutes: int | None) -> int | None:
    if status not in AttendanceStatus.attended():
        # Absent and excused attend nothing, whatever the form carried along.
        return None
    full = session.duration_minutes
    partial = status in (AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY)
    if minutes is None and partial:
        raise ValidationError({"minutes": ValidationError(
            _("Late or left early: enter the minutes attended (fewer than %(full)s)."),
            code="minutes_required", params={"full": full})})
    if minutes is None:
        return full
    if minutes < 0:
        raise ValidationError({"minutes": ValidationError(
            _("Minutes cannot be negative."), code="minutes_negative")})
    if partial and minutes >= full:
        raise ValidationError({"minutes": ValidationError(
            _("Late or left early means fewer than the session's %(full)s minutes; for the "
              "whole session choose present."),
            code="minutes_not_partial", params={"full": full})})
    if minutes > full:
        raise ValidationError({"minutes": ValidationError(
            _("The session lasts %(full)s minutes; enter at most that."),
            code="minutes_too_many", params={"full": full})})
    return minutes


@transaction.atomic
def attendance_mark(
    *, attendance: Attendance, status: str, minutes: int | None = None, note: str = "", by,
) -> Attendance:
    """Mark one participant present, late, left early, absent or excused.

    Minutes default to the whole session for present; late and left early need them. Changing an attendance that
    was already marked appends an `AttendanceChange`. An unexcused absence raises follow-ups.
    """
    note = _checked_note(status=status, note=note)
    # Re-read under a row lock so two taps at once cannot both record the "old" value.
    locked = _locked(Attendance.objects.filter(pk=attendance.pk)).get()
    before = copy.copy(locked)  # the row as locked: what the audit entry diffs against
    change = _apply_mark(locked, status=status, minutes=minutes, note=note, by=by,
                         now=timezone.now())
    if change is None:
        return locked
    if change.old_status in AttendanceStatus.marked():
        change.save()
    row_save_audited(obj=locked, old=before, fields=MARK_FIELDS)
    followups_after_marking(attendance=locked, previous_status=change.old_status, by=by)
    attendance_changed(participant_ids=[locked.participant_id])
    return locked


MARK_FIELDS = ["status", "minutes_attended", "note", "marked_by", "marked_at"]


def _checked_note(*, status: str, note: str) -> str:
    if status not in AttendanceStatus.marked():
        raise ValidationError({"status": ValidationError(
            _("Choose present, late, left early, absent or excused."), code="invalid_status")})
    note = (note or "").strip()
    if len(note) > 300:
        raise ValidationError({"note": ValidationError(
            _("Keep the note to 300 characters."), code="note_too_long")})
    return note


def _locked(queryset):
    return (queryset.select_for_update(of=("self",))
            .select_related("session__site", "session__track__program", "participant",
                            "enrollment"))


def _apply_mark(locked: Attendance, *, status: str, minutes: int | None, note: str, by,
                now) -> AttendanceChange | None:
    """The rules of marking one locked attendance, applied to it in memory (nothing saved).

    Returns None when nothing changes (already marked so); otherwise the change, whose
    `old_status` is the status before. It is worth keeping (saving) only when the attendance
    had been marked before: the first marking lives on the attendance itself.
    """
    session = locked.session
    _check_markable(session)
    if locked.status == AttendanceStatus.CANCELLED:
        raise ValidationError(_("The clinic cancelled this visit; it cannot be marked."),
                              code="attendance_cancelled")
    new_minutes = _minutes_for(session=session, status=status, minutes=minutes)
    was_marked = locked.status in AttendanceStatus.marked()
    unchanged = (locked.status, locked.minutes_attended, locked.note) == (status, new_minutes, note)
    if was_marked and unchanged:
        return None
    change = AttendanceChange(
        attendance=locked, old_status=locked.status, new_status=status,
        old_minutes=locked.minutes_attended, new_minutes=new_minutes,
        old_note=locked.note, new_note=note, changed_by=by, changed_at=now,
    )
    locked.status = status
    locked.minutes_attended = new_minutes
    locked.note = note
    locked.marked_by = by
    locked.marked_at = now
    return change


def _save_marks(rows: list[Attendance], *, now, by) -> None:
    """Save marked rows in one UPDATE, then audit them all in one write.

    On PostgreSQL the rows' new values go as arrays (unnest): one statement whatever the
    number of rows and of their distinct minutes and notes (a census's late arrivals carry
    their own minutes). Elsewhere one UPDATE per distinct (status, minutes, note). Django's
    bulk_update would build a CASE per row and field, slow at thousands."""
    connection = connections[router.db_for_write(Attendance)]
    if rows and connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        meta = Attendance._meta
        column = {name: quote(meta.get_field(name).column)
                  for name in ("status", "minutes_attended", "note", "marked_by", "marked_at")}
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} AS a SET {column['status']} = v.status, "
                f"{column['minutes_attended']} = v.minutes, {column['note']} = v.note, "
                f"{column['marked_by']} = %s, {column['marked_at']} = %s "
                "FROM unnest(%s::bigint[], %s::text[], %s::integer[], %s::text[]) "
                f"AS v(id, status, minutes, note) WHERE a.{quote(meta.pk.column)} = v.id",
                [by.pk if by is not None else None, now, [row.pk for row in rows],
                 [row.status for row in rows], [row.minutes_attended for row in rows],
                 [row.note for row in rows]])
    else:
        groups: dict[tuple, list[int]] = defaultdict(list)
        for row in rows:
            groups[(row.status, row.minutes_attended, row.note)].append(row.pk)
        for (status, minutes, note), pks in groups.items():
            Attendance.objects.filter(pk__in=pks).update(
                status=status, minutes_attended=minutes, note=note, marked_by=by, marked_at=now)
    rows_audited(model=Attendance, objects=rows, fields=MARK_FIELDS)


@dataclass(frozen=True)
class MarkRequest:
    """One mark for `attendance_mark_many`."""

    attendance_id: int
    status: str
    minutes: int | None = None
    note: str = ""


@transaction.atomic
def attendance_mark_many(
    *, marks: Sequence[MarkRequest], by, notify: bool = True,
) -> list[Attendance | ValidationError]:
    """Mark many attendances at once, each as `attendance_mark` would, in the order given.

    The same rules and codes (status, note, session markable, visit not cancelled, minutes);
    changes to marked attendance are kept in `AttendanceChange`; unexcused absences raise their
    follow-ups (`followups_after_marking_many`; with `notify`, each assignee gets one email
    for the lot). Returns, per mark, the attendance or the ValidationError that refused it (a
    refused mark writes nothing). Rows are locked in pk order and written (one UPDATE on
    PostgreSQL), audited and announced in bulk: a fixed number of queries whatever the number
    of marks, sessions, people or absences.
    """
    marks = list(marks)
    results: list[Attendance | ValidationError | None] = [None] * len(marks)
    rows = {a.pk: a for a in _locked(Attendance.objects.filter(
        pk__in={m.attendance_id for m in marks})).order_by("pk")}
    now = timezone.now()
    changed: dict[int, Attendance] = {}
    previous: dict[int, str] = {}
    history: list[AttendanceChange] = []
    for index, mark in enumerate(marks):
        locked = rows.get(mark.attendance_id)
        try:
            if locked is None:
                raise ValidationError(_("This attendance no longer exists."), code="not_found")
            note = _checked_note(status=mark.status, note=mark.note)
            change = _apply_mark(locked, status=mark.status, minutes=mark.minutes, note=note,
                                 by=by, now=now)
        except ValidationError as exc:
            results[index] = exc
            continue
        results[index] = locked
        if change is None:
            continue
        if change.old_status in AttendanceStatus.marked():
            history.append(change)
        changed[locked.pk] = locked
        previous.setdefault(locked.pk, change.old_status)
    AttendanceChange.objects.bulk_create(history, batch_size=500)
    _save_marks(list(changed.values()), now=now, by=by)
    followups_after_marking_many(
        marked=[(a, previous[pk]) for pk, a in changed.items()], by=by, notify=notify)
    attendance_changed(participant_ids=[a.participant_id for a in changed.values()])
    return results


@transaction.atomic
def attendance_mark_rest_present(*, session: TherapySession, by) -> int:
    """Mark everyone still "expected" at this session present for the whole session."""
    session = TherapySession.objects.select_related("site", "track__program").get(pk=session.pk)
    _check_markable(session)
    expected = Attendance.objects.filter(session=session, status=AttendanceStatus.EXPECTED)
    participant_ids = list(expected.values_list("participant_id", flat=True))
    marked = rows_update(
        queryset=expected, status=AttendanceStatus.PRESENT,
        minutes_attended=session.duration_minutes, marked_by=by, marked_at=timezone.now(),
    )
    attendance_changed(participant_ids=participant_ids)
    return marked
