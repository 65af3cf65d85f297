"""Fixtures for the staff pages: a clinic evening in New York, frozen at 8 pm, Monday 5 January."""
import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.test import Client

from tests import factories
from tests.auth import sign_in

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
MONDAY = dt.date(2026, 1, 5)


@pytest.fixture
def frozen_now():
    with time_machine.travel(dt.datetime(2026, 1, 5, 20, 0, tzinfo=NEW_YORK), tick=False):
        yield


def login(user) -> Client:
    return sign_in(Client(), user)


@pytest.fixture
def as_director(director):
    return login(director)


@pytest.fixture
def as_clinician(clinician):
    return login(clinician)


@pytest.fixture
def as_front_desk(front_desk):
    return login(front_desk)


@pytest.fixture
def as_outsider(outsider_clinician):
    return login(outsider_clinician)


@pytest.fixture
def track(site, clinician):
    room = factories.RoomFactory(site=site, name="Room A")
    track = factories.TrackFactory(site=site, lead_clinician=clinician)
    track.room_for_tests = room
    return track


def make_group_session(track, *, size: int, day: dt.date = MONDAY, hour: int = 18,
                       facilitator=None, **kwargs):
    """A 3-hour group session at `track` with `size` enrolled participants expected."""
    starts = dt.datetime.combine(day, dt.time(hour, 0), tzinfo=track.site.zone)
    session = factories.TherapySessionFactory(
        track=track, site=track.site, starts_at=starts.astimezone(dt.UTC),
        room=getattr(track, "room_for_tests", None), facilitator=facilitator, **kwargs,
    )
    attendances = []
    for _ in range(size):
        enrollment = factories.EnrollmentFactory(
            track=track, participant=factories.ParticipantFactory(home_site=track.site))
        attendances.append(factories.AttendanceFactory(
            session=session, participant=enrollment.participant, enrollment=enrollment))
    return session, attendances


@pytest.fixture
def group_session(track, clinician):
    return make_group_session(track, size=3, facilitator=clinician)


@pytest.fixture
def tablet(chromium):
    """A 768-px-wide tablet page that collects JavaScript errors in `page.js_errors`."""
    context = chromium.new_context(viewport={"width": 768, "height": 1024})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.js_errors = errors
    yield page
    context.close()
