"""Reads about participants: consent, and the waitlist of a track."""
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from django.db import connections, router
from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects

from iop_clinic.compiled import CompiledQuery, compile_once
from programs.models import Track

from .models import (
    Contact, ContactConsent, DisclosureConsent, Enrollment, EnrollmentStatus, Participant,
)


def participant_has_consent(*, participant: Participant, channel: str) -> bool:
    """Whether consent to contact `participant` on `channel` stands now."""
    return participant.has_consent(channel)


def consent_history(*, participant: Participant) -> QuerySet[ContactConsent]:
    """Every consent given and revoked, newest first per channel."""
    return ContactConsent.objects.filter(participant=participant).order_by(
        "channel", "-given_at", "-pk")


@dataclass(frozen=True)
class Seats:
    """A track's seats, the one definition every page and rule uses.

    A taken seat is an active or on-hold enrollment, or a seat held for a waitlisted person who
    has been offered it and not answered yet. Pages show the parts, not only the sum.
    """

    capacity: int
    active: int = 0
    on_hold: int = 0
    offered: int = 0

    @property
    def taken(self) -> int:
        return self.active + self.on_hold + self.offered

    @property
    def free(self) -> int:
        return max(self.capacity - self.taken, 0)


def seat_rows(prefix: str = "") -> Q:
    """Enrollments that take a seat (see `Seats`); `prefix` reaches them from another model."""
    return (Q(**{f"{prefix}status__in": EnrollmentStatus.seat_holding()})
            | Q(**{f"{prefix}status": EnrollmentStatus.WAITLISTED,
                   f"{prefix}seat_offered_at__isnull": False}))


def seat_annotations() -> dict:
    """The parts of `Seats` as annotations on a Track queryset (for lists such as the admin's)."""
    taken = seat_rows("enrollments__")
    return {
        "seats_active": Count("enrollments", filter=taken & Q(enrollments__status="active")),
        "seats_on_hold": Count("enrollments", filter=taken & Q(enrollments__status="on_hold")),
        "seats_offered": Count("enrollments", filter=taken & Q(enrollments__status="waitlisted")),
    }


def seats_of(track: Track) -> Seats:
    """`Seats` of a track annotated with `seat_annotations()`."""
    return Seats(capacity=track.capacity, active=track.seats_active,
                 on_hold=track.seats_on_hold, offered=track.seats_offered)


def track_seats(*, tracks: Iterable[Track]) -> dict[int, Seats]:
    """Seats of each track, by track id: one query whatever the number of tracks."""
    tracks = list(tracks)
    counts: dict[int, dict[str, int]] = {t.pk: {} for t in tracks}
    rows = (Enrollment.objects.filter(seat_rows(), track_id__in=list(counts))
            .values("track_id", "status").annotate(n=Count("pk")).order_by())
    for row in rows:
        counts[row["track_id"]][row["status"]] = row["n"]
    return {t.pk: Seats(capacity=t.capacity,
                        active=counts[t.pk].get(EnrollmentStatus.ACTIVE, 0),
                        on_hold=counts[t.pk].get(EnrollmentStatus.ON_HOLD, 0),
                        offered=counts[t.pk].get(EnrollmentStatus.WAITLISTED, 0))
            for t in tracks}


def seats_among(*, track: Track, enrollments: Iterable) -> Seats:
    """The track's seats counted from its enrollments already read, as `seat_rows` counts
    them in SQL: for a page that lists every active, on-hold and waitlisted person of the
    track anyway, so counting costs no query. `enrollments` are Enrollment instances or rows
    with their `status`, `seat_offered_at` and `track_id`."""
    counts: dict[str, int] = {}
    for enrollment in enrollments:
        takes_seat = (enrollment.status in EnrollmentStatus.seat_holding()
                      or (enrollment.status == EnrollmentStatus.WAITLISTED
                          and enrollment.seat_offered_at is not None))
        if takes_seat and enrollment.track_id == track.pk:
            counts[enrollment.status] = counts.get(enrollment.status, 0) + 1
    return Seats(capacity=track.capacity, active=counts.get(EnrollmentStatus.ACTIVE, 0),
                 on_hold=counts.get(EnrollmentStatus.ON_HOLD, 0),
                 offered=counts.get(EnrollmentStatus.WAITLISTED, 0))


def track_seats_taken(*, track: Track) -> int:
    """Seats in use (see `Seats`)."""
    return track_seats(tracks=[track])[track.pk].taken


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


# --- Family contacts -----------------------------------------------------------------------

@dataclass
class ContactOnChart:
    """A contact as the chart shows it: the newest disclosure consent and its state today
    (and, filled in by the reminders app's selector, their recent reminders)."""

    contact: Contact
    consent: DisclosureConsent | None
    status: str  # "standing", "expired", "revoked", "future" or "none"
    reminders: list = field(default_factory=list)


# The participant id the contacts query is compiled with, replaced by the real one when it runs.
_ANY_PARTICIPANT = -1


@cache
def _contacts_statement(alias: str, vendor: str) -> CompiledQuery:
    """"A participant's contacts not removed", compiled by the ORM once per process
    (iop_clinic.compiled): compiling it cost the chart more CPU (~0.8 ms) than PostgreSQL took
    to run it, for the many people who have no contact. Only the participant's id changes.
    Prepared once a connection (iop_clinic.prepared; its one parameter is the id): PostgreSQL
    parsed and planned it on every chart."""
    queryset = Contact.objects.using(alias).filter(participant_id=_ANY_PARTICIPANT,
                                                   removed_at__isnull=True)
    return compile_once(queryset.query.get_compiler(using=alias),
                        {_ANY_PARTICIPANT: "participant"}, what="chart contacts", model=Contact,
                        prepared=True)


def chart_contacts(*, participant: Participant, today) -> list[ContactOnChart]:
    """The participant's contacts (not removed) with their consents prefetched (newest first):
    two queries at most, one for someone without contacts."""
    alias = router.db_for_read(Contact)
    contacts = _contacts_statement(alias, connections[alias].vendor).objects(
        {"participant": participant.pk})
    if contacts:
        prefetch_related_objects(contacts, Prefetch(
            "disclosure_consents",
            queryset=DisclosureConsent.objects.order_by("-recorded_at", "-pk")))
    rows = []
    for contact in contacts:
        consents = list(contact.disclosure_consents.all())
        newest = consents[0] if consents else None
        rows.append(ContactOnChart(contact, newest,
                                   newest.status_on(today) if newest else "none"))
    return rows
