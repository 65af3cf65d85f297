"""The participant chart's own reads: consents, enrollments, coming and past visits, follow-ups.

Visits and follow-ups come back as plain dicts of the columns the chart shows (`values()`):
ninety visits built as an attendance, a session, a site, a room and a session type each were a
fifth of the chart's time. Five queries whatever the size of the clinic.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import OuterRef, Q, Subquery

from participants.models import ContactConsent, Enrollment, Participant

from ..models import Attendance, AttendanceStatus, SessionStatus
from .makeups import live_makeups

CHART_HISTORY_LIMIT = 60
CHART_UPCOMING_LIMIT = 30

_VISIT_FIELDS = ("pk", "status", "makeup_for_id", "session_id", "session__title",
                 "session__session_type__name", "session__local_date")


@dataclass
class ParticipantChart:
    participant: Participant
    consents: list[ContactConsent]
    enrollments: list[Enrollment]
    upcoming: list[dict]
    history: list[dict]
    followups: list[dict]


def participant_chart(*, participant: Participant, today: date) -> ParticipantChart:
    visits = Attendance.objects.filter(participant=participant)
    upcoming = (visits.filter(session__local_date__gte=today,
                              session__status=SessionStatus.SCHEDULED)
                .exclude(status__in=AttendanceStatus.marked())
                .order_by("session__starts_at", "pk")
                .values(*_VISIT_FIELDS, "session__starts_at", "session__site__time_zone",
                        "session__room__name")[:CHART_UPCOMING_LIMIT])
    # A miss already made up says when (and is offered no other); a make-up is not offered
    # one itself: cancelled or missed, its own miss gets the offer back.
    history = (visits.filter(Q(session__local_date__lt=today)
                             | Q(status__in=AttendanceStatus.marked()))
               .annotate(made_up_on=Subquery(
                   live_makeups().filter(makeup_for=OuterRef("pk"))
                   .order_by("session__starts_at").values("session__local_date")[:1]))
               .order_by("-session__starts_at", "-pk")
               .values(*_VISIT_FIELDS, "minutes_attended", "session__status", "session__kind",
                       "made_up_on")[:CHART_HISTORY_LIMIT])
    return ParticipantChart(
        participant=participant,
        consents=list(participant.consents.order_by("channel", "-given_at")),
        enrollments=list(participant.enrollments.select_related("track__program", "track__site")
                         .order_by("-admission_date", "-pk")),
        upcoming=list(upcoming),
        history=list(history),
        followups=list(participant.followups.order_by("status", "-created_at").values(
            "pk", "kind", "status", "created_at", "outcome_note",
            "assignee__first_name", "assignee__last_name")),
    )
