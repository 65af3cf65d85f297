"""Moving one session: its time, length, room or facilitator, with clashes named and reminders
re-planned. The staff page and the admin both change a session only through `session_change`."""
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from programs.models import Closure, Room
from sessions.signals import visits_changed, visits_changing

from ..models import Attendance, AttendanceStatus, SessionStatus, TherapySession
from .audited import rows_update
from .conflicts import BookingRequest, Conflict, conflicts_find, conflicts_refuse, resources_lock
from .schedule import MAX_SESSION_MINUTES, _attendees, _site_lock, _starts_at_aware

_UNSET = object()


def session_change_conflicts(*, session: TherapySession, starts_at: datetime, ends_at: datetime,
                             room, facilitator) -> list[Conflict]:
    """The clashes a session would have at this time with this room and facilitator (named)."""
    people = tuple(_attendees([session.pk]).get(session.pk, ()))
    request = BookingRequest(starts_at=starts_at, ends_at=ends_at,
                             label=session.title or session.session_type.name,
                             zone=session.site.zone, facilitator=facilitator, room=room,
                             participants=people)
    return conflicts_find(requests=[request], exclude_ids=[session.pk], within_batch=False)[0]


def session_change(
    *, session: TherapySession, starts_at_local: datetime | None = None,
    duration_minutes: int | None = None, room: Room | None | object = _UNSET,
    facilitator=_UNSET, by=None, check_only: bool = False, notify: bool = True,
) -> TherapySession:
    """Change one scheduled session that has not started and where nobody is marked yet.

    `starts_at_local` is wall-clock time at the session's site (or aware). A change that would
    double-book the room, the facilitator or anyone expected is refused, naming each clash
    ("schedule_conflict"). A new time re-plans the reminders of everyone expected there.
    A session made from a weekly slot stays tied to it: a later timetable edit moves it again.
    `check_only` runs every check and writes nothing (forms show the refusal before saving).
    `notify`: a new time sends the people expected there a change notice.
    Codes: session_cancelled, session_started, attendance_marked, invalid_duration,
    room_other_site, site_closed, nonexistent_local_time, schedule_conflict.
    """
    with transaction.atomic():
        _site_lock(session.site_id)
        locked = (TherapySession.objects.select_for_update(of=("self",))
                  .select_related("site", "session_type", "room", "facilitator")
                  .get(pk=session.pk))
        zone = locked.site.zone
        if locked.status != SessionStatus.SCHEDULED:
            raise ValidationError("This session was cancelled; it cannot be moved.",
                                  code="session_cancelled")
        now = timezone.now()
        if locked.starts_at <= now:
            raise ValidationError("This session has already started; it cannot be moved.",
                                  code="session_started")
        if Attendance.objects.filter(session=locked,
                                     status__in=AttendanceStatus.marked()).exists():
            raise ValidationError("Attendance is already marked at this session; it cannot be "
                                  "moved.", code="attendance_marked")
        minutes = locked.duration_minutes if duration_minutes is None else duration_minutes
        if not 5 <= minutes <= MAX_SESSION_MINUTES:
            raise ValidationError("A session lasts between 5 minutes and 12 hours.",
                                  code="invalid_duration")
        starts_at = (locked.starts_at if starts_at_local is None
                     else _starts_at_aware(starts_at_local, zone))
        if starts_at <= now:
            raise ValidationError("Choose a time that is still ahead.", code="session_started")
        ends_at = starts_at + timedelta(minutes=minutes)
        new_room = locked.room if room is _UNSET else room
        new_facilitator = locked.facilitator if facilitator is _UNSET else facilitator
        if new_room is not None and new_room.site_id != locked.site_id:
            raise ValidationError("%(room)s is not at this session's site (%(site)s).",
                                  code="room_other_site",
                                  params={"room": new_room.name, "site": locked.site})
        local_date = starts_at.astimezone(zone).date()
        if local_date != locked.local_date and Closure.objects.filter(
                site_id=locked.site_id, date=local_date).exists():
            raise ValidationError("The site is closed on %(day)s.", code="site_closed",
                                  params={"day": local_date})
        moved = (starts_at, ends_at) != (locked.starts_at, locked.ends_at)
        if not moved and (new_room, new_facilitator) == (locked.room, locked.facilitator):
            return locked
        people = _attendees([locked.pk]).get(locked.pk, [])
        resources_lock(facilitator_ids=[getattr(new_facilitator, "pk", None)],
                       room_ids=[getattr(new_room, "pk", None)],
                       participant_ids=[p.pk for p in people])
        conflicts_refuse(session_change_conflicts(
            session=locked, starts_at=starts_at, ends_at=ends_at, room=new_room,
            facilitator=new_facilitator))
        if check_only:
            return locked
        if moved and people and notify:
            visits_changing(session_ids=[locked.pk])
        rows_update(queryset=TherapySession.objects.filter(pk=locked.pk),
                    starts_at=starts_at, ends_at=ends_at, local_date=local_date, room=new_room,
                    facilitator=new_facilitator, updated_at=now)
        if moved and people:
            visits_changed(participant_ids=sorted(p.pk for p in people))
    locked.refresh_from_db()
    return locked
