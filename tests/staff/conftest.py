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


def make_someone_at_risk(track, *, by, facilitator=None):
    """Monday 9:00's group of two with two evening sessions ahead (Wednesday, Thursday): the
    first marked absent (no longer able to reach the week's minimum), the second present."""
    monday, rows = make_group_session(track, size=2, hour=9, facilitator=facilitator)
    for day in (7, 8):
        later = factories.TherapySessionFactory(
            track=track, site=track.site, session_type=monday.session_type,
            starts_at=dt.datetime.combine(MONDAY + dt.timedelta(days=day - 5), dt.time(18),
                                          tzinfo=track.site.zone).astimezone(dt.UTC))
        for row in rows:
            factories.AttendanceFactory(session=later, participant=row.participant,
                                        enrollment=row.enrollment)
    from sessions.services.attendance import attendance_mark

    attendance_mark(attendance=rows[0], status="absent", by=by)
    attendance_mark(attendance=rows[1], status="present", by=by)
    return rows


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
