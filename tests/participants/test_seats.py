"""The track page counts seats in Python from the people it lists (`seats_among`); enrolling
within capacity counts them in SQL (`seat_rows`, `track_seats`). Both must give the same seats,
or the page would show a track as full when enrolling finds room, or the other way round."""
import pytest
from django.utils import timezone

from participants.models import DischargeReason, Enrollment, EnrollmentStatus
from participants.selectors import seats_among, track_seats
from tests.factories import EnrollmentFactory, TrackFactory

pytestmark = pytest.mark.django_db

REASON = DischargeReason.values[0]


def test_the_track_pages_seats_are_the_ones_enrolling_counts():
    track = TrackFactory(capacity=12)
    other = TrackFactory(site=track.site)
    now = timezone.now()
    # What each status must carry (the model's check constraints).
    carries = {EnrollmentStatus.WAITLISTED: {"waitlisted_at": now},
               EnrollmentStatus.ON_HOLD: {"held_at": now},
               EnrollmentStatus.COMPLETED: {"discharge_date": track.start_date, "discharge_reason": REASON},
               EnrollmentStatus.DISCHARGED: {"discharge_date": track.start_date, "discharge_reason": REASON}}
    for status in EnrollmentStatus.values:
        EnrollmentFactory(track=track, status=status, **carries.get(status, {}))
    # Two more waiting, one offered a seat (it holds one) and one not (it does not).
    EnrollmentFactory(track=track, status=EnrollmentStatus.WAITLISTED, waitlisted_at=now,
                      seat_offered_at=now)
    EnrollmentFactory(track=track, status=EnrollmentStatus.WAITLISTED, waitlisted_at=now)
    EnrollmentFactory(track=other, status=EnrollmentStatus.ACTIVE)

    counted_in_python = seats_among(track=track,
                                    enrollments=Enrollment.objects.filter(track__site=track.site))
    counted_in_sql = track_seats(tracks=[track])[track.pk]
    assert counted_in_python == counted_in_sql
    assert (counted_in_python.active, counted_in_python.on_hold,
            counted_in_python.offered) == (1, 1, 1)
