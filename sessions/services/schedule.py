"""Schedule writes: sessions from a track's timetable, timetable edits, personal sessions,
cancellations and site closures.

Wall-clock times are the site's: a Monday 18:00 slot is 18:00 in `site.zone` on every Monday, so
its UTC time moves with daylight saving. Every writer locks the site row first (then the track,
then people and rooms, see `conflicts.resources_lock`): closures, generation and bookings at one
site queue behind each other, so no one books a room, a person or a closed day that another
request is taking at the same moment.
"""
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from participants.models import ContinuingCarePlan, Enrollment, EnrollmentStatus, Participant
from programs.models import (
    Closure, Room, SessionKind, SessionType, Site, Track, TrackMode, WeeklySlot,
)
from programs.selectors import site_today

from sessions.signals import visits_changed, visits_changing
from ..models import Attendance, AttendanceStatus, SessionStatus, TherapySession
from ..selectors.care import closure_session_ids, slot_sessions_movable, track_slots
from .audited import rows_bulk_update, rows_create, rows_delete, rows_update
from .conflicts import (
    BookingRequest, Conflict, conflicts_find, conflicts_refuse, resources_lock, track_lock,
)
from .expected import attendance_expect

logger = logging.getLogger(__name__)

WEEK = timedelta(weeks=1)
MAX_SESSION_MINUTES = 12 * 60
SLOT_FIELDS = frozenset({"weekday", "start_time", "duration_minutes", "room", "facilitator",
                         "title", "session_type"})
# Changing only these leaves each session where and when it was: no reminder needs re-planning.
NON_MOVING_FIELDS = frozenset({"room", "facilitator", "title", "session_type"})


# --- Results ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProposedSession:
    """A session the timetable calls for that does not exist yet."""

    slot: WeeklySlot
    local_date: date
    starts_at: datetime
    ends_at: datetime
    conflicts: tuple[Conflict, ...] = ()


@dataclass
class SchedulePlan:
    track: Track
    first_date: date
    last_date: date
    sessions: list[ProposedSession]
    skipped_closures: list[tuple[WeeklySlot, date]]
    enrollments: list[Enrollment] = field(default_factory=list, repr=False)

    @property
    def conflicts(self) -> list[Conflict]:
        return [conflict for proposed in self.sessions for conflict in proposed.conflicts]

    @property
    def closure_dates(self) -> list[date]:
        return sorted({day for _, day in self.skipped_closures})


@dataclass(frozen=True)
class ScheduleResult:
    created: int
    skipped_closures: list[date]
    # Only filled with `skip_conflicts=True`: sessions left out because they would clash.
    conflicts: list[Conflict]


@dataclass(frozen=True)
class SlotChangeResult:
    slot: WeeklySlot
    updated: int  # future unmarked sessions changed in place
    removed: int  # future unmarked sessions removed (weekday change)
    created: int  # sessions generated on the new weekday
    kept: int  # future sessions left alone because someone's attendance is already marked


# --- Helpers ---------------------------------------------------------------------------------

def _aware(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A wall-clock time skipped by a DST change (02:30 on spring-forward) comes out an hour later.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _site_lock(site_id: int) -> None:
    list(Site.objects.select_for_update().filter(pk=site_id).order_by()
         .values_list("pk", flat=True))


def _slots_check(track: Track, slots: Sequence[WeeklySlot]) -> None:
    for slot in slots:
        if slot.session_type.kind not in SessionKind.track_kinds():
            raise ValidationError(
                "%(slot)s is an individual or family session type; a track's timetable holds "
                "group and workshop sessions only.",
                code="personal_kind_in_track", params={"slot": slot},
            )
        if slot.room is not None and slot.room.site_id != track.site_id:
            raise ValidationError("%(slot)s uses a room at another site.",
                                  code="room_other_site", params={"slot": slot})


def _track_check(track: Track, until: date | None) -> None:
    if not track.is_active:
        raise ValidationError("%(track)s is not active; activate it before scheduling.",
                              code="track_inactive", params={"track": track})
    if until is not None and until < track.start_date:
        raise ValidationError(
            "Schedule until %(until)s is before the track starts (%(start)s).",
            code="until_before_start", params={"until": until, "start": track.start_date},
        )


def _window(track: Track, until: date | None, today: date) -> tuple[date, date]:
    """The local dates to schedule: a cohort's whole run, or a rolling track up to the horizon."""
    if track.mode == TrackMode.COHORT:
        last = min(track.end_date, until) if until else track.end_date
        return track.start_date, last
    last = until or today + timedelta(weeks=settings.ROLLING_SCHEDULE_HORIZON_WEEKS)
    if track.end_date:
        last = min(last, track.end_date)
    return max(track.start_date, today), last


def _slot_label(slot: WeeklySlot) -> str:
    return slot.title or slot.session_type.name


def _plan_build(
    *, track: Track, slots: Sequence[WeeklySlot], first: date, last: date,
    not_before: datetime | None = None, lock: bool = False,
) -> SchedulePlan:
    """Sessions the slots call for between two local dates that don't exist yet, with clashes.

    A fixed number of queries whatever the number of weeks or slots.
    """
    zone = track.site.zone
    closures: set[date] = set()
    existing: set[tuple[int, date]] = set()
    if first <= last:
        closures = set(Closure.objects.filter(site_id=track.site_id, date__range=(first, last))
                       .order_by().values_list("date", flat=True))
        if slots:
            # Any status: a cancelled session keeps its day, so re-running never revives it.
            existing = set(TherapySession.objects.filter(
                weekly_slot__in=[slot.pk for slot in slots], local_date__range=(first, last),
            ).values_list("weekly_slot_id", "local_date"))
    proposed: list[ProposedSession] = []
    skipped: list[tuple[WeeklySlot, date]] = []
    for slot in slots:
        day = first + timedelta(days=(slot.weekday - first.weekday()) % 7)
        while day <= last:
            if day in closures:
                skipped.append((slot, day))
            elif (slot.pk, day) not in existing:
                starts_at = _aware(day, slot.start_time, zone)
                if not_before is None or starts_at > not_before:
                    proposed.append(ProposedSession(
                        slot=slot, local_date=day, starts_at=starts_at,
                        ends_at=starts_at + timedelta(minutes=slot.duration_minutes),
                    ))
            day += WEEK
    proposed.sort(key=lambda p: (p.starts_at, p.slot.pk))
    skipped.sort(key=lambda s: (s[1], s[0].pk))

    enrollments = list(Enrollment.objects.filter(track=track, status=EnrollmentStatus.ACTIVE)
                       .select_related("participant").order_by("pk")) if proposed else []
    requests = [
        BookingRequest(
            starts_at=p.starts_at, ends_at=p.ends_at, label=_slot_label(p.slot), zone=zone,
            facilitator=p.slot.facilitator, room=p.slot.room,
            participants=tuple(e.participant for e in enrollments if e.covers(p.local_date)),
        )
        for p in proposed
    ]
    if lock and requests:
        resources_lock(
            facilitator_ids={slot.facilitator_id for slot in slots},
            room_ids={slot.room_id for slot in slots},
            participant_ids={e.participant_id for e in enrollments},
        )
    found = conflicts_find(requests=requests)
    proposed = [replace(p, conflicts=tuple(clashes))
                for p, clashes in zip(proposed, found, strict=True)]
    return SchedulePlan(track=track, first_date=first, last_date=last, sessions=proposed,
                        skipped_closures=skipped, enrollments=enrollments)


def _plan_create(plan: SchedulePlan, *, skip_conflicts: bool) -> tuple[list[TherapySession],
                                                                          list[Conflict]]:
    """Write a plan's sessions and their expected attendance; refuse or leave out clashes."""
    clashes = plan.conflicts
    wanted = plan.sessions
    if clashes:
        if not skip_conflicts:
            conflicts_refuse(clashes)
        wanted = [p for p in plan.sessions if not p.conflicts]
    track = plan.track
    sessions = rows_create(model=TherapySession, objects=[
        TherapySession(
            session_type=p.slot.session_type, kind=p.slot.session_type.kind,
            site_id=track.site_id, track=track, weekly_slot=p.slot, title=p.slot.title,
            room=p.slot.room, facilitator=p.slot.facilitator,
            starts_at=p.starts_at, ends_at=p.ends_at, local_date=p.local_date,
        )
        for p in wanted
    ])
    if sessions and plan.enrollments:
        attendance_expect(enrollments=plan.enrollments,
                          sessions=TherapySession.objects.filter(pk__in=[s.pk for s in sessions]))
        visits_changed(participant_ids=sorted({
            e.participant_id for e in plan.enrollments
            if any(e.covers(s.local_date) for s in sessions)
        }))
    return sessions, clashes


def _generate(*, track: Track, until: date | None, skip_conflicts: bool,
              today: date | None = None) -> ScheduleResult:
    with transaction.atomic():
        _site_lock(track.site_id)
        locked = track_lock(track_id=track.pk)
        _track_check(locked, until)
        first, last = _window(locked, until, today or site_today(site=locked.site))
        slots = track_slots(track=locked)
        _slots_check(locked, slots)
        plan = _plan_build(track=locked, slots=slots, first=first, last=last, lock=True)
        sessions, clashes = _plan_create(plan, skip_conflicts=skip_conflicts)
        if first <= last and (locked.scheduled_until is None or last > locked.scheduled_until):
            Track.objects.filter(pk=locked.pk).update(scheduled_until=last)
            track.scheduled_until = last
    return ScheduleResult(created=len(sessions), skipped_closures=plan.closure_dates,
                          conflicts=clashes)


# --- Generating a track's schedule -----------------------------------------------------------

def schedule_preview(*, track: Track, until: date | None = None) -> SchedulePlan:
    """What `schedule_generate` would create now: new sessions, closures skipped, clashes found."""
    track = Track.objects.select_related("site", "program").get(pk=track.pk)
    _track_check(track, until)
    first, last = _window(track, until, site_today(site=track.site))
    slots = track_slots(track=track)
    _slots_check(track, slots)
    return _plan_build(track=track, slots=slots, first=first, last=last)


def schedule_generate(
    *, track: Track, until: date | None = None, skip_conflicts: bool = False,
) -> ScheduleResult:
    """Create the track's sessions from its weekly slots; running it again creates nothing.

    A cohort is scheduled from its start to its end date, a rolling track from today (or its
    start) to `ROLLING_SCHEDULE_HORIZON_WEEKS` ahead; `until` stops earlier (or, for a rolling
    track, sets the horizon). Closure days are skipped. Active enrollments are expected at the new
    sessions in their window. A clash with a booked facilitator, room or participant refuses the
    whole run ("schedule_conflict") unless `skip_conflicts`, which leaves the clashing sessions
    out and reports them.
    """
    return _generate(track=track, until=until, skip_conflicts=skip_conflicts)


def schedule_extend_rolling(*, today: date | None = None) -> int:
    """Extend every active rolling track to the horizon; returns how many sessions were created.

    Each track is its own transaction, so one track's clash doesn't hold back the others: its
    clashing sessions are left out and logged (ids only) for staff to resolve.
    """
    created = 0
    tracks = Track.objects.filter(mode=TrackMode.ROLLING, is_active=True,
                                  program__is_active=True).select_related("site").order_by("pk")
    for track in tracks:
        try:
            result = _generate(track=track, until=None, skip_conflicts=True, today=today)
        except ValidationError as exc:
            logger.warning("Rolling schedule of track %s not extended: %s", track.pk,
                           getattr(exc, "code", "invalid"))
            continue
        created += result.created
        if result.conflicts:
            logger.warning("Rolling schedule of track %s: %d clashes left out (sessions %s)",
                           track.pk, len(result.conflicts),
                           sorted({c.session_id for c in result.conflicts if c.session_id}))
    return created


# --- Editing the timetable -------------------------------------------------------------------

def _future_unmarked(slot: WeeklySlot, now: datetime) -> tuple[list[TherapySession], int]:
    """The slot's sessions still ahead with nobody marked yet, and how many others are ahead."""
    movable = list(slot_sessions_movable(slot=slot, now=now).order_by("starts_at"))
    kept = TherapySession.objects.filter(
        weekly_slot=slot, status=SessionStatus.SCHEDULED, starts_at__gt=now,
    ).count() - len(movable)
    return movable, kept


def _attendees(session_ids: Sequence[int]) -> dict[int, list[Participant]]:
    """Participants still due at each session (cancelled attendance doesn't hold a seat)."""
    by_session: dict[int, list[Participant]] = {}
    rows = (Attendance.objects.filter(session_id__in=list(session_ids))
            .exclude(status=AttendanceStatus.CANCELLED).select_related("participant")
            .order_by("participant_id"))
    for row in rows:
        by_session.setdefault(row.session_id, []).append(row.participant)
    return by_session


def _slot_window_rest(track: Track, now: datetime) -> tuple[date, date] | None:
    """Dates still to be scheduled again for a slot that moved: from today to what was generated."""
    if track.scheduled_until is None:
        return None
    last = min(track.scheduled_until, track.end_date) if track.end_date else track.scheduled_until
    return max(track.start_date, now.astimezone(track.site.zone).date()), last


def weekly_slot_update(*, slot: WeeklySlot, notify: bool = True,
                       **changes: Any) -> SlotChangeResult:
    """Change a timetable line and the future sessions made from it that nobody is marked at.

    Past sessions and sessions where any attendance is marked keep their time and place. A
    weekday change removes those future sessions and generates the new weekday's instead.
    `changes` are WeeklySlot fields: weekday, start_time, duration_minutes, room, facilitator,
    title, session_type.
    `notify`: a new day or time sends the people expected at the sessions it moves (within the
    notice window) a change notice, as moving one session does.
    """
    unknown = sorted(set(changes) - SLOT_FIELDS)
    if unknown:
        raise ValidationError("A weekly slot has no field %(fields)s to change.",
                              code="unknown_field", params={"fields": ", ".join(unknown)})
    with transaction.atomic():
        _site_lock(slot.track.site_id)
        track = track_lock(track_id=slot.track_id)
        locked = WeeklySlot.objects.select_related("session_type", "room", "facilitator").get(
            pk=slot.pk)
        locked.track = track
        old_weekday = locked.weekday
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.full_clean()
        locked.save()

        now = timezone.now()
        movable, kept = _future_unmarked(locked, now)
        movable_ids = [session.pk for session in movable]
        attendees = _attendees(movable_ids)
        affected = {p.pk for people in attendees.values() for p in people}
        updated = removed = created = 0
        moving = not set(changes) <= NON_MOVING_FIELDS
        if notify and moving and affected:
            # Before the sessions move or go: the notice keeps the time people knew.
            visits_changing(session_ids=[s.pk for s in movable if s.pk in attendees])
        if locked.weekday != old_weekday:
            removed = rows_delete(
                queryset=TherapySession.objects.filter(pk__in=movable_ids))[1].get(
                TherapySession._meta.label, 0)
            window = _slot_window_rest(track, now)
            if window:
                plan = _plan_build(track=track, slots=[locked], first=window[0], last=window[1],
                                   not_before=now, lock=True)
                new_sessions, _ = _plan_create(plan, skip_conflicts=False)
                created = len(new_sessions)
        elif movable:
            zone = track.site.zone
            for session in movable:
                session.starts_at = _aware(session.local_date, locked.start_time, zone)
                session.ends_at = session.starts_at + timedelta(minutes=locked.duration_minutes)
                session.room = locked.room
                session.facilitator = locked.facilitator
                session.title = locked.title
                session.session_type = locked.session_type
                session.kind = locked.session_type.kind
                session.updated_at = now
            requests = [
                BookingRequest(starts_at=s.starts_at, ends_at=s.ends_at, label=_slot_label(locked),
                               zone=zone, facilitator=s.facilitator, room=s.room,
                               participants=tuple(attendees.get(s.pk, ())))
                for s in movable
            ]
            resources_lock(facilitator_ids=[locked.facilitator_id], room_ids=[locked.room_id],
                           participant_ids=affected)
            conflicts_refuse([c for clashes in conflicts_find(requests=requests,
                                                             exclude_ids=movable_ids)
                              for c in clashes])
            rows_bulk_update(
                objects=movable, fields=["starts_at", "ends_at", "room", "facilitator", "title",
                                         "session_type", "kind", "updated_at"])
            updated = len(movable)
        if affected and moving:
            visits_changed(participant_ids=sorted(affected))
    for name, value in changes.items():
        setattr(slot, name, value)
    return SlotChangeResult(slot=locked, updated=updated, removed=removed, created=created,
                            kept=kept)


def weekly_slot_delete(*, slot: WeeklySlot, notify: bool = True) -> int:
    """Remove a timetable line and its future sessions nobody is marked at; returns how many.

    Past sessions and sessions with marked attendance stay, no longer tied to a slot.
    `notify`: the people expected at the removed sessions (within the notice window) get a
    change notice ("cancelled", or the day's new first time if they have another session).
    """
    with transaction.atomic():
        _site_lock(slot.track.site_id)
        track_lock(track_id=slot.track_id)
        locked = WeeklySlot.objects.get(pk=slot.pk)
        movable, _ = _future_unmarked(locked, timezone.now())
        movable_ids = [session.pk for session in movable]
        attendees = _attendees(movable_ids)
        affected = {p.pk for people in attendees.values() for p in people}
        if notify and affected:
            visits_changing(session_ids=list(attendees))
        removed = rows_delete(queryset=TherapySession.objects.filter(pk__in=movable_ids))[1].get(
            TherapySession._meta.label, 0)
        locked.delete()
        if affected:
            visits_changed(participant_ids=sorted(affected))
    return removed


# --- Personal sessions -----------------------------------------------------------------------

def _starts_at_aware(value: datetime, zone: ZoneInfo) -> datetime:
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    aware = value.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
        raise ValidationError(
            "%(time)s does not exist at the site: the clocks change that night. Pick another time.",
            code="nonexistent_local_time", params={"time": date_format(value, "DATETIME_FORMAT")},
        )
    return aware.astimezone(UTC)


def personal_session_schedule(
    *,
    participant: Participant,
    session_type: SessionType,
    starts_at_local: datetime,
    duration_minutes: int | None = None,
    facilitator=None,
    room: Room | None = None,
    title: str = "",
    repeat_weekly: bool = False,
    care_plan: ContinuingCarePlan | None = None,
) -> list[TherapySession]:
    """Book an individual or family session for one participant, once or weekly.

    `starts_at_local` is wall-clock time at the participant's home site (or an aware datetime).
    Weekly sessions repeat at that wall-clock time until the active enrollment's planned end,
    skipping closures. An active enrollment is needed unless `care_plan` is given (follow-up
    after discharge). Each session gets the participant's expected attendance.
    """
    if session_type.kind not in SessionKind.personal_kinds():
        raise ValidationError(
            "%(type)s is a %(kind)s session; only individual and family sessions are booked for "
            "one participant. Group sessions come from a track's timetable.",
            code="not_personal_kind",
            params={"type": session_type, "kind": session_type.get_kind_display().lower()},
        )
    minutes = duration_minutes if duration_minutes is not None \
        else session_type.default_duration_minutes
    if not 5 <= minutes <= MAX_SESSION_MINUTES:
        raise ValidationError("A session lasts between 5 minutes and 12 hours.",
                              code="invalid_duration")
    if len(title) > TherapySession._meta.get_field("title").max_length:
        raise ValidationError("The title is too long.", code="title_too_long")
    site = participant.home_site
    zone = site.zone
    first_start = _starts_at_aware(starts_at_local, zone)
    if room is not None and room.site_id != site.pk:
        raise ValidationError("%(room)s is not at the participant's site (%(site)s).",
                              code="room_other_site", params={"room": room.name, "site": site})
    if care_plan is not None and care_plan.enrollment.participant_id != participant.pk:
        raise ValidationError("That continuing-care plan belongs to someone else.",
                              code="care_plan_other_participant")

    with transaction.atomic():
        _site_lock(site.pk)
        enrollment = (Enrollment.objects.filter(participant=participant,
                                                status=EnrollmentStatus.ACTIVE).first())
        if enrollment is None and care_plan is None:
            raise ValidationError(
                "This participant has no active enrollment. Book follow-up appointments after "
                "discharge from their continuing-care plan.", code="no_active_enrollment")
        first_day = first_start.astimezone(zone).date()
        if repeat_weekly and enrollment is None:
            raise ValidationError(
                "Weekly sessions repeat until the enrollment's planned end; there is no active "
                "enrollment, so book follow-ups one at a time.", code="repeat_needs_enrollment")
        if enrollment is not None and care_plan is None and not enrollment.covers(first_day):
            raise ValidationError(
                "%(day)s is outside the enrollment (%(start)s to %(end)s).",
                code="outside_enrollment",
                params={"day": first_day, "start": enrollment.admission_date,
                        "end": enrollment.discharge_date or enrollment.planned_end_date},
            )
        last_day = (enrollment.discharge_date or enrollment.planned_end_date) if repeat_weekly \
            else first_day
        if last_day < first_day:
            raise ValidationError("%(day)s is after the enrollment's planned end (%(end)s).",
                                  code="outside_enrollment",
                                  params={"day": first_day, "end": last_day})
        closures = set(Closure.objects.filter(site=site, date__range=(first_day, last_day))
                       .order_by().values_list("date", flat=True))
        if first_day in closures and not repeat_weekly:
            raise ValidationError("The site is closed on %(day)s.", code="site_closed",
                                  params={"day": first_day})
        wall_clock = first_start.astimezone(zone).time()
        starts = []
        day = first_day
        while day <= last_day:
            if day not in closures:
                starts.append(first_start if day == first_day else _aware(day, wall_clock, zone))
            day += WEEK
        if not starts:
            raise ValidationError("The site is closed on every one of those days.",
                                  code="site_closed", params={"day": first_day})

        label = title or session_type.name
        length = timedelta(minutes=minutes)
        resources_lock(facilitator_ids=[getattr(facilitator, "pk", None)],
                       room_ids=[getattr(room, "pk", None)], participant_ids=[participant.pk])
        requests = [BookingRequest(starts_at=s, ends_at=s + length, label=label, zone=zone,
                                   facilitator=facilitator, room=room, participants=(participant,))
                    for s in starts]
        conflicts_refuse([c for clashes in conflicts_find(requests=requests, within_batch=False)
                          for c in clashes])
        sessions = rows_create(model=TherapySession, objects=[
            TherapySession(
                session_type=session_type, kind=session_type.kind, site=site,
                participant=participant, care_plan=care_plan, title=title, room=room,
                facilitator=facilitator, starts_at=s, ends_at=s + length,
                local_date=s.astimezone(zone).date(),
            )
            for s in starts
        ])
        rows_create(model=Attendance, objects=[
            Attendance(session=session, participant=participant, enrollment=enrollment,
                       status=AttendanceStatus.EXPECTED)
            for session in sessions
        ])
        visits_changed(participant_ids=[participant.pk])
    return sessions


# --- Cancelling ------------------------------------------------------------------------------

def _sessions_cancel(session_ids: Sequence[int], *, reason: str, by, now: datetime) -> set[int]:
    """Cancel the sessions and the attendance still expected there; returns who was expected."""
    rows_update(
        queryset=TherapySession.objects.filter(pk__in=session_ids),
        status=SessionStatus.CANCELLED, cancel_reason=reason, cancelled_at=now, cancelled_by=by,
        updated_at=now,
    )
    expected = Attendance.objects.filter(session_id__in=session_ids,
                                         status=AttendanceStatus.EXPECTED)
    participant_ids = set(expected.values_list("participant_id", flat=True))
    rows_update(queryset=expected, status=AttendanceStatus.CANCELLED)
    return participant_ids


def session_cancel(*, session: TherapySession, reason: str, by=None,
                   notify: bool = True) -> TherapySession:
    """Cancel one session: expected attendance becomes "cancelled by clinic", marked stays.
    `notify`: the people expected there get a change notice (see reminders/notices.py)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the session is cancelled.", code="reason_required")
    if len(reason) > TherapySession._meta.get_field("cancel_reason").max_length:
        raise ValidationError("Keep the reason under 200 characters.", code="reason_too_long")
    with transaction.atomic():
        locked = TherapySession.objects.select_for_update().get(pk=session.pk)
        if locked.status == SessionStatus.CANCELLED:
            raise ValidationError("This session is already cancelled.", code="already_cancelled")
        now = timezone.now()
        if notify:
            visits_changing(session_ids=[locked.pk])
        affected = _sessions_cancel([locked.pk], reason=reason, by=by, now=now)
        if affected:
            visits_changed(participant_ids=sorted(affected))
    session.status, session.cancel_reason = SessionStatus.CANCELLED, reason
    session.cancelled_at, session.cancelled_by = now, by
    return session


def closure_add(*, site: Site, date: date, reason: str = "", notify: bool = True) -> Closure:
    """Close a site for a day and cancel every session scheduled there that day.
    `notify`: the people expected that day get a change notice."""
    reason = (reason or "").strip()
    closure = Closure(site=site, date=date, reason=reason)
    closure.full_clean(exclude=["site", "date"], validate_constraints=False)
    with transaction.atomic():
        _site_lock(site.pk)
        if Closure.objects.filter(site=site, date=date).exists():
            raise ValidationError("%(site)s is already closed on %(date)s.",
                                  code="duplicate_closure", params={"site": site, "date": date})
        closure.save()
        session_ids = closure_session_ids(site_id=site.pk, day=date)
        if session_ids:
            cancel_reason = f"Site closed: {reason}" if reason else "Site closed"
            if notify:
                visits_changing(session_ids=session_ids)
            affected = _sessions_cancel(session_ids, reason=cancel_reason, by=None,
                                        now=timezone.now())
            if affected:
                visits_changed(participant_ids=sorted(affected))
    return closure
