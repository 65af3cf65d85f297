"""Reads behind the round-2 staff pages: a track's people, the chart's extras, Today's boxes.

Each returns lists with their related rows fetched, so a page costs a fixed number of queries
whatever the number of people.
"""
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from django.db import connections, router
from django.db.models import Count, Exists, OuterRef, Q

from iop_clinic.compiled import CompiledQuery, compile_once, id_sentinels

from participants.models import ContinuingCarePlan, Enrollment, EnrollmentStatus, Participant
from participants.selectors import Seats, seats_among
from programs.models import Closure, Track, WeeklySlot

from ..models import (
    Attendance, AttendanceStatus, ExcusedAbsenceRequest, ExcuseStatus, SessionStatus,
    TherapySession,
)
from .ledger import HoursLedger, hours_ledger, ledger_enrollment


@dataclass
class TrackPerson:
    """One person on a track's page: their enrollment's status and days, their name and code
    (plain values: a full track is a hundred rows or more, and building an enrollment and a
    participant instance for each, some sixty fields, was most of reading them)."""

    pk: int  # the enrollment's
    track_id: int
    status: str
    admission_date: date | None
    waitlisted_at: datetime | None
    seat_offered_at: datetime | None
    code: uuid.UUID  # the participant's
    first_name: str
    last_name: str
    position: int = 0  # place in the waitlist's queue

    @property
    def full_name(self) -> str:  # as Participant.full_name
        return f"{self.first_name} {self.last_name}"


_SLOT_TRACK = WeeklySlot._meta.get_field("track")
_TRACK_PERSON_FIELDS = ("pk", "track_id", "status", "admission_date", "waitlisted_at",
                        "seat_offered_at", "participant__code", "participant__first_name",
                        "participant__last_name")


@dataclass
class TrackPeople:
    track: Track
    in_care: list[TrackPerson]
    waitlist: list[TrackPerson]  # queue order; each has .position
    seats: Seats

    @property
    def seats_taken(self) -> int:
        return self.seats.taken

    @property
    def offered(self) -> list[Enrollment]:
        return [e for e in self.waitlist if e.seat_offered_at]


# The track the track page's statements are compiled with, replaced by the real one when they
# run (no real id is negative).
_ANY_TRACK = -1
_ANY_DAY = date(1, 1, 3)


@lru_cache(maxsize=8)
def _track_statement(what: str, alias: str, vendor: str) -> CompiledQuery:
    """The track page's reads (`track_people`, `track_slots`, `track_session_counts`),
    compiled by the ORM once per process (iop_clinic.compiled): compiling them cost ~1.5 ms of
    the page's CPU, more than running them. Only the track (and the day) change, as
    parameters, so a statement can't go stale."""
    if what == "people":
        queryset = (Enrollment.objects.using(alias).filter(
            track_id=_ANY_TRACK,
            status__in=(*EnrollmentStatus.seat_holding(), EnrollmentStatus.WAITLISTED))
            .order_by("participant__last_name", "participant__first_name", "pk")
            .values_list(*_TRACK_PERSON_FIELDS))
        return compile_once(queryset.query.get_compiler(using=alias),
                            {_ANY_TRACK: "track"}, what="track people")
    if what == "slots":
        queryset = (WeeklySlot.objects.using(alias).filter(track_id=_ANY_TRACK)
                    .select_related("session_type", "room", "facilitator")
                    .order_by("weekday", "start_time", "pk"))
        return compile_once(queryset.query.get_compiler(using=alias),
                            {_ANY_TRACK: "track"}, what="track slots", model=WeeklySlot)
    # One row per track that has sessions (none for one without): the counts `aggregate`
    # gives, grouped by the one track asked for.
    queryset = (TherapySession.objects.using(alias).filter(track_id=_ANY_TRACK)
                .values("track_id").order_by()
                .annotate(ahead=Count("pk", filter=Q(local_date__gte=_ANY_DAY,
                                                     status=SessionStatus.SCHEDULED)),
                          total=Count("pk")).values_list("ahead", "total"))
    return compile_once(queryset.query.get_compiler(using=alias), {
        _ANY_TRACK: "track",
        connections[alias].ops.adapt_datefield_value(_ANY_DAY): "today"},
        what="track session counts")


def _track_rows(what: str, model) -> CompiledQuery:
    alias = router.db_for_read(model)
    return _track_statement(what, alias, connections[alias].vendor)


def track_people(*, track: Track) -> TrackPeople:
    rows = [TrackPerson(*values) for values in _track_rows("people", Enrollment).rows(
        {"track": track.pk})]
    in_care = [e for e in rows if e.status in EnrollmentStatus.seat_holding()]
    waitlist = sorted((e for e in rows if e.status == EnrollmentStatus.WAITLISTED),
                      key=lambda e: (e.waitlisted_at, e.pk))
    for position, enrollment in enumerate(waitlist, start=1):
        enrollment.position = position
    # Every seat is among these rows: counted from them, not by another query.
    return TrackPeople(track=track, in_care=in_care, waitlist=waitlist,
                       seats=seats_among(track=track, enrollments=rows))


def track_slots(*, track: Track) -> list[WeeklySlot]:
    """The track's timetable in week order; the schedule services plan from this same list."""
    slots = _track_rows("slots", WeeklySlot).objects({"track": track.pk})
    for slot in slots:  # as the related manager does
        _SLOT_TRACK.set_cached_value(slot, track)
    return slots


def slot_sessions_ahead(*, slot: WeeklySlot, now) -> dict:
    """A timetable line's sessions still to come: how many, and how many someone is marked at
    already (those keep their time and place when the line moves or goes)."""
    marked = Attendance.objects.filter(session_id=OuterRef("pk"),
                                       status__in=AttendanceStatus.marked())
    return TherapySession.objects.filter(
        weekly_slot=slot, status=SessionStatus.SCHEDULED, starts_at__gt=now,
    ).aggregate(total=Count("pk"), marked=Count("pk", filter=Q(Exists(marked))))


def slot_sessions_movable(*, slot: WeeklySlot, now):
    """The sessions a change to this timetable line moves or removes (`weekly_slot_update`,
    `weekly_slot_delete`): still ahead, nobody marked yet. A queryset."""
    marked = Attendance.objects.filter(session_id=OuterRef("pk"),
                                       status__in=AttendanceStatus.marked())
    return TherapySession.objects.filter(
        weekly_slot=slot, status=SessionStatus.SCHEDULED, starts_at__gt=now,
    ).exclude(Exists(marked))


def slot_session_ids_to_move(*, slot: WeeklySlot, now) -> list[int]:
    """The ids of `slot_sessions_movable`. One query."""
    return list(slot_sessions_movable(slot=slot, now=now).values_list("pk", flat=True))


def closure_session_ids(*, site_id: int, day: date) -> list[int]:
    """The sessions closing this site on this day would cancel (`closure_add`'s rule)."""
    return list(TherapySession.objects.filter(
        site_id=site_id, local_date=day, status=SessionStatus.SCHEDULED,
    ).values_list("pk", flat=True))


def track_session_counts(*, track: Track, today: date) -> dict:
    alias = router.db_for_read(TherapySession)
    rows = _track_rows("counts", TherapySession).rows({
        "track": track.pk, "today": connections[alias].ops.adapt_datefield_value(today)})
    ahead, total = rows[0] if rows else (0, 0)
    return {"ahead": ahead, "total": total}


def site_closures(*, site_ids: list[int], today: date) -> list[Closure]:
    return list(Closure.objects.filter(site_id__in=site_ids, date__gte=today)
                .select_related("site").order_by("date", "site__name")[:60])


# Today's boxes of offered seats and excuses waiting for review are small queries the ORM took
# longer to compile (about half a millisecond each) than PostgreSQL to run: they are compiled
# once a process and number of sites, the sites standing as `id_sentinels`, and run
# with each request's sites. Only SQL text is kept; the sites are parameters, so a statement
# can't go stale.
OFFERED_SEAT_FIELDS = ("pk", "track_id", "track__name", "seat_offered_at",
                       "track__program__seat_offer_hours", "participant__code",
                       "participant__first_name", "participant__last_name")
PENDING_EXCUSE_FIELDS = ("code", "attendance__participant__first_name",
                         "attendance__participant__last_name", "attendance__session_date")


def _offered_seats_queryset(*, site_ids: list[int], alias: str | None = None):
    return (Enrollment.objects.using(alias).filter(
        track__site_id__in=site_ids, status=EnrollmentStatus.WAITLISTED,
        seat_offered_at__isnull=False)
        .order_by("seat_offered_at", "pk").values(*OFFERED_SEAT_FIELDS)[:50])


def _pending_excuses_queryset(*, site_ids: list[int] | None = None,
                              participant: Participant | None = None,
                              alias: str | None = None):
    # The session's site and start and the day are read from the request and its attendance
    # (kept by the database, migrations 0013 and 0014), so the pending ones come in order from
    # `excuse_pending_start_idx` and only the 50 shown are joined, not every pending request.
    requests = ExcusedAbsenceRequest.objects.using(alias).filter(status=ExcuseStatus.PENDING)
    if site_ids is not None:
        requests = requests.filter(session_site_id__in=site_ids)
    if participant is not None:
        requests = requests.filter(attendance__participant=participant)
    return requests.order_by("session_starts_at", "pk").values(*PENDING_EXCUSE_FIELDS)[:50]


@lru_cache(maxsize=32)
def _by_sites_statement(what: str, alias: str, vendor: str, sites: int) -> CompiledQuery:
    """`what` ("offered seats" or "pending excuses") at `sites` sites, compiled once."""
    queryset = {"offered seats": _offered_seats_queryset,
                "pending excuses": _pending_excuses_queryset}[what]
    site_ids, sentinels = id_sentinels("sites", sites)
    compiler = queryset(site_ids=site_ids, alias=alias).query.get_compiler(using=alias)
    return compile_once(compiler, sentinels, what=what, prepared=True)


def _rows_at_sites(what: str, model, site_ids: list[int], names: tuple) -> list[dict]:
    if not site_ids:
        return []
    alias = router.db_for_read(model)
    query = _by_sites_statement(what, alias, connections[alias].vendor, len(site_ids))
    rows = query.rows({"sites": site_ids})
    return [dict(zip(names, row, strict=True)) for row in rows]


def offered_seats(*, site_ids: list[int]) -> list[dict]:
    """Waitlisted people offered a freed seat who have not answered yet, as dicts of what
    Today shows, each with `offer_expires_at` (when the offer passes to the next person)."""
    offers = _rows_at_sites("offered seats", Enrollment, list(site_ids), OFFERED_SEAT_FIELDS)
    for offer in offers:
        offer["offer_expires_at"] = offer["seat_offered_at"] + timedelta(
            hours=offer["track__program__seat_offer_hours"])
    return offers


def pending_excuses(*, site_ids: list[int] | None = None,
                    participant: Participant | None = None) -> list[dict]:
    """Excused-absence requests waiting for review, the soonest session first, as dicts of
    what Today shows."""
    if site_ids is not None and participant is None:
        return _rows_at_sites("pending excuses", ExcusedAbsenceRequest, list(site_ids),
                              PENDING_EXCUSE_FIELDS)
    return list(_pending_excuses_queryset(site_ids=site_ids, participant=participant))


@dataclass
class ChartCare:
    ledger: HoursLedger | None
    care_plans: list[ContinuingCarePlan]
    followup_sessions: list[TherapySession] = field(default_factory=list)


def _care_plans(*, participant: Participant, enrollments: list[Enrollment]):
    """The participant's care plans, newest first: from the enrollments when they were read
    with them (`select_related("care_plan")`, as participant_chart does), else one query."""
    if not all(Enrollment.care_plan.is_cached(e) for e in enrollments):
        return list(ContinuingCarePlan.objects.filter(enrollment__participant=participant)
                    .order_by("-created_at"))
    plans = []
    for enrollment in enrollments:
        try:
            plans.append(enrollment.care_plan)
        except ContinuingCarePlan.DoesNotExist:
            pass
    return sorted(plans, key=lambda plan: plan.created_at, reverse=True)


def chart_care(*, participant: Participant, enrollments: list[Enrollment],
               ledger_rows: list[tuple] | None = None) -> ChartCare:
    """The hours ledger of the current (or latest) enrollment (`ledger_enrollment`), care plans
    and their follow-up sessions (the chart's pending excuse requests come with its lists:
    chart.chart_lists).

    `enrollments` are all the participant's; read with their care plans, they save a query.
    `ledger_rows`, the ledger's attendance rows when the chart read them with its lists
    (`ParticipantChart.ledger_rows`), save another."""
    current = ledger_enrollment(enrollments)
    ledger = (hours_ledger(enrollment=current, rows=ledger_rows)
              if current is not None else None)
    plans = _care_plans(participant=participant, enrollments=enrollments)
    # Follow-up sessions hang off a care plan: without a plan (anyone not yet discharged)
    # there are none to read.
    followup_sessions = list(TherapySession.objects.filter(
        care_plan_id__in=[plan.pk for plan in plans])
        .select_related("site", "facilitator", "session_type").order_by("starts_at")[:20]
    ) if plans else []
    return ChartCare(ledger=ledger, care_plans=plans, followup_sessions=followup_sessions)


