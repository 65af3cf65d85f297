"""Reminder fixtures: a site, a participant who wants reminders, and visits to remind them of."""
import datetime as dt

import pytest
from celery import current_app

from reminders.channels import sms
from sessions.models import Attendance, TherapySession

from .. import factories

UTC = dt.UTC


@pytest.fixture(autouse=True)
def _sms_in_memory(settings):
    settings.SMS_BACKEND = "reminders.channels.sms.InMemoryBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def eager_celery():
    """Tasks run in the calling process, so an in-process test sees the whole chain."""
    conf = current_app.conf
    before = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = before


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
