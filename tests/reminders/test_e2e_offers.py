"""A seat offer left unanswered passes to the next person, who is told: beat and a real worker,
no help."""
import datetime as dt
import json

import pytest
from django.utils import timezone

from participants.models import Enrollment
from reminders.models import Reminder
from tests import factories

from .processes import daytime_zone, sms_files, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]


def test_it_passes_an_expired_offer_to_the_next_person_and_tells_them(stack):
    processes, sms_dir = stack
    now = timezone.now()
    zone = daytime_zone()  # so quiet hours never hold the new offer's text
    site = factories.SiteFactory(time_zone=zone)
    track = factories.TrackFactory(site=site, mode="rolling", capacity=1,
                                   start_date=now.date() - dt.timedelta(days=30))
    people = [factories.ParticipantFactory(home_site=site, time_zone=zone, first_name="Robin",
                                           reminder_channels="sms") for _ in range(2)]
    for person in people:
        factories.ContactConsentFactory(participant=person, channel="sms")
    first, second = (factories.EnrollmentFactory(
        participant=person, track=track, status="waitlisted",
        waitlisted_at=now - dt.timedelta(days=10 - i)) for i, person in enumerate(people))
    Enrollment.objects.filter(pk=first.pk).update(seat_offered_at=now - dt.timedelta(hours=49))
    processes.worker("worker")
    processes.beat("beat", SEAT_OFFER_SWEEP_INTERVAL_SECONDS="1",
                   REMINDER_SWEEP_INTERVAL_SECONDS="1")
    wait_for(lambda: Reminder.objects.filter(enrollment=second, kind="offer", status="sent")
             .exists(), timeout=40, what="the next person to be told of the offer",
             interval=0.3)
    processes.kill_all()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.seat_offered_at is None and first.status == "waitlisted"
    assert second.seat_offered_at is not None
    assert Enrollment.objects.filter(track=track, seat_offered_at__isnull=False).count() == 1
    assert b"iop_sessions.expire_seat_offers" in processes.log("beat")
    messages = [json.loads(path.read_text()) for path in sms_files(sms_dir)]
    assert [m["to"] for m in messages] == [people[1].phone]  # the one who expired hears nothing
    assert "a place is open for you. answer by" in messages[0]["body"].lower()
    assert "/portal/o/" in messages[0]["body"]  # no login: the one-time answer link
    assert "Robin" not in processes.logs()
