"""Reads about participants: consent, and the waitlist of a track."""
from django.db.models import Q, QuerySet

from programs.models import Track

from .models import ContactConsent, Enrollment, EnrollmentStatus, Participant


def participant_has_consent(*, participant: Participant, channel: str) -> bool:
    """Whether consent to contact `participant` on `channel` stands now."""
    return participant.has_consent(channel)


def consent_history(*, participant: Participant) -> QuerySet[ContactConsent]:
    """Every consent given and revoked, newest first per channel."""
    return ContactConsent.objects.filter(participant=participant).order_by(
        "channel", "-given_at", "-pk")


def track_seats_taken(*, track: Track) -> int:
    """Seats in use: active and on-hold enrollments, plus seats held for an open offer."""
    return Enrollment.objects.filter(
        Q(status__in=EnrollmentStatus.seat_holding())
        | Q(status=EnrollmentStatus.WAITLISTED, seat_offered_at__isnull=False),
        track=track,
    ).count()


def track_waitlist(*, track: Track) -> QuerySet[Enrollment]:
    """The track's waitlist in queue order (first waitlisted first; pk breaks ties)."""
    return (
        Enrollment.objects.filter(track=track, status=EnrollmentStatus.WAITLISTED)
        .select_related("participant")
        .order_by("waitlisted_at", "pk")
    )


def waitlist_position(enrollment: Enrollment) -> int | None:
    """1-based place in the track's queue, or None when not waitlisted.

    People holding an offered seat keep their place in the count until they answer.
    """
    if enrollment.status != EnrollmentStatus.WAITLISTED or enrollment.waitlisted_at is None:
        return None
    ahead = Enrollment.objects.filter(
        Q(waitlisted_at__lt=enrollment.waitlisted_at)
        | Q(waitlisted_at=enrollment.waitlisted_at, pk__lt=enrollment.pk),
        track_id=enrollment.track_id, status=EnrollmentStatus.WAITLISTED,
    ).count()
    return ahead + 1
