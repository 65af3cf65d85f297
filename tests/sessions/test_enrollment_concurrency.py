"""Two front-desk clerks enroll two people into the last seat at the same moment."""
import datetime as dt
import threading
import time

import pytest
import time_machine
from django.db import connection, connections, transaction

from participants.models import EnrollmentStatus
from sessions.services.enrollment import enrollment_enroll
from tests.factories import ParticipantFactory, TrackFactory

TIMEOUT = 10  # seconds; only a ceiling for a hung test, never a wait on its own


def _wait_for(condition, message):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.02)


def _backends_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_never_overfills_a_track_when_two_enroll_at_once():
    track = TrackFactory(mode="rolling", end_date=None, capacity=1)
    first_person, second_person = ParticipantFactory.create_batch(2)
    admission = dt.date(2026, 3, 2)
    results: dict[str, object] = {}
    first_inside = threading.Event()
    let_first_commit = threading.Event()

    def first_clerk():
        try:
            with transaction.atomic():
                results["first"] = enrollment_enroll(
                    participant=first_person, track=track, admission_date=admission)
                first_inside.set()
                let_first_commit.wait(TIMEOUT)
        except Exception as exc:  # surfaced by the assertions below
            results["first"] = exc
            first_inside.set()
        finally:
            connections.close_all()

    def second_clerk():
        try:
            first_inside.wait(TIMEOUT)
            results["second"] = enrollment_enroll(
                participant=second_person, track=track, admission_date=admission)
        except Exception as exc:
            results["second"] = exc
        finally:
            connections.close_all()

    with time_machine.travel(dt.datetime(2026, 3, 1, 15, 0, tzinfo=dt.UTC), tick=False):
        threads = [threading.Thread(target=first_clerk), threading.Thread(target=second_clerk)]
        for thread in threads:
            thread.start()
        # The second clerk must be blocked on the track row the first one holds.
        _wait_for(lambda: _backends_waiting_on_a_lock() >= 1,
                  "the second enrollment did not wait for the track lock")
        let_first_commit.set()
        for thread in threads:
            thread.join(TIMEOUT)

    first, second = results["first"], results["second"]
    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    assert first.status == EnrollmentStatus.ACTIVE
    assert second.status == EnrollmentStatus.WAITLISTED
    assert track.enrollments.filter(status=EnrollmentStatus.ACTIVE).count() == 1
