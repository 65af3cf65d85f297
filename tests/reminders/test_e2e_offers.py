"""A seat offer left unanswered passes to the next person: beat and a real worker, no help."""
import datetime as dt

import pytest
from django.utils import timezone

from participants.models import Enrollment
from tests import factories

from .processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]


def test_it_passes_an_expired_offer_to_the_next_person(stack):
    processes, _ = stack
    now = timezone.now()
    track = factories.TrackFactory(mode="rolling", capacity=1,
                                   start_date=now.date() - dt.timedelta(days=30))
    first, second = (factories.EnrollmentFactory(
        track=track, status="waitlisted", waitlisted_at=now - dt.timedelta(days=10 - i))
        for i in range(2))
    Enrollment.objects.filter(pk=first.pk).update(seat_offered_at=now - dt.timedelta(hours=49))
    processes.worker("worker")
    processes.beat("beat", SEAT_OFFER_SWEEP_INTERVAL_SECONDS="1")
    wait_for(lambda: Enrollment.objects.filter(pk=second.pk, seat_offered_at__isnull=False)
             .exists(), timeout=40, what="the offer to pass to the next person", interval=0.3)
    processes.kill_all()
    first.refresh_from_db()
    assert first.seat_offered_at is None and first.status == "waitlisted"
    assert Enrollment.objects.filter(track=track, seat_offered_at__isnull=False).count() == 1
    assert b"iop_sessions.expire_seat_offers" in processes.log("beat")
