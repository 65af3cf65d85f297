"""Enrollment: admitting people to a track, the waitlist, holds, and discharge.

Every service locks the track row first (then, where needed, the enrollment), always in that
order, so concurrent enrollments cannot overfill a track and two services cannot deadlock.

Seats: a track's capacity counts active and on-hold enrollments plus seats held for a waitlisted
person who has been offered one and not yet answered. Whenever seats may have freed, the next
people on the waitlist (by `waitlisted_at`, then pk) are offered them (`seat_offered_at`).

Time: "today" is the date at the track's site. Each service's docstring says what "future"
means for the attendance it withdraws.
"""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from participants.models import (
    ContinuingCarePlan,
    DischargeReason,
    Enrollment,
    EnrollmentStatus,
    Participant,
    StepDownLevel,
)
from participants.selectors import track_seats_taken, track_waitlist, waitlist_position
from programs.models import Track
from programs.selectors import site_today

from sessions.signals import seats_offered_announce, visits_changed
from ..models import Attendance, AttendanceStatus, SessionStatus, TherapySession
from ..selectors.ledger import hours_ledger
from ..selectors.makeups import makeup_seats_ahead
from .audited import rows_bulk_update, rows_create, rows_delete, rows_update
from .conflicts import track_lock
from .expected import attendance_expect

__all__ = [
    "CARE_PLAN_FIELDS",
    "enrollment_admit_from_waitlist",
    "enrollment_decline_offer",
    "enrollment_discharge",
    "EnrollRequest",
    "enrollment_enroll",
    "enrollment_enroll_many",
    "enrollment_hold",
    "enrollment_refer",
    "enrollment_resume",
    "enrollment_withdraw",
    "track_waitlist",
    "waitlist_position",
]

CARE_PLAN_FIELDS = frozenset({"step_down_level", "step_down_provider", "support_groups", "notes"})


# --- helpers -------------------------------------------------------------------------------


def _lock_enrollment(enrollment: Enrollment) -> tuple[Track, Enrollment]:
    track = track_lock(track_id=enrollment.track_id)
    locked = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("participant")
        .get(pk=enrollment.pk)
    )
    locked.track = track
    return track, locked


def _refresh_caller(enrollment: Enrollment, locked: Enrollment) -> None:
    """Copy the saved state onto the caller's instance so it does not show stale values."""
    for field in Enrollment._meta.concrete_fields:
        setattr(enrollment, field.attname, getattr(locked, field.attname))


def _planned_end(track: Track, admission_date: date) -> date:
    """The last day in care: admission plus the program's weeks, less a day (a 12-week program
    admitted on a Monday ends on the Sunday of its twelfth week, as a cohort's end date does).
    A cohort's end date caps it (the cohort stops there)."""
    end = admission_date + timedelta(weeks=track.program.duration_weeks) - timedelta(days=1)
    if track.end_date and end > track.end_date:
        end = max(track.end_date, admission_date)
    return end


def _check_admission_date(track: Track, admission_date: date) -> None:
    if not isinstance(admission_date, date):
        raise ValidationError(_("Enter an admission date."), code="invalid_admission_date")
    if admission_date < track.start_date:
        raise ValidationError(
            _("The track starts on %(start)s; admission cannot be earlier."),
            code="admission_before_track_start", params={"start": track.start_date},
        )
    if track.end_date and admission_date > track.end_date:
        raise ValidationError(
            _("The track ends on %(end)s; admission cannot be later."),
            code="admission_after_track_end", params={"end": track.end_date},
        )


def _check_cohort_open(
    track: Track, admission_date: date, *, by: Any, director_override: bool,
    by_is_director: bool | None = None,
) -> None:
    """Cohorts start together: no joining after the start date (or once it has passed).
    `by_is_director` spares a batch asking the database about `by` once per person."""
    if not track.is_cohort:
        return
    started = admission_date > track.start_date or site_today(site=track.site) > track.start_date
    if not started:
        return
    if by_is_director is None:
        by_is_director = by is not None and getattr(by, "is_director", False)
    if director_override and by_is_director:
        return
    if director_override:
        message = _("Only a program director can admit someone to a cohort that has started.")
    else:
        message = _("This cohort started on %(start)s and no longer takes new participants.")
    raise ValidationError(message, code="cohort_started", params={"start": track.start_date})


def _check_not_in_care_elsewhere(
    participant: Participant, *, exclude_pk: int | None = None
) -> None:
    others = Enrollment.objects.filter(
        participant=participant, status__in=EnrollmentStatus.seat_holding()
    )
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    _refuse_in_care(others.select_related("track").first())


def _refuse_in_care(current: Enrollment | None) -> None:
    """The one-active-enrollment rule, given the participant's seat-holding enrollment (if any)."""
    if current is not None:
        raise ValidationError(
            _("This participant is already %(status)s in %(track)s; discharge or complete that "
              "enrollment first."),
            code="already_active",
            params={"status": current.get_status_display().lower(), "track": current.track.name},
        )


def _refuse_waitlisted(waiting: bool) -> None:
    if waiting:
        raise ValidationError(
            _("This participant is already on this track's waitlist."), code="already_in_track",
        )


def _check_track_active(track: Track) -> None:
    if not track.is_active:
        raise ValidationError(_("This track is closed to new enrollments."), code="track_inactive")


def _save_activation(enrollment: Enrollment) -> None:
    """Save an enrollment becoming active; losing the one-active race becomes a clear error."""
    try:
        with transaction.atomic():
            enrollment.save()
    except IntegrityError as exc:
        raise ValidationError(
            _("This participant already has an active enrollment."), code="already_active",
        ) from exc


def _seats_in_use(track: Track) -> int:
    """Enrolled seats plus the make-up seats the track's busiest session ahead holds: the
    capacity and waitlist rules count both, so a make-up never leaves a session over capacity."""
    return track_seats_taken(track=track) + makeup_seats_ahead(track=track, now=timezone.now())


def _offer_free_seats(track: Track, *, exclude_pk: int | None = None) -> list[Enrollment]:
    """Offer each free seat to the next waitlisted person without an offer. Track must be locked."""
    free = track.capacity - _seats_in_use(track)
    if free <= 0:
        return []
    waiting = track_waitlist(track=track).filter(seat_offered_at__isnull=True)
    if exclude_pk is not None:
        waiting = waiting.exclude(pk=exclude_pk)
    offered = list(waiting[:free])
    if offered:
        now = timezone.now()
        rows_update(queryset=Enrollment.objects.filter(pk__in=[e.pk for e in offered]),
                    seat_offered_at=now, updated_at=now)
        for enrollment in offered:
            enrollment.seat_offered_at = now
        seats_offered_announce(enrollment_ids=[e.pk for e in offered])
    return offered


def offer_free_seats(track: Track) -> list[Enrollment]:
    """Offer the track's free seats to its waitlist (after a make-up seat is given back, say).
    The track must be locked (`track_lock`)."""
    return _offer_free_seats(track)


def _future_track_sessions(enrollment: Enrollment):
    now = timezone.now()
    return TherapySession.objects.filter(
        track_id=enrollment.track_id, status=SessionStatus.SCHEDULED, starts_at__gt=now,
    )


def _activate(enrollment: Enrollment, track: Track, admission_date: date) -> None:
    enrollment.status = EnrollmentStatus.ACTIVE
    enrollment.admission_date = admission_date
    enrollment.planned_end_date = _planned_end(track, admission_date)
    enrollment.seat_offered_at = None
    _save_activation(enrollment)
    attendance_expect(enrollments=[enrollment])
    visits_changed(participant_ids=[enrollment.participant_id])


# --- services ------------------------------------------------------------------------------

def enrollment_enroll(
    *,
    participant: Participant,
    track: Track,
    admission_date: date,
    by: Any = None,
    director_override: bool = False,
) -> Enrollment:
    """Enroll `participant` in `track` from `admission_date`.

    With a free seat the enrollment is active at once and the participant is expected at every
    scheduled track session between admission and planned end (admission + program weeks,
    capped by a cohort's end date). Without one it is waitlisted. Free seats go to people
    already waiting first, so a newcomer never jumps the queue.
    Codes: invalid_admission_date, admission_before_track_start, admission_after_track_end,
    cohort_started, track_inactive, already_active, already_in_track.
    """
    with transaction.atomic():
        track = track_lock(track_id=track.pk)
        _check_track_active(track)
        _check_admission_date(track, admission_date)
        _check_cohort_open(track, admission_date, by=by, director_override=director_override)
        _check_not_in_care_elsewhere(participant)
        _refuse_waitlisted(Enrollment.objects.filter(
            participant=participant, track=track, status=EnrollmentStatus.WAITLISTED
        ).exists())
        _offer_free_seats(track)
        # A referral to this track becomes the enrollment, so its history stays in one row.
        enrollment = Enrollment.objects.filter(
            participant=participant, track=track, status=EnrollmentStatus.REFERRED
        ).first() or Enrollment(participant=participant, track=track)
        enrollment.admission_date = admission_date
        enrollment.planned_end_date = _planned_end(track, admission_date)
        if _seats_in_use(track) < track.capacity:
            _activate(enrollment, track, admission_date)
        else:
            enrollment.status = EnrollmentStatus.WAITLISTED
            enrollment.waitlisted_at = timezone.now()
            enrollment.save()
    return enrollment


@dataclass(frozen=True)
class EnrollRequest:
    """One person to enroll in `enrollment_enroll_many`."""

    participant: Participant
    track: Track
    admission_date: date


def enrollment_enroll_many(
    *,
    requests: Sequence[EnrollRequest],
    by: Any = None,
    director_override: bool = False,
) -> list[Enrollment | ValidationError]:
    """Enroll many people at once, each as `enrollment_enroll` would, in the order given.

    The same rules with the same codes (track active, admission dates, cohort started, one
    seat-holding enrollment per person, already on the waitlist) and the same seats: each track
    is locked once (in pk order), offers its free seats to the people already waiting first,
    then gives what is left to the requests in order; a request past the last seat is
    waitlisted. Returns, per request, its enrollment or the ValidationError that refused it;
    a refused request writes nothing. Enrollments are written and audited in bulk, expected
    attendance created in one pass, and reminders re-planned once for everyone: a fixed number
    of queries per track, whatever the number of people.
    """
    requests = list(requests)
    results: list[Enrollment | ValidationError | None] = [None] * len(requests)
    if not requests:
        return []
    participant_ids = {r.participant.pk for r in requests}
    by_is_director = bool(by is not None and getattr(by, "is_director", False))
    with transaction.atomic():
        tracks = {pk: track_lock(track_id=pk) for pk in sorted({r.track.pk for r in requests})}
        for track in tracks.values():
            _offer_free_seats(track)
        free = {pk: track.capacity - _seats_in_use(track) for pk, track in tracks.items()}
        in_care: dict[int, Enrollment] = {}
        for enrollment in (Enrollment.objects.filter(participant_id__in=participant_ids,
                                                     status__in=EnrollmentStatus.seat_holding())
                           .select_related("track").order_by("pk")):
            in_care.setdefault(enrollment.participant_id, enrollment)
        waiting = set(Enrollment.objects.filter(
            participant_id__in=participant_ids, status=EnrollmentStatus.WAITLISTED,
        ).values_list("participant_id", "track_id"))
        referrals: dict[tuple[int, int], Enrollment] = {}
        for enrollment in Enrollment.objects.filter(
            participant_id__in=participant_ids, status=EnrollmentStatus.REFERRED,
        ).order_by("pk"):
            referrals.setdefault((enrollment.participant_id, enrollment.track_id), enrollment)
        new, converted = [], []
        now = timezone.now()
        for index, request in enumerate(requests):
            track = tracks[request.track.pk]
            key = (request.participant.pk, track.pk)
            try:
                _check_track_active(track)
                _check_admission_date(track, request.admission_date)
                _check_cohort_open(track, request.admission_date, by=by,
                                   director_override=director_override,
                                   by_is_director=by_is_director)
                _refuse_in_care(in_care.get(request.participant.pk))
                _refuse_waitlisted(key in waiting)
            except ValidationError as exc:
                results[index] = exc
                continue
            enrollment = referrals.pop(key, None)
            if enrollment is None:
                enrollment = Enrollment(participant=request.participant, track=track)
                new.append(enrollment)
            else:
                converted.append(enrollment)
            enrollment.participant = request.participant
            enrollment.track = track
            enrollment.admission_date = request.admission_date
            enrollment.planned_end_date = _planned_end(track, request.admission_date)
            enrollment.updated_at = now
            if free[track.pk] > 0:
                free[track.pk] -= 1
                enrollment.status = EnrollmentStatus.ACTIVE
                enrollment.seat_offered_at = None
                in_care[request.participant.pk] = enrollment
            else:
                enrollment.status = EnrollmentStatus.WAITLISTED
                enrollment.waitlisted_at = now
                waiting.add(key)
            results[index] = enrollment
        try:
            with transaction.atomic():
                rows_create(model=Enrollment, objects=new)
                rows_bulk_update(objects=converted, fields=[
                    "status", "admission_date", "planned_end_date", "seat_offered_at",
                    "waitlisted_at", "updated_at"])
        except IntegrityError as exc:  # lost the one-active race to a concurrent writer
            raise ValidationError(
                _("A participant already has an active enrollment."), code="already_active",
            ) from exc
        active = [e for e in new + converted if e.status == EnrollmentStatus.ACTIVE]
        attendance_expect(enrollments=active)
        visits_changed(participant_ids=[e.participant_id for e in active])
    return results


def enrollment_refer(
    *, participant: Participant, track: Track, admission_date: date, by: Any = None,
) -> Enrollment:
    """Record a referral to `track`, expected to start on `admission_date`.

    A referral takes no seat and expects no attendance; `enrollment_enroll` later turns it into
    an active or waitlisted enrollment. Codes: invalid_admission_date,
    admission_before_track_start, admission_after_track_end, track_inactive, already_in_track.
    """
    with transaction.atomic():
        track = track_lock(track_id=track.pk)
        _check_track_active(track)
        _check_admission_date(track, admission_date)
        if Enrollment.objects.filter(
            participant=participant, track=track,
            status__in=(EnrollmentStatus.REFERRED, EnrollmentStatus.WAITLISTED),
        ).exists():
            raise ValidationError(
                _("This participant is already referred to or waiting for this track."),
                code="already_in_track",
            )
        return Enrollment.objects.create(
            participant=participant, track=track, status=EnrollmentStatus.REFERRED,
            admission_date=admission_date, planned_end_date=_planned_end(track, admission_date),
        )


def enrollment_admit_from_waitlist(
    *,
    enrollment: Enrollment,
    admission_date: date | None = None,
    by: Any = None,
    director_override: bool = False,
) -> Enrollment:
    """Make a waitlisted enrollment active.

    Someone offered a seat takes it; anyone else waitlisted is admitted only if a seat is free
    beyond those held for open offers. The admission date defaults to the later of the date
    first asked for and today at the site; the planned end follows from it.
    Codes: not_waitlisted, track_full, already_active, cohort_started, admission dates as enroll.
    """
    with transaction.atomic():
        track, locked = _lock_enrollment(enrollment)
        if locked.status != EnrollmentStatus.WAITLISTED:
            raise ValidationError(
                _("Only someone on the waitlist can be admitted from it."), code="not_waitlisted",
            )
        if admission_date is None:
            admission_date = max(locked.admission_date, site_today(site=track.site), track.start_date)
        _check_track_active(track)
        _check_admission_date(track, admission_date)
        _check_cohort_open(track, admission_date, by=by, director_override=director_override)
        _check_not_in_care_elsewhere(locked.participant)
        if locked.seat_offered_at is None and _seats_in_use(track) >= track.capacity:
            raise ValidationError(
                _("The track is full; this person can be admitted when a seat is offered."),
                code="track_full",
            )
        _activate(locked, track, admission_date)
    _refresh_caller(enrollment, locked)
    return enrollment


def enrollment_decline_offer(
    *, enrollment: Enrollment, keep_on_waitlist: bool = False, by: Any = None
) -> Enrollment:
    """The person offered a seat says no; the seat is offered to the next person waiting.

    By default they leave the waitlist (status withdrawn). With `keep_on_waitlist` they go to the
    back of the queue instead (`waitlisted_at` becomes now) and are not re-offered this seat.
    Codes: no_offer.
    """
    with transaction.atomic():
        track, locked = _lock_enrollment(enrollment)
        if locked.status != EnrollmentStatus.WAITLISTED or locked.seat_offered_at is None:
            raise ValidationError(_("There is no open seat offer to decline."), code="no_offer")
        locked.seat_offered_at = None
        if keep_on_waitlist:
            locked.waitlisted_at = timezone.now()
        else:
            locked.status = EnrollmentStatus.WITHDRAWN
        locked.save()
        _offer_free_seats(track, exclude_pk=locked.pk)
    _refresh_caller(enrollment, locked)
    return enrollment


def enrollment_offers_expire(*, now: datetime | None = None) -> int:
    """Pass every seat offer left unanswered past its program's `seat_offer_hours` to the next
    person waiting; the person offered goes to the back of the waitlist. Beat runs it; running
    it twice (or two at once) expires each offer once: each is re-checked under the track lock.
    Returns how many offers expired."""
    now = now or timezone.now()
    candidates = list(Enrollment.objects.filter(
        status=EnrollmentStatus.WAITLISTED, seat_offered_at__isnull=False,
    ).values_list("pk", "track_id", "seat_offered_at", "track__program__seat_offer_hours"))
    expired = 0
    for pk, track_id, offered_at, hours in candidates:
        if offered_at + timedelta(hours=hours) > now:
            continue
        with transaction.atomic():
            track, locked = _lock_enrollment(Enrollment(pk=pk, track_id=track_id))
            if (locked.status != EnrollmentStatus.WAITLISTED or locked.seat_offered_at is None
                    or locked.seat_offered_at + timedelta(hours=hours) > now):
                continue  # answered, admitted or expired meanwhile
            locked.seat_offered_at = None
            locked.waitlisted_at = now
            locked.save()
            _offer_free_seats(track, exclude_pk=locked.pk)
            expired += 1
    return expired


def enrollment_withdraw(*, enrollment: Enrollment, by: Any = None) -> Enrollment:
    """The person leaves before admission: status withdrawn, and any seat they held is offered on.

    Allowed for a waitlisted enrollment, and for an active or on-hold one whose admission date
    is still ahead (today at the site is before it); such a person has attended nothing, so all
    their expected attendance at the track's sessions is removed. Anyone already admitted is
    discharged instead.
    Codes: cannot_withdraw.
    """
    with transaction.atomic():
        track, locked = _lock_enrollment(enrollment)
        not_started = (locked.status in EnrollmentStatus.seat_holding()
                       and locked.admission_date > site_today(site=track.site))
        if locked.status != EnrollmentStatus.WAITLISTED and not not_started:
            raise ValidationError(
                _("Only someone waitlisted or not yet admitted can withdraw; discharge an "
                  "admitted participant instead."), code="cannot_withdraw",
            )
        frees_seat = not_started or locked.seat_offered_at is not None
        locked.status = EnrollmentStatus.WITHDRAWN
        locked.seat_offered_at = None
        locked.held_at = None
        locked.hold_reason = ""
        locked.save()
        if not_started:
            rows_delete(queryset=Attendance.objects.filter(
                participant_id=locked.participant_id, status=AttendanceStatus.EXPECTED,
                session__track_id=locked.track_id, session__local_date__gte=locked.admission_date,
            ))
            visits_changed(participant_ids=[locked.participant_id])
        if frees_seat:
            _offer_free_seats(track)
    _refresh_caller(enrollment, locked)
    return enrollment


def enrollment_hold(*, enrollment: Enrollment, reason: str, by: Any = None) -> Enrollment:
    """Pause an active enrollment. The seat stays theirs.

    "Future" here is any track session that has not started yet (start after now): expected
    attendance there is withdrawn. Marked attendance, and expected attendance at sessions already
    begun, stay. Personal (individual/family) sessions are left to their clinician.
    Codes: reason_required, not_active.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the enrollment is put on hold."), code="reason_required")
    with transaction.atomic():
        _track, locked = _lock_enrollment(enrollment)
        if locked.status != EnrollmentStatus.ACTIVE:
            raise ValidationError(_("Only an active enrollment can be put on hold."),
                                  code="not_active")
        locked.status = EnrollmentStatus.ON_HOLD
        locked.held_at = timezone.now()
        locked.hold_reason = reason[:200]
        locked.save()
        rows_delete(queryset=Attendance.objects.filter(
            participant_id=locked.participant_id, status=AttendanceStatus.EXPECTED,
            session__in=_future_track_sessions(locked),
        ))
        visits_changed(participant_ids=[locked.participant_id])
    _refresh_caller(enrollment, locked)
    return enrollment


def enrollment_resume(*, enrollment: Enrollment, by: Any = None) -> Enrollment:
    """Make an on-hold enrollment active again.

    Expected attendance comes back at every scheduled track session in the window that has not
    started yet (start after now); sessions missed during the hold stay without a record.
    Codes: not_on_hold, already_active.
    """
    with transaction.atomic():
        _track, locked = _lock_enrollment(enrollment)
        if locked.status != EnrollmentStatus.ON_HOLD:
            raise ValidationError(_("Only an enrollment on hold can be resumed."),
                                  code="not_on_hold")
        _check_not_in_care_elsewhere(locked.participant, exclude_pk=locked.pk)
        locked.status = EnrollmentStatus.ACTIVE
        locked.held_at = None
        locked.hold_reason = ""
        _save_activation(locked)
        attendance_expect(enrollments=[locked], sessions=_future_track_sessions(locked))
        visits_changed(participant_ids=[locked.participant_id])
    _refresh_caller(enrollment, locked)
    return enrollment


def _validated_care_plan(care_plan: dict[str, Any]) -> dict[str, str]:
    unknown = sorted(set(care_plan) - CARE_PLAN_FIELDS)
    if unknown:
        raise ValidationError(
            _("The continuing-care plan has no field %(fields)s."),
            code="invalid_care_plan", params={"fields": ", ".join(unknown)},
        )
    values = {key: "" if value is None else str(value).strip() for key, value in care_plan.items()}
    if values.get("step_down_level", "") not in StepDownLevel.values:
        raise ValidationError(
            _("%(level)s is not a level of care to step down to."),
            code="invalid_step_down_level", params={"level": values["step_down_level"]},
        )
    if len(values.get("step_down_provider", "")) > 120:
        raise ValidationError(_("The step-down provider's name is too long (120 characters)."),
                              code="invalid_care_plan")
    return values


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / 60).quantize(Decimal("0.1"))


def _check_completion(enrollment: Enrollment, track: Track) -> None:
    """Refuse "completed" below the program's attendance threshold, saying what is missing."""
    needed = track.program.min_attendance_percent
    ledger = hours_ledger(enrollment=enrollment)
    percent = ledger.attendance_percent
    if needed and (percent is None or percent < needed):
        raise ValidationError(
            _("Completing needs attendance of at least %(needed)s %% of the hours held; this "
              "enrollment has %(percent)s (%(attended)s of %(held)s h). Choose another reason, "
              "or correct the attendance if it is wrong."),
            code="completion_attendance_too_low",
            params={"needed": needed, "percent": "no attendance recorded" if percent is None
                    else f"{percent} %", "attended": _hours(ledger.minutes_attended),
                    "held": _hours(ledger.minutes_held)},
        )


def enrollment_discharge(
    *,
    enrollment: Enrollment,
    discharge_date: date,
    reason: DischargeReason | str,
    note: str = "",
    care_plan: dict[str, Any] | None = None,
    by: Any = None,
) -> Enrollment:
    """End an active or on-hold enrollment: completed if the reason is completion, else discharged.

    The discharge date is the last day in care and cannot be after today at the site.
    "Future" attendance is any session after the discharge date, or on it but not started yet
    (start after now): its EXPECTED rows are deleted (track sessions and the participant's
    personal sessions, except continuing-care follow-ups). Marked attendance is never touched.
    `care_plan` (step_down_level, step_down_provider, support_groups, notes) creates or
    updates the continuing-care plan. The seat frees and is offered to the next person waiting.
    "Completed" needs the program's `min_attendance_percent` (the ledger's attendance %, up to
    the discharge date); otherwise the refusal says what is missing.
    Codes: not_in_care, invalid_discharge_date, discharge_before_admission, discharge_in_future,
    invalid_reason, invalid_care_plan, invalid_step_down_level, completion_attendance_too_low.
    """
    if reason not in DischargeReason.values:
        raise ValidationError(_("%(reason)s is not a discharge reason."),
                              code="invalid_reason", params={"reason": reason})
    if not isinstance(discharge_date, date):
        raise ValidationError(_("Enter a discharge date."), code="invalid_discharge_date")
    plan_values = _validated_care_plan(care_plan) if care_plan is not None else None
    with transaction.atomic():
        track, locked = _lock_enrollment(enrollment)
        if locked.status not in EnrollmentStatus.seat_holding():
            raise ValidationError(
                _("Only an active or on-hold enrollment can be discharged."), code="not_in_care",
            )
        if discharge_date < locked.admission_date:
            raise ValidationError(
                _("The discharge date cannot be before admission (%(admission)s)."),
                code="discharge_before_admission", params={"admission": locked.admission_date},
            )
        if discharge_date > site_today(site=track.site):
            raise ValidationError(
                _("The discharge date cannot be in the future; discharge on the day care ends."),
                code="discharge_in_future",
            )
        locked.discharge_date = discharge_date
        if reason == DischargeReason.COMPLETED:
            _check_completion(locked, track)
        locked.status = (EnrollmentStatus.COMPLETED if reason == DischargeReason.COMPLETED
                         else EnrollmentStatus.DISCHARGED)
        locked.discharge_reason = reason
        locked.discharge_note = (note or "").strip()
        locked.held_at = None
        locked.hold_reason = ""
        locked.save()

        now = timezone.now()
        rows_delete(queryset=Attendance.objects.filter(
            Q(enrollment=locked) | Q(session__track_id=locked.track_id)
            | Q(session__participant_id=locked.participant_id),
            participant_id=locked.participant_id, status=AttendanceStatus.EXPECTED,
            session__care_plan__isnull=True,
        ).filter(
            Q(session__local_date__gt=discharge_date)
            | Q(session__local_date=discharge_date, session__starts_at__gt=now)
        ))

        if plan_values is not None:
            plan = ContinuingCarePlan.objects.filter(enrollment=locked).first()
            if plan is None:
                plan = ContinuingCarePlan(enrollment=locked, created_by=by)
            for key, value in plan_values.items():
                setattr(plan, key, value)
            plan.save()

        _offer_free_seats(track)
        visits_changed(participant_ids=[locked.participant_id])
    _refresh_caller(enrollment, locked)
    return enrollment
