"""A small invented clinic for the authorization tests: one site, one track with a three-hour
H0015 group every weekday from Monday 2 February 2026, one active participant.
"Today" is Wednesday 11 February 2026 unless a test says otherwise."""
import datetime as dt
from dataclasses import dataclass

from authorizations.models import Authorization, Payer
from tests.factories import (
    AttendanceFactory,
    EnrollmentFactory,
    ParticipantFactory,
    ProgramFactory,
    SessionTypeFactory,
    SiteFactory,
    TherapySessionFactory,
    TrackFactory,
)

MONDAY = dt.date(2026, 2, 2)
TODAY = dt.date(2026, 2, 11)


@dataclass
class World:
    site: object
    track: object
    enrollment: object
    participant: object
    group: object  # the H0015 session type
    payer: object

    def session(self, day: dt.date, *, minutes: int = 180, session_type=None,
                session_status: str = "scheduled", hour: int = 14):
        starts = dt.datetime.combine(day, dt.time(hour, 0), tzinfo=dt.UTC)
        session_type = session_type or self.group
        personal = session_type.kind in ("individual", "family")
        return TherapySessionFactory(track=None if personal else self.track, site=self.site,
                                     participant=self.participant if personal else None,
                                     session_type=session_type, starts_at=starts,
                                     ends_at=starts + dt.timedelta(minutes=minutes),
                                     local_date=day, status=session_status)

    def attend(self, day: dt.date, status: str = "present", *, minutes_attended=None,
               **session_kwargs):
        session = self.session(day, **session_kwargs)
        return AttendanceFactory(session=session, participant=self.participant,
                                 enrollment=self.enrollment, status=status,
                                 minutes_attended=minutes_attended)

    def authorize(self, **values) -> Authorization:
        defaults = dict(enrollment=self.enrollment, payer=self.payer, member_id="M-1001",
                        number=f"AUTH-{self.enrollment.pk}", unit="day", service_code="H0015",
                        units_authorized=10,
                        start_date=MONDAY, end_date=MONDAY + dt.timedelta(days=27),
                        status="approved")
        defaults.update(values)
        return Authorization.objects.create(**defaults)


def build_world(*, alert_units: int = 3, review_days: int = 7, site=None) -> World:
    site = site or SiteFactory()
    program = ProgramFactory(authorization_alert_units=alert_units,
                             authorization_review_days=review_days)
    track = TrackFactory(program=program, site=site, start_date=MONDAY)
    participant = ParticipantFactory(home_site=site, first_name="Avery", last_name="Adams")
    enrollment = EnrollmentFactory(track=track, participant=participant,
                                   admission_date=MONDAY)
    group = SessionTypeFactory(service_code="H0015", default_duration_minutes=180)
    payer, _ = Payer.objects.get_or_create(name="Lakeside Health Plan (invented)",
                                           defaults={"requires_authorization": True})
    return World(site=site, track=track, enrollment=enrollment, participant=participant,
                 group=group, payer=payer)
