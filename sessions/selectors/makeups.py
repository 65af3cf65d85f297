"""Sessions a participant could take as a make-up (see sessions/services/makeups.py)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, F, Q

from ..models import AttendanceStatus, SessionStatus, TherapySession

MAKEUP_DAYS_AHEAD = 14


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
