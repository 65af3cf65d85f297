"""Nobody and no room is in two scheduled sessions at once."""
import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, connections, transaction

from accounts.roles import Role
from programs.models import Room
from sessions.models import Attendance, TherapySession
from sessions.services.conflicts import session_conflicts
from sessions.services.schedule import personal_session_schedule
from tests import factories

UTC = dt.UTC
# Monday 12 January 2026, 18:00–21:00 in New York.
MONDAY_6PM = dt.datetime(2026, 1, 12, 23, 0, tzinfo=UTC)
MONDAY_9PM = dt.datetime(2026, 1, 13, 2, 0, tzinfo=UTC)


@pytest.fixture
def dana(site):
    return factories.StaffFactory(role=Role.CLINICIAN, sites=[site], first_name="Dana",
                                  last_name="Reyes")


@pytest.fixture
def room_2(site):
    return factories.RoomFactory(site=site, name="Room 2")


@pytest.fixture
def relapse_prevention(site, dana, room_2):
    """Monday's relapse-prevention workshop, facilitated by Dana in Room 2."""
    return factories.TherapySessionFactory(
        track=factories.TrackFactory(site=site), title="Relapse prevention", facilitator=dana,
        room=room_2, starts_at=MONDAY_6PM,
        session_type=factories.SessionTypeFactory(kind="workshop"))


@pytest.fixture
def enrolled(site):
    enrollment = factories.EnrollmentFactory(
        track=factories.TrackFactory(site=site), participant__home_site=site,
        participant__first_name="Avery", participant__last_name="Quinn")
    return enrollment.participant


def test_it_names_the_facilitators_clash(relapse_prevention, dana):
    clashes = session_conflicts(starts_at=MONDAY_6PM + dt.timedelta(hours=1),
                                ends_at=MONDAY_9PM + dt.timedelta(hours=1), facilitator=dana)

    assert [(c.kind, c.message, c.session_id) for c in clashes] == [(
        "facilitator", "Dana Reyes is facilitating Relapse prevention on Mon 12 Jan 18:00–21:00",
        relapse_prevention.pk)]


def test_it_names_the_rooms_clash(relapse_prevention, room_2):
    clashes = session_conflicts(starts_at=MONDAY_6PM - dt.timedelta(minutes=30),
                                ends_at=MONDAY_6PM + dt.timedelta(minutes=30), room=room_2)

    assert [c.message for c in clashes] == [
        "Room 2 is booked for Relapse prevention on Mon 12 Jan 18:00–21:00"]


def test_it_names_the_participants_clash_when_they_are_expected_or_marked(
        relapse_prevention, enrolled):
    attendance = factories.AttendanceFactory(session=relapse_prevention, participant=enrolled)

    for status in ("expected", "present"):
        Attendance.objects.filter(pk=attendance.pk).update(status=status)
        clashes = session_conflicts(starts_at=MONDAY_6PM, ends_at=MONDAY_9PM,
                                    participant_ids=[enrolled.pk])
        assert [c.message for c in clashes] == [
            "Avery Quinn is scheduled for Relapse prevention on Mon 12 Jan 18:00–21:00"]


def test_it_finds_no_clash_back_to_back_or_elsewhere(relapse_prevention, dana, room_2, enrolled,
                                                     site):
    factories.AttendanceFactory(session=relapse_prevention, participant=enrolled)
    other_room = factories.RoomFactory(site=site)

    assert session_conflicts(starts_at=MONDAY_9PM, ends_at=MONDAY_9PM + dt.timedelta(hours=1),
                             facilitator=dana, room=room_2, participant_ids=[enrolled.pk]) == []
    assert session_conflicts(starts_at=MONDAY_6PM, ends_at=MONDAY_9PM, room=other_room) == []
    assert session_conflicts(starts_at=MONDAY_6PM, ends_at=MONDAY_9PM, room=room_2,
                             exclude_ids=[relapse_prevention.pk]) == []


def test_it_ignores_cancelled_sessions_and_cancelled_attendance(relapse_prevention, room_2,
                                                                enrolled, site):
    other = factories.TherapySessionFactory(track=relapse_prevention.track, starts_at=MONDAY_6PM)
    factories.AttendanceFactory(session=other, participant=enrolled, status="cancelled")
    TherapySession.objects.filter(pk=relapse_prevention.pk).update(
        status="cancelled", cancel_reason="Snow")

    assert session_conflicts(starts_at=MONDAY_6PM, ends_at=MONDAY_9PM, room=room_2,
                             participant_ids=[enrolled.pk]) == []


def test_it_refuses_a_personal_session_that_double_books_and_writes_nothing(
        relapse_prevention, enrolled, dana, room_2):
    individual = factories.SessionTypeFactory(kind="individual", name="Individual therapy",
                                              default_duration_minutes=50)
    factories.AttendanceFactory(session=relapse_prevention, participant=enrolled)

    with pytest.raises(ValidationError) as refused:
        personal_session_schedule(participant=enrolled, session_type=individual,
                                  starts_at_local=dt.datetime(2026, 1, 12, 20, 30),
                                  facilitator=dana, room=room_2)

    assert refused.value.code == "schedule_conflict"
    message = refused.value.messages[0]
    assert "Individual therapy on Mon 12 Jan 20:30–21:20" in message
    for clash in ("Dana Reyes is facilitating Relapse prevention on Mon 12 Jan 18:00–21:00",
                  "Room 2 is booked for Relapse prevention on Mon 12 Jan 18:00–21:00",
                  "Avery Quinn is scheduled for Relapse prevention on Mon 12 Jan 18:00–21:00"):
        assert clash in message
    assert TherapySession.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_makes_a_second_booking_of_a_room_wait_and_then_refuses_it(site, room_2):
    """Two front-desk staff book Room 2 for the same hour at the same moment: one wins."""
    individual = factories.SessionTypeFactory(kind="individual", default_duration_minutes=60)
    first, second = (factories.EnrollmentFactory(participant__home_site=site,
                                                 track=factories.TrackFactory(site=site))
                     for _ in range(2))
    booked = threading.Event()
    release = threading.Event()
    outcome: dict[str, object] = {}

    def book(enrollment, key, hold=False):
        try:
            with transaction.atomic():
                outcome[key] = personal_session_schedule(
                    participant=enrollment.participant, session_type=individual,
                    starts_at_local=dt.datetime(2026, 1, 13, 10, 0), room=Room.objects.get(
                        pk=room_2.pk))
                if hold:
                    booked.set()
                    assert release.wait(timeout=30)
        except ValidationError as exc:
            outcome[key] = exc
        finally:
            connections.close_all()

    holder = threading.Thread(target=book, args=(first, "first", True))
    holder.start()
    assert booked.wait(timeout=30)
    late = threading.Thread(target=book, args=(second, "second"))
    late.start()
    # The second booking must be waiting on a row lock held by the first, not racing past it.
    _wait_until(lambda: _lock_waiters() >= 1)
    release.set()
    holder.join(timeout=30)
    late.join(timeout=30)
    close_old_connections()

    assert len(outcome["first"]) == 1
    assert isinstance(outcome["second"], ValidationError)
    assert outcome["second"].code == "schedule_conflict"
    assert TherapySession.objects.filter(room=room_2).count() == 1


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND datname = current_database()")
        return cursor.fetchone()[0]


def _wait_until(condition, timeout: float = 20.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        done.wait(0.05)
    raise AssertionError("condition not met in time")


def test_it_refuses_naive_or_backwards_times(db):
    with pytest.raises(ValidationError) as naive:
        session_conflicts(starts_at=dt.datetime(2026, 1, 12, 18), ends_at=MONDAY_9PM)
    with pytest.raises(ValidationError) as backwards:
        session_conflicts(starts_at=MONDAY_9PM, ends_at=MONDAY_6PM)
    assert (naive.value.code, backwards.value.code) == ("naive_datetime", "ends_before_start")
