import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from participants.models import Enrollment, EnrollmentStatus
from sessions.models import Attendance
from sessions.services.enrollment import enrollment_enroll, enrollment_refer
from tests.factories import ParticipantFactory, TherapySessionFactory, TrackFactory

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 1, 5)


@pytest.fixture(autouse=True)
def before_start():
    with time_machine.travel(dt.datetime(2026, 1, 2, 15, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def track(site):
    return TrackFactory(site=site, capacity=1, program__duration_weeks=2)


def test_it_records_a_referral_without_taking_a_seat(track):
    TherapySessionFactory(track=track)
    referred = enrollment_refer(participant=ParticipantFactory(home_site=track.site), track=track,
                                admission_date=MONDAY)

    newcomer = enrollment_enroll(participant=ParticipantFactory(home_site=track.site), track=track,
                                 admission_date=MONDAY)

    assert referred.status == EnrollmentStatus.REFERRED
    assert not Attendance.objects.filter(participant=referred.participant).exists()
    assert newcomer.status == EnrollmentStatus.ACTIVE  # the referral held no seat


def test_it_turns_the_referral_into_the_enrollment(track):
    participant = ParticipantFactory(home_site=track.site)
    referred = enrollment_refer(participant=participant, track=track, admission_date=MONDAY)

    enrolled = enrollment_enroll(participant=participant, track=track, admission_date=MONDAY)

    assert enrolled.pk == referred.pk
    assert Enrollment.objects.get(pk=referred.pk).status == EnrollmentStatus.ACTIVE
    assert Enrollment.objects.filter(participant=participant).count() == 1


def test_it_refuses_a_second_referral_to_the_same_track(track):
    participant = ParticipantFactory(home_site=track.site)
    enrollment_refer(participant=participant, track=track, admission_date=MONDAY)

    with pytest.raises(ValidationError) as error:
        enrollment_refer(participant=participant, track=track, admission_date=MONDAY)

    assert error.value.code == "already_in_track"
    assert Enrollment.objects.filter(participant=participant).count() == 1


def test_it_refuses_a_referral_before_the_track_starts(track):
    with pytest.raises(ValidationError) as error:
        enrollment_refer(participant=ParticipantFactory(home_site=track.site), track=track,
                         admission_date=MONDAY - dt.timedelta(days=7))

    assert error.value.code == "admission_before_track_start"
    assert not Enrollment.objects.exists()
