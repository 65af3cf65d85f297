"""Double-booking checks: a facilitator, room or participant is in one scheduled session at a time.

Checks are batched (one request per proposed session) so a schedule of any length costs the same
few queries. Writers call `resources_lock` first, inside their transaction, so two requests for the
same room or person queue behind each other instead of both seeing a free slot.
"""
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q

from participants.models import Participant
from programs.models import Room, Track

from ..models import Attendance, AttendanceStatus, SessionStatus, TherapySession

CONFLICT_CODE = "schedule_conflict"
# A refusal names this many clashes; the rest are counted, so the message stays readable.
MESSAGE_CLASH_LIMIT = 5


class ConflictKind:
    FACILITATOR = "facilitator"
    ROOM = "room"
    PARTICIPANT = "participant"


@dataclass(frozen=True)
class Conflict:
    """One clash with a session already booked (or, for `session_id=None`, another proposed one)."""

    kind: str
    message: str
    session_id: int | None
    # What was asked for, e.g. "Skills group on Mon 12 Jan 18:00–21:00"; blank for a single check.
    subject: str = ""

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}" if self.subject else self.message


@dataclass(frozen=True)
class BookingRequest:
    """A session someone wants to place: its time and the resources it would hold."""

    starts_at: datetime
    ends_at: datetime
    label: str
    zone: ZoneInfo
    facilitator: object | None = None  # a User
    room: Room | None = None
    participants: tuple[Participant, ...] = ()
    participant_ids: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "participant_ids", frozenset(p.pk for p in self.participants))

    def describe(self) -> str:
        return f"{self.label} on {when(self.starts_at, self.ends_at, self.zone)}"


def when(starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> str:
    """'Mon 12 Jan 18:00–21:00' in the site's wall-clock time."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    return f"{start:%a} {start.day} {start:%b} {start:%H:%M}–{end:%H:%M}"


def staff_name(user) -> str:
    return user.get_full_name() or user.get_username()


def _message(kind: str, subject: str, label: str, span: str) -> str:
    if kind == ConflictKind.ROOM:
        return f"{subject} is booked for {label} on {span}"
    if kind == ConflictKind.FACILITATOR:
        return f"{subject} is facilitating {label} on {span}"
    return f"{subject} is scheduled for {label} on {span}"


def _session_label(session: TherapySession) -> str:
    return session.title or session.session_type.name


def _overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def track_lock(*, track_id: int) -> Track:
    """The track row, locked until the transaction ends, with its site and program loaded.

    Lock order everywhere: the site (if taken), then the track, then `resources_lock`. Must run
    inside `transaction.atomic`; a no-op on SQLite, whose writers are serialised.
    """
    return (Track.objects.select_for_update(of=("self",)).select_related("site", "program")
            .get(pk=track_id))


def resources_lock(
    *, facilitator_ids: Iterable[int] = (), room_ids: Iterable[int] = (),
    participant_ids: Iterable[int] = (),
) -> None:
    """Row-lock the people and rooms about to be booked, in a fixed order so lockers can't deadlock.

    Must run inside `transaction.atomic`. On SQLite this is a no-op: its writers are serialised.
    """
    user_model = get_user_model()
    for model, ids in ((user_model, facilitator_ids), (Room, room_ids),
                       (Participant, participant_ids)):
        ids = sorted({pk for pk in ids if pk is not None})
        if ids:
            list(model.objects.select_for_update().filter(pk__in=ids).order_by("pk")
                 .values_list("pk", flat=True))


def conflicts_find(
    *, requests: Sequence[BookingRequest], exclude_ids: Iterable[int] = (),
    within_batch: bool = True,
) -> list[list[Conflict]]:
    """For each request, the clashes with scheduled sessions and (optionally) earlier requests.

    Two queries whatever the number of requests: the candidate sessions and the attendance of the
    participants involved.
    """
    found: list[list[Conflict]] = [[] for _ in requests]
    if not requests:
        return found
    facilitator_ids = {r.facilitator.pk for r in requests if r.facilitator is not None}
    room_ids = {r.room.pk for r in requests if r.room is not None}
    participant_ids = set().union(*(r.participant_ids for r in requests))

    if facilitator_ids or room_ids or participant_ids:
        live = ~Q(status=AttendanceStatus.CANCELLED)
        involved = Q(pk__in=[])
        if facilitator_ids:
            involved |= Q(facilitator_id__in=facilitator_ids)
        if room_ids:
            involved |= Q(room_id__in=room_ids)
        if participant_ids:
            involved |= Q(pk__in=Attendance.objects.filter(live, participant_id__in=participant_ids)
                          .values("session_id"))
        candidates = (
            TherapySession.objects.filter(
                involved, status=SessionStatus.SCHEDULED,
                starts_at__lt=max(r.ends_at for r in requests),
                ends_at__gt=min(r.starts_at for r in requests),
            )
            .exclude(pk__in=list(exclude_ids))
            .select_related("room", "facilitator", "session_type", "site")
            .order_by("starts_at", "pk")
        )
        if participant_ids:
            candidates = candidates.prefetch_related(Prefetch(
                "attendances",
                queryset=Attendance.objects.filter(live, participant_id__in=participant_ids)
                .select_related("participant").order_by("participant_id"),
                to_attr="clashing_attendances",
            ))
        for session in candidates:
            span = when(session.starts_at, session.ends_at, session.site.zone)
            label = _session_label(session)
            for index, request in enumerate(requests):
                if not _overlaps(request.starts_at, request.ends_at, session.starts_at,
                                 session.ends_at):
                    continue
                found[index].extend(_clashes(
                    request, session.facilitator, session.room,
                    [a.participant for a in getattr(session, "clashing_attendances", [])],
                    label, span, session.pk,
                ))

    if within_batch:
        ordered = sorted(range(len(requests)), key=lambda i: requests[i].starts_at)
        for position, index in enumerate(ordered):
            request = requests[index]
            for other_index in ordered[position + 1:]:
                other = requests[other_index]
                if other.starts_at >= request.ends_at:
                    break
                found[other_index].extend(_clashes(
                    other, request.facilitator, request.room, list(request.participants),
                    request.label, when(request.starts_at, request.ends_at, request.zone), None,
                ))
    return found


def _clashes(request: BookingRequest, facilitator, room, participants: list[Participant],
             label: str, span: str, session_id: int | None) -> list[Conflict]:
    subject = request.describe() if request.label else ""
    found = []
    if facilitator is not None and request.facilitator is not None \
            and facilitator.pk == request.facilitator.pk:
        found.append((ConflictKind.FACILITATOR, staff_name(facilitator)))
    if room is not None and request.room is not None and room.pk == request.room.pk:
        found.append((ConflictKind.ROOM, room.name))
    found.extend((ConflictKind.PARTICIPANT, participant.full_name) for participant in participants
                 if participant.pk in request.participant_ids)
    return [Conflict(kind, _message(kind, name, label, span), session_id, subject)
            for kind, name in found]


def session_conflicts(
    *,
    starts_at: datetime,
    ends_at: datetime,
    facilitator=None,
    room: Room | None = None,
    participant_ids: Iterable[int] = (),
    exclude_ids: Iterable[int] = (),
) -> list[Conflict]:
    """Scheduled sessions that would clash with a session at this time with these resources."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValidationError("Session times must carry a time zone.", code="naive_datetime")
    if ends_at <= starts_at:
        raise ValidationError("A session must end after it starts.", code="ends_before_start")
    participants = tuple(Participant.objects.filter(pk__in=list(participant_ids)).order_by("pk"))
    zone = room.site.zone if room is not None else ZoneInfo("UTC")
    request = BookingRequest(starts_at=starts_at, ends_at=ends_at, label="", zone=zone,
                             facilitator=facilitator, room=room, participants=participants)
    return conflicts_find(requests=[request], exclude_ids=exclude_ids, within_batch=False)[0]


def conflicts_refuse(clashes: Sequence[Conflict]) -> None:
    """Raise "schedule_conflict" naming the clashes, if there are any."""
    if not clashes:
        return
    lines = [str(conflict) for conflict in clashes[:MESSAGE_CLASH_LIMIT]]
    if len(clashes) > MESSAGE_CLASH_LIMIT:
        lines.append(f"and {len(clashes) - MESSAGE_CLASH_LIMIT} more")
    raise ValidationError(
        "This clashes with the schedule. %(clashes)s.",
        code=CONFLICT_CODE, params={"clashes": "; ".join(lines)},
    )
