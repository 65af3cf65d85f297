"""The portal home's visits ahead and latest past ones, read in one SQL statement
(portal/selectors.py, home_visits_for), are what the two querysets it replaced gave: the same
visits in the same order, with the same excuse requests, notices and whether an excuse may be
asked for."""
import datetime as dt

import pytest
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce

from portal import selectors
from sessions.selectors import ledger
from sessions.models import Attendance, ExcusedAbsenceRequest, SessionStatus
from tests import factories

from .conftest import NOW, attendance_at

pytestmark = pytest.mark.django_db


def _as_the_querysets_read_them(state, now, limit):
    """The querysets and loop home_visits_for replaced, as they were."""
    newest_excuse = (ExcusedAbsenceRequest.objects.filter(attendance=OuterRef("pk"))
                     .order_by("-requested_at", "-pk"))
    rows = (Attendance.objects.annotate(notice_hours=Coalesce(
        "enrollment__track__program__excused_notice_hours",
        "session__track__program__excused_notice_hours"))
        .annotate(excuse_status=Subquery(newest_excuse.values("status")[:1]),
                  excuse_note=Subquery(newest_excuse.values("decision_note")[:1]))
        .order_by("session__starts_at", "session__pk")
        .values_list("session_id", "session__starts_at", "session__ends_at",
                     "session__kind", "session__room_id", "session__room__name",
                     "session__site__public_alias", "session__site__address",
                     "session__status", "status", "session__care_plan_id", "notice_hours",
                     "excuse_status", "excuse_note")
        .filter(participant=state.participant, session__ends_at__gte=now))
    zone = state.participant.zone
    default_notice = selectors._default_notice_hours(state)
    ahead = []
    for (session_id, starts_at, ends_at, kind, room_id, room_name, alias, address,
         session_status, status, care_plan_id, notice_hours, excuse_status, excuse_note) in rows:
        if not selectors._shown(state=state, ends_at=ends_at, care_plan_id=care_plan_id,
                                now=now):
            continue
        ahead.append(selectors.UpcomingVisit(
            session_id=session_id, starts=starts_at.astimezone(zone),
            ends=ends_at.astimezone(zone), kind=kind,
            room_name=None if room_id is None else room_name,
            site_alias=alias, site_address=address, session_status=session_status,
            status=status, excuse_status=excuse_status, excuse_note=excuse_note or "",
            can_excuse=selectors._can_excuse(
                session_status=session_status, status=status, excuse_status=excuse_status,
                starts_at=starts_at,
                notice_hours=default_notice if notice_hours is None else notice_hours,
                now=now)))
    past = (Attendance.objects.order_by("-session__starts_at", "-session__pk")
            .values_list("session__starts_at", "session__status", "status")
            .filter(participant=state.participant, session__ends_at__lt=now)[:limit])
    return ahead, [selectors.PastVisit(starts_at.astimezone(zone),
                                       selectors._is_cancelled(session_status, status), status)
                   for starts_at, session_status, status in past]


def _excuse(attendance, *, hours_before, status="pending", note=""):
    asked = NOW - dt.timedelta(hours=hours_before)
    return ExcusedAbsenceRequest.objects.create(
        attendance=attendance, reason="Work <shift>", status=status, decision_note=note,
        requested_at=asked, decided_at=None if status == "pending" else asked)


@pytest.fixture
def varied(alice, bob, site, schedule, track):
    """Alice's schedule with every difference the page tells apart: excuse requests answered
    and not (the newest one counts), a session without a room, one cancelled, one of another
    program with a shorter notice and no enrollment of hers, two at the same hour, and one of
    that program booked under her enrollment."""
    mar_12, mar_16, mar_18 = dt.date(2026, 3, 12), dt.date(2026, 3, 16), dt.date(2026, 3, 18)
    _excuse(attendance_at(alice, mar_12), hours_before=30, status="declined", note="Sorry & <no>")
    _excuse(attendance_at(alice, mar_12), hours_before=2)  # newer: pending
    _excuse(attendance_at(alice, mar_16), hours_before=5, status="declined", note="Not this time")
    _excuse(attendance_at(alice, mar_18), hours_before=1, status="approved")
    _excuse(attendance_at(bob, mar_16), hours_before=1)  # Bob's, not hers
    later = [s for s in schedule if s.local_date >= mar_16]
    later[1].room = None
    later[1].save()
    later[2].status = SessionStatus.CANCELLED
    later[2].save()
    other_track = factories.TrackFactory(
        site=site, program=factories.ProgramFactory(excused_notice_hours=2))
    for starts in (NOW + dt.timedelta(hours=6), NOW + dt.timedelta(hours=6),
                   NOW - dt.timedelta(days=20)):
        session = factories.TherapySessionFactory(
            track=other_track, site=site, starts_at=starts.astimezone(dt.UTC),
            ends_at=(starts + dt.timedelta(hours=1)).astimezone(dt.UTC))
        factories.AttendanceFactory(session=session, participant=alice, enrollment=None)
    # One of the other program's, but booked under her enrollment: her program's 48 hours'
    # notice, not its 2, so no excuse 30 hours ahead.
    starts = NOW + dt.timedelta(hours=30)
    session = factories.TherapySessionFactory(
        track=other_track, site=site, starts_at=starts.astimezone(dt.UTC),
        ends_at=(starts + dt.timedelta(hours=1)).astimezone(dt.UTC))
    factories.AttendanceFactory(session=session, participant=alice,
                                enrollment=alice.enrollments.get())
    return alice


@pytest.mark.parametrize("limit", [4, 10, 30])
@pytest.mark.parametrize("hours_later", [0, 30, 24 * 9])
def test_it_reads_what_the_querysets_read(varied, now, limit, hours_later):
    moment = NOW + dt.timedelta(hours=hours_later)
    state = selectors.portal_state(participant=varied)

    ahead, past, _ledger_rows = selectors.home_visits_for(state=state, now=moment, limit=limit)

    assert (ahead, past) == _as_the_querysets_read_them(state, moment, limit)
    assert past or hours_later == 0
    if hours_later == 0:
        assert ahead and {v.excuse_status for v in ahead} >= {"pending", "declined", "approved"}
        assert any(v.room_name is None for v in ahead)
        assert any(v.is_cancelled for v in ahead)
        assert any(v.can_excuse for v in ahead) and not all(v.can_excuse for v in ahead)
        booked_under_hers = next(v for v in ahead if v.starts == NOW + dt.timedelta(hours=30))
        assert not booked_under_hers.can_excuse
        assert len(past) == min(limit, 5)  # Mar 2, 4, 5 and 9, and the other program's


def test_someone_without_visits_has_none(site, track, now):
    person = factories.ParticipantFactory(home_site=site)
    factories.EnrollmentFactory(participant=person, track=track)
    state = selectors.portal_state(participant=person)
    assert selectors.home_visits_for(state=state, now=NOW) == ([], [], [])


def test_it_reads_the_notice_of_the_enrollment_a_visit_was_booked_under(alice, site, now):
    """A visit kept from an earlier enrollment in a program with 2 hours' notice: that
    program's notice, not her current one's 48 hours (the portal's own enrollment's notice
    comes with the statement, any other's is read)."""
    earlier = factories.EnrollmentFactory(
        participant=alice, status="discharged", admission_date=dt.date(2025, 9, 1),
        planned_end_date=dt.date(2025, 11, 30), discharge_date=dt.date(2025, 11, 30),
        discharge_reason="completed",
        track=factories.TrackFactory(site=site, program=factories.ProgramFactory(
            excused_notice_hours=2)))
    starts = NOW + dt.timedelta(hours=6)
    session = factories.TherapySessionFactory(
        track=earlier.track, site=site, starts_at=starts.astimezone(dt.UTC),
        ends_at=(starts + dt.timedelta(hours=1)).astimezone(dt.UTC))
    factories.AttendanceFactory(session=session, participant=alice, enrollment=earlier)
    state = selectors.portal_state(participant=alice)
    assert state.enrollment != earlier

    ahead, past, _ledger_rows = selectors.home_visits_for(state=state, now=NOW)

    assert (ahead, past) == _as_the_querysets_read_them(state, NOW, selectors.HISTORY_LIMIT)
    assert [v.can_excuse for v in ahead if v.session_id == session.pk] == [True]
    assert not any(v.can_excuse for v in ahead if v.starts < NOW + dt.timedelta(hours=48)
                   and v.session_id != session.pk)


@pytest.mark.parametrize("hours_later", [0, 30, 24 * 9])
def test_it_reads_the_hours_ledgers_rows_with_the_visits(varied, now, hours_later):
    """The ledger's rows come with the visits: those the ledger's own query reads for the
    portal's enrollment (cancelled ones and the other program's sessions outside its window
    left out as there), and the progress they give is the one the ledger's query gives."""
    moment = NOW + dt.timedelta(hours=hours_later)
    state = selectors.portal_state(participant=varied)
    factories.AttendanceFactory(  # a session before her enrollment: outside the window
        session=factories.TherapySessionFactory(
            track=state.enrollment.track, site=state.enrollment.track.site,
            starts_at=dt.datetime(2026, 2, 20, 23, tzinfo=dt.UTC),
            ends_at=dt.datetime(2026, 2, 21, 1, tzinfo=dt.UTC)),
        participant=varied, enrollment=None)
    start, end = ledger.ledger_window(state.enrollment)

    visits = selectors.home_visits_for(state=state, now=moment)

    assert sorted(visits.ledger_rows, key=repr) == sorted(
        (tuple(row) for row in ledger._ledger_queryset(
            participant_id=varied.pk, start=start, end=end)), key=repr)
    assert len(visits.ledger_rows) < Attendance.objects.filter(participant=varied).count()
    assert selectors.progress_for(state=state, now=moment, ledger_rows=visits.ledger_rows) \
        == selectors.progress_for(state=state, now=moment)


def test_someone_without_an_enrollment_has_no_ledger_rows(alice, now):
    state = selectors.portal_state(participant=alice)
    state.enrollment = None  # as for someone referred only

    visits = selectors.home_visits_for(state=state, now=NOW)

    assert visits.ahead and visits.ledger_rows == []
