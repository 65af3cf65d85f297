"""Reminder fixtures: a site, a participant who wants reminders, and visits to remind them of."""
import datetime as dt
import os
import shutil

import pytest
from django.db import connection as django_connection

from reminders.channels import sms
from sessions.models import Attendance, TherapySession

from .. import factories
from .processes import PrivateRedis, running, service_env

UTC = dt.UTC


@pytest.fixture(autouse=True)
def _sms_in_memory(settings):
    settings.SMS_BACKEND = "reminders.channels.sms.InMemoryBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def make_participant(site, *, channels="both", consent=True, **kwargs):
    participant = factories.ParticipantFactory(home_site=site, reminder_channels=channels, **kwargs)
    if consent:
        factories.ContactConsentFactory(participant=participant, channel="sms")
    return participant


def make_enrolled(site, *, track=None, **kwargs):
    participant = make_participant(site, **kwargs)
    track = track or factories.TrackFactory(site=site)
    enrollment = factories.EnrollmentFactory(participant=participant, track=track)
    return participant, enrollment


def make_visit(participant, starts_at, *, track=None, site=None, enrollment=None, **kwargs):
    """A scheduled group session at `starts_at` where the participant is expected."""
    track = track or (enrollment.track if enrollment else None) or participant.enrollments.first().track
    session = factories.TherapySessionFactory(
        track=track, site=site or track.site, starts_at=starts_at,
        session_type=kwargs.pop("session_type", None) or factories.SessionTypeFactory(), **kwargs)
    Attendance.objects.create(session=session, participant=participant, status="expected",
                              enrollment=enrollment)
    return session


def local(zone_name: str, *args) -> dt.datetime:
    import zoneinfo

    return dt.datetime(*args, tzinfo=zoneinfo.ZoneInfo(zone_name))


def cancel(session: TherapySession, reason: str = "Closed") -> None:
    TherapySession.objects.filter(pk=session.pk).update(status="cancelled", cancel_reason=reason)


# --- Real processes (the e2e tests) ---------------------------------------------------------
@pytest.fixture
def redis_server(tmp_path):
    if not shutil.which("redis-server"):
        reason = "these tests start their own redis-server; install redis-server"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def stack(tmp_path, redis_server):
    """(processes, sms folder): everything started through `processes` is killed afterwards."""
    sms_dir = tmp_path / "sms"
    logs = tmp_path / "logs"
    logs.mkdir()
    env = service_env(database_name=django_connection.settings_dict["NAME"], redis_url=redis_server.url,
                      sms_dir=sms_dir)
    with running(env, logs) as processes:
        yield processes, sms_dir
