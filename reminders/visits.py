"""What a visit day is: all of one participant's scheduled sessions on one local date.

A session counts when the participant is expected at it (an "expected" attendance row, or a
personal session with no attendance row yet) and the participant may be reminded of it: they
have an active enrollment, or the session is a follow-up of their own continuing-care plan.
Planner and send task both ask here, so the rule lives once.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Exists, OuterRef

from participants.models import Enrollment, EnrollmentStatus, Participant

from reminders.models import ReminderReason
from sessions.models import Attendance, AttendanceStatus, SessionStatus, TherapySession


@dataclass(frozen=True)
class Visit:
    participant_id: int
    date: date  # in the participant's time zone
    first_start: datetime
    site_id: int


@dataclass
class VisitDays:
    visits: dict[tuple[int, date], Visit]
    # Days with sessions the participant may not be reminded of (no active enrollment).
    not_enrolled: set[tuple[int, date]]
    # Participants with an active enrollment.
    enrolled: set[int]

    def missing_reason(self, key: tuple[int, date]) -> str:
        """Why (participant id, day) has no visit: not_enrolled for someone out of care (a
        discharge deletes their expected attendance, so no session is found), else
        session_cancelled."""
        if key in self.not_enrolled or key[0] not in self.enrolled:
            return ReminderReason.NOT_ENROLLED
        return ReminderReason.SESSION_CANCELLED


def visit_days(*, participants: Iterable[Participant], starts_from: datetime,
               starts_until: datetime, kinds: Iterable[str] | None = None) -> VisitDays:
    """Visit days of these participants whose sessions start in [starts_from, starts_until).

    `kinds` limits the sessions to those kinds (a family contact hears of family sessions).
    Three queries whatever the number of participants; participants need `home_site` loaded.
    """
    by_id = {p.pk: p for p in participants}
    result = VisitDays(visits={}, not_enrolled=set(), enrolled=set())
    if not by_id:
        return result
    # No ORDER BY in these three (.order_by()): the rows become sets and minima, and the
    # models' default orderings (by the participant's name) cost a join and a sort each.
    active = result.enrolled = set(Enrollment.objects.filter(
        participant_id__in=by_id, status=EnrollmentStatus.ACTIVE,
    ).order_by().values_list("participant_id", flat=True))
    window = {"status": SessionStatus.SCHEDULED, "starts_at__gte": starts_from,
              "starts_at__lt": starts_until}
    if kinds is not None:
        window["kind__in"] = list(kinds)
    expected = Attendance.objects.filter(
        participant_id__in=by_id, status=AttendanceStatus.EXPECTED,
        **{f"session__{key}": value for key, value in window.items()},
    ).order_by().values_list("participant_id", "session__starts_at", "session__site_id",
                             "session__care_plan__enrollment__participant_id")
    unmarked_personal = TherapySession.objects.filter(participant_id__in=by_id, **window).filter(
        ~Exists(Attendance.objects.filter(session=OuterRef("pk"),
                                          participant_id=OuterRef("participant_id")))
    ).order_by().values_list("participant_id", "starts_at", "site_id",
                             "care_plan__enrollment__participant_id")
    for participant_id, starts_at, site_id, follow_up_of in [*expected, *unmarked_personal]:
        participant = by_id[participant_id]
        day = starts_at.astimezone(participant.zone).date()
        key = (participant_id, day)
        if participant_id not in active and follow_up_of != participant_id:
            result.not_enrolled.add(key)
            continue
        known = result.visits.get(key)
        if known is None or starts_at < known.first_start:
            result.visits[key] = Visit(participant_id, day, starts_at, site_id)
    return result
