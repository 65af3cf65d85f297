"""Portal personas: Alice and Bob in the same evening track, and the clinic around them.

"Now" is Wednesday 2026-03-11, noon in New York, in the second week of a cohort that started
Monday 2026-03-02 and meets Mon/Wed/Thu 6–9 pm.
"""
import datetime as dt
import zoneinfo

import pytest
import time_machine

from accounts.roles import Role
from sessions.models import Attendance, TherapySession
from sessions.services.expected import attendance_expect
from tests import factories

NY = zoneinfo.ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 11, 12, 0, tzinfo=NY)
TRACK_START = dt.date(2026, 3, 2)
PROGRAM_NAME = "Adult Substance Use IOP"
SLOT_TITLE = "Relapse prevention"


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def program(db):
    return factories.ProgramFactory(name=PROGRAM_NAME, excused_notice_hours=48)


@pytest.fixture
def room(site):
    return factories.RoomFactory(site=site, name="Room 2B")


@pytest.fixture
def track(site, program, clinician):
    return factories.TrackFactory(site=site, program=program, start_date=TRACK_START,
                                  lead_clinician=clinician)


def make_sessions(track, room, *, weeks: int, weekdays=(0, 2, 3)) -> list[TherapySession]:
    """Group sessions at 6–9 pm local on the given weekdays for `weeks` weeks."""
    session_type = factories.SessionTypeFactory()
    sessions = []
    for week in range(weeks):
        for weekday in weekdays:
            day = track.start_date + dt.timedelta(weeks=week, days=weekday)
            starts = dt.datetime.combine(day, dt.time(18, 0), tzinfo=track.site.zone)
            sessions.append(factories.TherapySessionFactory(
                track=track, site=track.site, session_type=session_type, title=SLOT_TITLE,
                room=room, starts_at=starts.astimezone(dt.UTC),
                ends_at=(starts + dt.timedelta(hours=3)).astimezone(dt.UTC),
            ))
    return sessions


def portal_participant(site, track, *, first_name: str, last_name: str):
    user = factories.UserFactory(username=f"p-{first_name.lower()}")
    participant = factories.ParticipantFactory(home_site=site, first_name=first_name,
                                               last_name=last_name, user=user)
    enrollment = factories.EnrollmentFactory(participant=participant, track=track)
    attendance_expect(enrollments=[enrollment])
    return participant


@pytest.fixture
def schedule(track, room):
    return make_sessions(track, room, weeks=3)


@pytest.fixture
def alice(site, track, schedule):
    return portal_participant(site, track, first_name="Alice", last_name="Zyzzyva")


@pytest.fixture
def bob(site, track, schedule):
    return portal_participant(site, track, first_name="Bob", last_name="Quagmire")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client


def attendance_at(participant, day: dt.date) -> Attendance:
    return Attendance.objects.get(participant=participant, session__local_date=day)


@pytest.fixture
def clinician_with_credentials(site):
    return factories.StaffFactory(role=Role.CLINICIAN, sites=[site], credentials="LADC")
