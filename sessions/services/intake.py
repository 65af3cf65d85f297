"""Intake: register a participant, record how they agreed to be contacted, and enroll them.

Front desk does all three at one desk visit, so they succeed or fail together: a refused
enrollment (track inactive, cohort started) leaves no half-registered person behind.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction

from participants.models import (
    ConsentSource, Enrollment, Participant, ReminderChannels,
)
from participants.selectors import waitlist_position
from participants.services import consent_give, participant_create
from programs.models import Site, Track

from .enrollment import enrollment_enroll


@dataclass(frozen=True)
class IntakeResult:
    participant: Participant
    enrollment: Enrollment
    # 1-based place in the track's queue when the track was full, else None.
    waitlist_position: int | None


def participant_intake(
    *,
    record_number: str,
    first_name: str,
    last_name: str,
    home_site: Site,
    track: Track,
    admission_date: date,
    date_of_birth: date | None = None,
    email: str = "",
    phone: str = "",
    primary_clinician: Any = None,
    reminder_channels: str = ReminderChannels.EMAIL,
    language: str = "en",
    consent_channels: Iterable[str] = (),
    consent_source: str = ConsentSource.INTAKE_FORM,
    by: Any = None,
) -> IntakeResult:
    """Create the participant, record consent on each of `consent_channels`, and enroll them.

    One transaction: any refusal writes nothing. With no free seat the enrollment is waitlisted
    and the result carries the queue position. Codes: those of participant_create, consent_give
    (consent_needs_email, consent_needs_phone) and enrollment_enroll.
    """
    channels = sorted(set(consent_channels))
    with transaction.atomic():
        participant = participant_create(
            record_number=record_number, first_name=first_name, last_name=last_name,
            home_site=home_site, date_of_birth=date_of_birth, email=email, phone=phone,
            primary_clinician=primary_clinician, reminder_channels=reminder_channels,
            language=language,
        )
        for channel in channels:
            consent_give(participant=participant, channel=channel, source=consent_source)
        enrollment = enrollment_enroll(participant=participant, track=track,
                                       admission_date=admission_date, by=by)
    return IntakeResult(participant=participant, enrollment=enrollment,
                        waitlist_position=waitlist_position(enrollment))
