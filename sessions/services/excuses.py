"""Excused absences: a participant asks ahead of time, a clinician approves or declines."""
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from participants.models import Enrollment, EnrollmentStatus
from programs.models import Program

from sessions.signals import excuse_decision_made, visits_changed
from ..models import (
    Attendance, AttendanceStatus, ExcusedAbsenceRequest, ExcuseStatus, SessionStatus,
)
from .audited import rows_update

REASON_MAX_LENGTH = 500


def excuse_program(attendance: Attendance, *, fallback: Program | None = None) -> Program | None:
    """The program whose notice rule applies: the attendance's enrollment, else the track's,
    else `fallback` (the caller's current enrollment), else the participant's current one."""
    if attendance.enrollment_id:
        return attendance.enrollment.track.program
    if attendance.session.track_id:
        return attendance.session.track.program
    if fallback is not None:
        return fallback
    enrollment = (Enrollment.objects.select_related("track__program")
                  .filter(participant_id=attendance.participant_id,
                          status__in=EnrollmentStatus.seat_holding())
                  .first())
    return enrollment.track.program if enrollment else None


def excuse_deadline(attendance: Attendance, *, fallback: Program | None = None):
    """The last moment an excuse may be asked for: the session start minus the notice hours."""
    program = excuse_program(attendance, fallback=fallback)
    hours = program.excused_notice_hours if program else Program._meta.get_field(
        "excused_notice_hours").default
    return attendance.session.starts_at - timedelta(hours=hours)


@transaction.atomic
def excuse_request(*, attendance: Attendance, reason: str, by) -> ExcusedAbsenceRequest:
    """Ask to be excused from a future session, at least the program's notice ahead."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Please give a reason."), code="reason_required")
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            _("Please keep the reason under %(limit)s characters.") % {"limit": REASON_MAX_LENGTH},
            code="reason_too_long")
    attendance = (Attendance.objects.select_for_update(of=("self",))
                  .select_related("session__track__program", "enrollment__track__program",
                                  "participant")
                  .get(pk=attendance.pk))
    is_self = by is not None and attendance.participant.user_id == by.pk
    if not (is_self or getattr(by, "is_clinic_staff", False)):
        raise ValidationError(_("Only the participant or clinic staff may ask for an excuse."),
                              code="not_allowed")
    if attendance.session.status != SessionStatus.SCHEDULED:
        raise ValidationError(_("This session is cancelled; there is nothing to be excused from."),
                              code="session_cancelled")
    if attendance.status != AttendanceStatus.EXPECTED:
        raise ValidationError(_("This session is no longer open for an excuse."),
                              code="not_expected")
    deadline = excuse_deadline(attendance)
    if timezone.now() > deadline:
        hours = int((attendance.session.starts_at - deadline).total_seconds() // 3600)
        raise ValidationError(
            _("Excused absences must be asked for at least %(hours)s hours before the session. "
              "Please call us instead.") % {"hours": hours}, code="too_late")
    if attendance.excuse_requests.filter(status=ExcuseStatus.PENDING).exists():
        raise ValidationError(_("You have already asked to be excused from this session."),
                              code="already_requested")
    return ExcusedAbsenceRequest.objects.create(
        attendance=attendance, reason=reason, requested_at=timezone.now(), requested_by=by,
    )


def _pending_for_update(request: ExcusedAbsenceRequest) -> ExcusedAbsenceRequest:
    locked = (ExcusedAbsenceRequest.objects.select_for_update(of=("self",))
              .select_related("attendance__session").get(pk=request.pk))
    if locked.status != ExcuseStatus.PENDING:
        raise ValidationError("This request has already been answered.", code="already_answered")
    return locked


@transaction.atomic
def excuse_approve(*, request: ExcusedAbsenceRequest, by) -> ExcusedAbsenceRequest:
    """Excuse the participant: the attendance becomes "excused" and reminders are re-planned.

    Re-planning drops that day's reminders when no other session of theirs remains that day.
    """
    locked = _pending_for_update(request)
    attendance = Attendance.objects.select_for_update().get(pk=locked.attendance_id)
    if attendance.status != AttendanceStatus.EXPECTED:
        raise ValidationError("Attendance for this session was already recorded; decline instead.",
                              code="already_marked")
    now = timezone.now()
    rows_update(
        queryset=Attendance.objects.filter(pk=attendance.pk),
        status=AttendanceStatus.EXCUSED, minutes_attended=None, marked_by=by, marked_at=now)
    rows_update(
        queryset=ExcusedAbsenceRequest.objects.filter(pk=locked.pk),
        status=ExcuseStatus.APPROVED, decided_at=now, decided_by=by)
    visits_changed(participant_ids=[attendance.participant_id])
    excuse_decision_made(attendance_id=attendance.pk)
    locked.refresh_from_db()
    return locked


@transaction.atomic
def excuse_decline(*, request: ExcusedAbsenceRequest, by, note: str = "") -> ExcusedAbsenceRequest:
    """Say no; the participant stays expected and sees the note."""
    note = (note or "").strip()
    if len(note) > 300:
        raise ValidationError("Please keep the note under 300 characters.", code="note_too_long")
    locked = _pending_for_update(request)
    rows_update(
        queryset=ExcusedAbsenceRequest.objects.filter(pk=locked.pk),
        status=ExcuseStatus.DECLINED, decided_at=timezone.now(), decided_by=by,
        decision_note=note)
    excuse_decision_made(attendance_id=locked.attendance_id)
    locked.refresh_from_db()
    return locked
