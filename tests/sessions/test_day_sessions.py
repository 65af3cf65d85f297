"""Today's day list (`pages.day_sessions`, written in SQL) reads what the ORM reads.

The reference below is the queryset the list was built with before: the same fields through
the same relations, each count a subquery over the session's attendance. Sessions with and
without a room, facilitator, title, track or participant, cancelled ones, another site and
another day, and every attendance status must come back the same, in the same order.
"""
import datetime as dt

import pytest
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from reports.tally import SESSION_COUNTS
from sessions.models import Attendance, AttendanceStatus, TherapySession
from sessions.selectors.pages import DAY_SESSION_FIELDS, day_sessions
from tests import factories

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 1, 5)


def _count(rows):
    return Coalesce(Subquery(rows.filter(session_id=OuterRef("pk")).order_by()
                             .values("session_id").annotate(n=Count("*")).values("n")), 0)


def orm_day_sessions(*, site_ids, day):
    return list(TherapySession.objects.filter(site_id__in=site_ids, local_date=day).annotate(
        expected_count=_count(Attendance.objects.exclude(status=AttendanceStatus.CANCELLED)),
        marked_count=_count(Attendance.objects.filter(status__in=AttendanceStatus.marked())),
    ).order_by("starts_at", "pk").values(*DAY_SESSION_FIELDS))


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 1, 5, hour, minute, tzinfo=dt.UTC)


# Without counts, the attendance rows are counted; with the tally handed in (as Today does),
# its kept row is read: both must give the ORM's counts.
COUNTS = pytest.mark.parametrize("counts", [None, SESSION_COUNTS], ids=["rows", "tally"])


@COUNTS
def test_it_reads_the_days_sessions_as_the_orm_did(site, other_site, clinician, counts):
    track = factories.TrackFactory(site=site)
    room = factories.RoomFactory(site=site, name="Room <A>")
    individual = factories.SessionTypeFactory(kind="individual", name="Counselling")
    person = factories.ParticipantFactory(home_site=site, first_name="Zoë", last_name="O'Brien")
    sessions = [
        factories.TherapySessionFactory(track=track, starts_at=at(15), room=room,
                                        facilitator=clinician),
        factories.TherapySessionFactory(track=track, starts_at=at(15), title=""),  # same time
        factories.TherapySessionFactory(track=None, site=site, participant=person,
                                        session_type=individual,
                                        kind="individual", starts_at=at(14, 30)),
        factories.TherapySessionFactory(track=track, starts_at=at(18), status="cancelled",
                                        cancel_reason="Snow"),
        factories.TherapySessionFactory(track=factories.TrackFactory(site=other_site),
                                        starts_at=at(16)),
    ]
    factories.TherapySessionFactory(track=track, starts_at=at(15) + dt.timedelta(days=1))
    statuses = [status for status, _label in AttendanceStatus.choices]
    for number, session in enumerate(sessions):
        for status in statuses[:number + 3]:
            factories.AttendanceFactory(session=session, status=status)

    for site_ids in ([site.pk], [site.pk, other_site.pk], [other_site.pk]):
        rows = day_sessions(site_ids=site_ids, day=DAY, counts=counts)
        assert rows == orm_day_sessions(site_ids=site_ids, day=DAY)
    assert [row["pk"] for row in day_sessions(site_ids=[site.pk], day=DAY, counts=counts)] == [
        sessions[2].pk, sessions[0].pk, sessions[1].pk, sessions[3].pk]
    first = day_sessions(site_ids=[site.pk], day=DAY, counts=counts)[1]
    assert (first["expected_count"], first["marked_count"]) == (3, 2)
    assert first["starts_at"] == at(15)  # aware, as the ORM gives it
    assert day_sessions(site_ids=[], day=DAY, counts=counts) == []


@COUNTS
def test_its_counts_follow_marks_removals_and_sessions_nobody_is_booked_into(site, counts):
    """The counts come from the tally the database keeps: marking in bulk, removing rows and a
    session without any row read as the attendance rows themselves do."""
    track = factories.TrackFactory(site=site)
    group = factories.TherapySessionFactory(track=track, starts_at=at(15))
    for status in ("expected", "expected", "present", "absent", "cancelled"):
        factories.AttendanceFactory(session=group, status=status)
    factories.TherapySessionFactory(track=track, starts_at=at(16))  # nobody booked

    Attendance.objects.filter(session=group, status="expected").update(status="late")
    Attendance.objects.filter(session=group, status="absent").delete()
    Attendance.objects.filter(session=group, status="cancelled").update(status="expected")

    rows = day_sessions(site_ids=[site.pk], day=DAY, counts=counts)
    assert rows == orm_day_sessions(site_ids=[site.pk], day=DAY)
    assert [(row["expected_count"], row["marked_count"]) for row in rows] == [(4, 3), (0, 0)]
