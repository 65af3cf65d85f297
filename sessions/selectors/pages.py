"""Reads behind the staff pages, each a fixed number of queries whatever the data size."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.roles import Role
from participants.models import ContactConsent, Enrollment, Participant
from programs.models import Room, Track

from ..models import (
    Attendance,
    AttendanceStatus,
    FollowUp,
    FollowUpStatus,
    SessionStatus,
    TherapySession,
)
from .makeups import live_makeups

CHART_HISTORY_LIMIT = 60
CHART_UPCOMING_LIMIT = 30


def _attendance_count(rows: QuerySet[Attendance]) -> Coalesce:
    """How many of `rows` belong to each session, as a subquery per session row."""
    # COUNT(*), not COUNT(id): the id is not in attendance_session_cover_idx, and counting it
    # sent PostgreSQL to the table for every row (63 ms instead of 22 ms for a week at 2,000).
    counted = (rows.filter(session_id=OuterRef("pk")).order_by().values("session_id")
               .annotate(n=Count("*")).values("n"))
    return Coalesce(Subquery(counted), 0)


def _with_counts(queryset: QuerySet[TherapySession]) -> QuerySet[TherapySession]:
    """Expected and marked counts per session, each counted from the session's own rows (an
    index-only scan of attendance_session_cover_idx) rather than by joining every attendance
    row and grouping by all the selected columns."""
    return queryset.annotate(
        expected_count=_attendance_count(
            Attendance.objects.exclude(status=AttendanceStatus.CANCELLED)),
        marked_count=_attendance_count(
            Attendance.objects.filter(status__in=AttendanceStatus.marked())),
    )


# The columns Today's list shows: wide rows of six related tables (a participant has some
# thirty columns) were most of the cost of building its models.
DAY_SESSION_FIELDS = (
    "session_type_id", "kind", "site_id", "track_id", "participant_id", "room_id",
    "facilitator_id", "title", "starts_at", "ends_at", "local_date", "status",
    "site__name", "site__time_zone", "room__name", "facilitator__first_name",
    "facilitator__last_name", "session_type__name", "track__name",
    "participant__first_name", "participant__last_name",
)


def day_sessions(*, site_ids: list[int], day: date) -> list[TherapySession]:
    """The day's sessions at these sites in time order, with expected and marked counts.
    Only the fields Today shows are loaded (DAY_SESSION_FIELDS)."""
    return list(_with_counts(
        TherapySession.objects.filter(site_id__in=site_ids, local_date=day)
        .select_related("site", "room", "facilitator", "session_type", "track", "participant")
        .only(*DAY_SESSION_FIELDS)
    ).order_by("starts_at", "pk"))


def _followups_at(site_ids: list[int]) -> Q:
    """A follow-up belongs to a site through the person's home site or the session it is about."""
    return Q(participant__home_site_id__in=site_ids) | Q(session__site_id__in=site_ids)


def default_followup_assignee(user) -> str:
    """The follow-up view that holds this person's work: "me" for clinicians, who are assigned
    absences, "" (everyone at my sites) for front desk, who never are, and for directors, who
    oversee the site (escalations assigned to them are in it too)."""
    if user.is_director or not user.has_role(Role.CLINICIAN):
        return ""
    return "me"


@dataclass
class PersonFollowUps:
    """One participant's open follow-ups, for lists that name each person once."""

    participant: Participant
    followups: list[FollowUp]


def open_followups_by_person(*, site_ids: list[int], assignee=None,
                             limit: int = 20) -> list[PersonFollowUps]:
    """Open follow-ups grouped by participant, each person once, the longest-waiting first.

    Each follow-up shows the day it is about (`FollowUp.about_date`), not the day it was raised.
    One query; at most `limit` people (from the oldest `limit * 5` open follow-ups).
    """
    queryset = (FollowUp.objects
                .filter(status=FollowUpStatus.OPEN)
                .filter(_followups_at(site_ids))
                .select_related("participant")
                .order_by("created_at", "pk"))
    if assignee is not None:
        queryset = queryset.filter(assignee=assignee)
    people: dict[int, PersonFollowUps] = {}
    for followup in queryset[:limit * 5]:
        entry = people.get(followup.participant_id)
        if entry is None:
            if len(people) >= limit:
                continue
            entry = people[followup.participant_id] = PersonFollowUps(followup.participant, [])
        entry.followups.append(followup)
    for entry in people.values():
        entry.followups.sort(key=lambda f: (f.about_date or date.min, f.pk))
    return list(people.values())


def open_followup_count(*, site_ids: list[int]) -> int:
    return (FollowUp.objects.filter(status=FollowUpStatus.OPEN)
            .filter(_followups_at(site_ids))
            .count())


def followup_list(
    *, site_ids: list[int], assignee_id: int | None, status: str,
) -> QuerySet[FollowUp]:
    queryset = (FollowUp.objects
                .filter(_followups_at(site_ids))
                .select_related("participant", "assignee", "session__site", "resolved_by")
                .order_by("-created_at", "-pk"))
    if status:
        queryset = queryset.filter(status=status)
    if assignee_id:
        queryset = queryset.filter(assignee_id=assignee_id)
    return queryset


@dataclass
class WeekDay:
    day: date
    sessions: list = field(default_factory=list)  # of CALENDAR_FIELDS rows (named tuples)


# What a calendar block shows, read as plain rows: a week at two sites is some 300 sessions,
# and building six model instances for each was most of the calendar's Python.
CALENDAR_FIELDS = (
    "pk", "kind", "title", "status", "starts_at", "ends_at", "local_date", "track_id",
    "site__name", "site__time_zone", "room__name", "facilitator__first_name",
    "facilitator__last_name", "session_type__name", "track__name", "expected_count",
)


def week_calendar(*, site_ids: list[int], week_start: date, room_id: int | None = None,
                  facilitator_id: int | None = None, track_id: int | None = None) -> list[WeekDay]:
    """Seven days from `week_start` at these sites, sessions in time order, filters applied.

    Each session is a named tuple of CALENDAR_FIELDS, with the count of people expected (the
    calendar shows no marked count, so it is not counted: each count reads every row of the
    session's attendance)."""
    days = [WeekDay(day=week_start + timedelta(days=offset)) for offset in range(7)]
    queryset = (TherapySession.objects
                .filter(site_id__in=site_ids, local_date__gte=week_start,
                        local_date__lte=week_start + timedelta(days=6)))
    if room_id:
        queryset = queryset.filter(room_id=room_id)
    if facilitator_id:
        queryset = queryset.filter(facilitator_id=facilitator_id)
    if track_id:
        queryset = queryset.filter(track_id=track_id)
    queryset = queryset.annotate(expected_count=_attendance_count(
        Attendance.objects.exclude(status=AttendanceStatus.CANCELLED)))
    by_day = {d.day: d for d in days}
    for session in (queryset.order_by("starts_at", "pk")
                    .values_list(*CALENDAR_FIELDS, named=True)):
        by_day[session.local_date].sessions.append(session)
    return days


def calendar_filter_choices(*, site_ids: list[int]) -> dict:
    """The rooms, tracks and active staff of these sites, for the calendar's filters."""
    return {
        "rooms": list(Room.objects.filter(site_id__in=site_ids).select_related("site")
                      .order_by("site__name", "name")),
        "tracks": list(Track.objects.filter(site_id__in=site_ids).select_related("program")
                       .order_by("program__name", "name")),
        "facilitators": list(get_user_model().objects.filter(sites__in=site_ids, is_active=True)
                             .distinct().order_by("last_name", "first_name", "pk")),
    }


# What a roster row and the sign-in sheet show of each row and its people: a hundred rows of
# a participant's thirty columns, a user's and an enrollment's were most of building them.
ROSTER_FIELDS = (
    "session_id", "participant_id", "enrollment_id", "marked_by_id", "status",
    "minutes_attended", "note", "marked_at", "confirmation",
    "participant__code", "participant__first_name", "participant__last_name",
    "marked_by__username", "marked_by__first_name", "marked_by__last_name",
    "enrollment__track_id",
)


def _roster_rows() -> QuerySet[Attendance]:
    return (Attendance.objects.select_related("participant", "marked_by", "enrollment")
            .only(*ROSTER_FIELDS))


def roster(*, session: TherapySession) -> list[Attendance]:
    """Everyone expected at the session, by name, with who marked them."""
    return list(_roster_rows().filter(session=session)
                .order_by("participant__last_name", "participant__first_name", "pk"))


def roster_row(*, attendance_pk: int, session: TherapySession) -> Attendance:
    return _roster_rows().get(pk=attendance_pk, session=session)


def expected_left(*, session: TherapySession) -> int:
    return Attendance.objects.filter(session=session, status=AttendanceStatus.EXPECTED).count()


def participant_search(*, participants: QuerySet[Participant], query: str) -> QuerySet[Participant]:
    """Every word must match a name or the record number."""
    queryset = participants.select_related("home_site", "primary_clinician")
    for word in query.split()[:5]:
        queryset = queryset.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word)
                                   | Q(record_number__icontains=word))
    return queryset.order_by("last_name", "first_name", "pk")


@dataclass
class ParticipantChart:
    participant: Participant
    consents: list[ContactConsent]
    enrollments: list[Enrollment]
    upcoming: list[Attendance]
    history: list[Attendance]
    followups: list[FollowUp]


_CHART_FIELDS = ("session_id", "participant_id", "status", "minutes_attended", "session__title",
                 "session__kind", "session__status", "session__starts_at",
                 "session__local_date", "session__site__time_zone", "session__room__name",
                 "session__session_type__name")


def participant_chart(*, participant: Participant, today: date) -> ParticipantChart:
    # Only what the chart shows: two user rows more per line were a third of its render.
    attendances = (Attendance.objects.filter(participant=participant)
                   .select_related("session__site", "session__room", "session__session_type")
                   .only(*_CHART_FIELDS))
    upcoming = (attendances.filter(session__local_date__gte=today,
                                   session__status=SessionStatus.SCHEDULED)
                .only(*_CHART_FIELDS, "makeup_for_id")
                .exclude(status__in=AttendanceStatus.marked())
                .order_by("session__starts_at", "pk")[:CHART_UPCOMING_LIMIT])
    # A miss already made up says when (and is offered no other); a make-up is not offered
    # one itself: cancelled or missed, its own miss gets the offer back.
    history = (attendances.filter(Q(session__local_date__lt=today)
                                  | Q(status__in=AttendanceStatus.marked()))
               .only(*_CHART_FIELDS, "makeup_for_id")
               .annotate(made_up_on=Subquery(
                   live_makeups().filter(makeup_for=OuterRef("pk"))
                   .order_by("session__starts_at").values("session__local_date")[:1]))
               .order_by("-session__starts_at", "-pk")[:CHART_HISTORY_LIMIT])
    return ParticipantChart(
        participant=participant,
        consents=list(participant.consents.order_by("channel", "-given_at")),
        enrollments=list(participant.enrollments.select_related("track__program", "track__site")
                         .order_by("-admission_date", "-pk")),
        upcoming=list(upcoming),
        history=list(history),
        followups=list(participant.followups.select_related("assignee")
                       .order_by("status", "-created_at")),
    )
