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

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils import dateformat

from iop_clinic.formatting import clinic_format

from ..models import Attendance, AttendanceChange, AttendanceStatus, TherapySession
from .audited import rows_update
from .followups import followups_after_marking
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
    if status not in AttendanceStatus.marked():
        raise ValidationError({"status": ValidationError(
            _("Choose present, late, left early, absent or excused."), code="invalid_status")})
    note = (note or "").strip()
    if len(note) > 300:
        raise ValidationError({"note": ValidationError(
            _("Keep the note to 300 characters."), code="note_too_long")})
    # Re-read under a row lock so two taps at once cannot both record the "old" value.
    locked = (Attendance.objects.select_for_update(of=("self",))
              .select_related("session__site", "session__track__program", "participant",
                              "enrollment")
              .get(pk=attendance.pk))
    session = locked.session
    _check_markable(session)
    if locked.status == AttendanceStatus.CANCELLED:
        raise ValidationError(_("The clinic cancelled this visit; it cannot be marked."),
                              code="attendance_cancelled")
    new_minutes = _minutes_for(session=session, status=status, minutes=minutes)
    was_marked = locked.status in AttendanceStatus.marked()
    unchanged = (locked.status, locked.minutes_attended, locked.note) == (status, new_minutes, note)
    if was_marked and unchanged:
        return locked
    now = timezone.now()
    if was_marked:
        AttendanceChange.objects.create(
            attendance=locked, old_status=locked.status, new_status=status,
            old_minutes=locked.minutes_attended, new_minutes=new_minutes,
            old_note=locked.note, new_note=note, changed_by=by, changed_at=now,
        )
    previous_status = locked.status
    locked.status = status
    locked.minutes_attended = new_minutes
    locked.note = note
    locked.marked_by = by
    locked.marked_at = now
    locked.save(update_fields=["status", "minutes_attended", "note", "marked_by", "marked_at"])
    followups_after_marking(attendance=locked, previous_status=previous_status, by=by)
    attendance_changed(participant_ids=[locked.participant_id])
    return locked


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
