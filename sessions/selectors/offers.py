"""Seat offers as the person offered sees them: when to answer by and their first visit."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from participants.models import Enrollment, EnrollmentStatus, Participant

from ..models import SessionStatus, TherapySession
from ..services.offers import offer_is_open


@dataclass(frozen=True)
class OpenOffer:
    """What the answer page shows: neutral facts only (no program, track or session)."""
    enrollment_id: int
    answer_by: datetime
    first_start: datetime | None  # the first track session from the admission date, if any
    site_alias: str
    site_phone: str
    site_address: str


def _offers(enrollments: QuerySet[Enrollment], *, now: datetime,
            offered_by: datetime | None = None) -> list[OpenOffer]:
    first = (TherapySession.objects.filter(
        track_id=OuterRef("track_id"), status=SessionStatus.SCHEDULED, starts_at__gt=now,
        local_date__gte=OuterRef("admission_date")).order_by("starts_at").values("starts_at")[:1])
    rows = (enrollments.filter(status=EnrollmentStatus.WAITLISTED, seat_offered_at__isnull=False)
            .select_related("track__program", "track__site")
            .annotate(first_start=Subquery(first)).order_by("seat_offered_at", "pk"))
    return [
        OpenOffer(enrollment_id=e.pk,
                  answer_by=e.seat_offered_at + timedelta(hours=e.track.program.seat_offer_hours),
                  first_start=e.first_start, site_alias=e.track.site.public_alias,
                  site_phone=e.track.site.phone, site_address=e.track.site.address)
        for e in rows if offer_is_open(e, now=now, offered_by=offered_by)
    ]


def open_offers_for(*, participant: Participant, now: datetime | None = None) -> list[OpenOffer]:
    """The participant's offers still open, oldest first. One query."""
    return _offers(Enrollment.objects.filter(participant=participant), now=now or timezone.now())


def open_offer_by_link(*, enrollment_id: int, link_created_at: datetime,
                       now: datetime | None = None) -> OpenOffer | None:
    """The offer a one-time link answers, if still open (offered before the link was made)."""
    offers = _offers(Enrollment.objects.filter(pk=enrollment_id), now=now or timezone.now(),
                     offered_by=link_created_at)
    return offers[0] if offers else None
