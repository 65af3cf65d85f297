"""Make-up sessions: a participant who missed a group is booked into another track's session of
the same kind that has a free seat.

A make-up is an attendance row at another track's session that belongs to the participant's
own enrollment (`attendance.enrollment.track_id != session.track_id`): the hours ledger counts
it in their own week, the roster shows it as a make-up, and it takes one of that session's
seats (the hosting track's capacity counts its enrolled people's rows plus make-ups).
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from participants.models import Enrollment, EnrollmentStatus, Participant
from programs.models import SessionKind

from ..models import Attendance, AttendanceStatus, SessionStatus, TherapySession
from ..selectors.makeups import MISSED_STATUSES, makeup_of
from ..signals import visits_changed
from .audited import rows_delete
from .conflicts import conflicts_refuse, resources_lock, session_conflicts, track_lock
from .enrollment import offer_free_seats

MAKEUP_KINDS = (SessionKind.GROUP, SessionKind.WORKSHOP)


def session_seats_taken(*, session: TherapySession) -> int:
    """Seats of a track session in use: every attendance row not cancelled (make-ups too)."""
    return session.attendances.exclude(status=AttendanceStatus.CANCELLED).count()


@transaction.atomic
def makeup_book(*, participant: Participant, session: TherapySession,
                missed: Attendance | None = None, by=None) -> Attendance:
    """Book `participant` into `session` (another track's group or workshop) as a make-up.

    `missed` is the attendance it makes up for: while this make-up is on (expected or
    attended) that miss has no other, and the chart stops offering one; cancelled, the offer
    comes back. A make-up of a make-up makes up for the original miss.
    Codes: no_active_enrollment, not_missed, already_made_up, not_a_group, own_track,
    kind_differs, not_ahead, session_full, already_booked, schedule_conflict.
    """
    enrollment = (Enrollment.objects.select_for_update()
                  .filter(participant=participant, status=EnrollmentStatus.ACTIVE).first())
    if enrollment is None:
        raise ValidationError(_("Only a participant in care can be booked into a make-up."),
                              code="no_active_enrollment")
    if missed is not None:
        missed = (Attendance.objects.select_for_update(of=("self",)).select_related("session")
                  .get(pk=missed.makeup_for_id or missed.pk))
        if missed.participant_id != participant.pk or missed.status not in MISSED_STATUSES:
            raise ValidationError(_("A make-up is for a session the participant missed."),
                                  code="not_missed")
        if makeup_of(missed) is not None:
            raise ValidationError(_("That session is already made up: a make-up for it is "
                                    "booked or attended."), code="already_made_up")
    session = (TherapySession.objects.select_for_update(of=("self",))
               .select_related("track", "site").get(pk=session.pk))
    if session.track_id is None or session.kind not in MAKEUP_KINDS:
        raise ValidationError(_("Make-ups are group sessions and workshops of a track."),
                              code="not_a_group")
    if session.track_id == enrollment.track_id:
        raise ValidationError(_("That session is in the participant's own track."),
                              code="own_track")
    if missed is not None and missed.session.kind != session.kind:
        raise ValidationError(_("A make-up is a session of the same kind as the one missed."),
                              code="kind_differs")
    if session.status != SessionStatus.SCHEDULED or session.starts_at <= timezone.now():
        raise ValidationError(_("Choose a scheduled session that has not started yet."),
                              code="not_ahead")
    if Attendance.objects.filter(session=session, participant=participant).exists():
        raise ValidationError(_("The participant is already booked into that session."),
                              code="already_booked")
    if session_seats_taken(session=session) >= session.track.capacity:
        raise ValidationError(_("That session has no free seat."), code="session_full")
    resources_lock(participant_ids=[participant.pk])
    conflicts_refuse(session_conflicts(starts_at=session.starts_at, ends_at=session.ends_at,
                                       participant_ids=[participant.pk]))
    attendance = Attendance.objects.create(session=session, participant=participant,
                                           enrollment=enrollment,
                                           status=AttendanceStatus.EXPECTED,
                                           makeup_for=missed, note=_("Make-up")[:300])
    visits_changed(participant_ids=[participant.pk])
    return attendance


def is_makeup(attendance: Attendance) -> bool:
    """A row of the participant's own enrollment at another track's session."""
    return (attendance.enrollment_id is not None and attendance.session.track_id is not None
            and attendance.enrollment.track_id != attendance.session.track_id)


@transaction.atomic
def makeup_cancel(*, attendance: Attendance, by=None) -> None:
    """Take back a make-up that has not started (the participant can't come after all): the
    row goes (audited), its seat in the host session is free again (offered to the host
    track's waitlist first), and the miss it made up for is offered a make-up again.
    Codes: not_a_makeup, not_ahead."""
    row = Attendance.objects.select_related("session", "enrollment").get(pk=attendance.pk)
    if not is_makeup(row):
        raise ValidationError(_("That booking is not a make-up."), code="not_a_makeup")
    track = track_lock(track_id=row.session.track_id)
    locked = (Attendance.objects.select_for_update(of=("self",)).select_related("session")
              .get(pk=row.pk))
    if (locked.status != AttendanceStatus.EXPECTED
            or locked.session.status != SessionStatus.SCHEDULED
            or locked.session.starts_at <= timezone.now()):
        raise ValidationError(_("Only a make-up still ahead can be cancelled; mark one that "
                                "has begun on its roster."), code="not_ahead")
    rows_delete(queryset=Attendance.objects.filter(pk=locked.pk))
    offer_free_seats(track)
    visits_changed(participant_ids=[locked.participant_id])
