"""Sessions a participant could take as a make-up (see sessions/services/makeups.py)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, F, Q

from ..models import Attendance, AttendanceStatus, SessionStatus, TherapySession

MAKEUP_DAYS_AHEAD = 14
# A miss the chart offers a make-up for: the participant's absence, excused or not, or the
# clinic's cancellation (a closure included: the clinic's shortfall).
MISSED_STATUSES = (AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED, AttendanceStatus.CANCELLED)
# A make-up still making up for its miss: booked and not cancelled, or attended. One the clinic
# cancelled, or that the participant missed too, gives the miss its offer back.
LIVE_MAKEUP_STATUSES = (AttendanceStatus.EXPECTED, *AttendanceStatus.attended())


def live_makeups():
    """Make-up rows still making up for their miss (filter further by `makeup_for`)."""
    return Attendance.objects.filter(status__in=LIVE_MAKEUP_STATUSES,
                                     session__status=SessionStatus.SCHEDULED)


def makeup_of(missed: Attendance) -> Attendance | None:
    """The make-up still making up for `missed` (for a make-up row: for the miss it was
    booked for, as a make-up of a make-up makes up for the original miss), or None. One
    query."""
    return (live_makeups().filter(makeup_for_id=missed.makeup_for_id or missed.pk)
            .select_related("session__session_type").first())


def makeup_options(*, enrollment, kind: str, now: datetime, limit: int = 10) -> list:
    """Other tracks' sessions of `kind` at the enrollment's site in the next two weeks with a
    free seat, that the participant is not already in, soonest first. One query."""
    return list(
        TherapySession.objects.filter(
            site_id=enrollment.track.site_id, track__isnull=False, kind=kind,
            status=SessionStatus.SCHEDULED, starts_at__gt=now,
            starts_at__lt=now + timedelta(days=MAKEUP_DAYS_AHEAD))
        .exclude(track_id=enrollment.track_id)
        .exclude(attendances__participant_id=enrollment.participant_id)
        .annotate(taken=Count("attendances",
                              filter=~Q(attendances__status=AttendanceStatus.CANCELLED)))
        .filter(taken__lt=F("track__capacity"))
        .select_related("track", "session_type", "room")
        .order_by("starts_at", "pk")[:limit])


def makeup_seats_ahead(*, track, now: datetime) -> int:
    """The most make-up seats any of the track's sessions ahead holds. Someone who joins the
    track is expected at every one of those sessions, so that many of its seats are not free to
    enroll into until the make-ups are over. One query."""
    return (Attendance.objects
            .filter(session__track=track, session__status=SessionStatus.SCHEDULED,
                    session__starts_at__gt=now, enrollment__isnull=False)
            .exclude(status=AttendanceStatus.CANCELLED)
            .exclude(enrollment__track_id=F("session__track_id"))
            .values("session_id").annotate(seats=Count("pk"))
            .order_by("-seats").values_list("seats", flat=True).first()) or 0
