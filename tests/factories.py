"""factory_boy factories. Every name, phone number and address is invented by Faker."""
import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from factory.django import DjangoModelFactory

from accounts.models import User
from accounts.roles import Role
from participants.models import (
    Contact, ContactConsent, ContinuingCarePlan, DisclosureConsent, Enrollment, Participant,
)
from programs.models import Closure, Program, Room, SessionKind, SessionType, Site, Track, WeeklySlot
from sessions.models import Attendance, TherapySession


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@staff.example.org")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    """A staff member: `role=Role.CLINICIAN, sites=[site]`."""

    is_staff = False

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        if create and extracted:
            group, _ = Group.objects.get_or_create(name=Role(extracted).label)
            obj.groups.add(group)

    @factory.post_generation
    def sites(obj, create, extracted, **kwargs):
        if create and extracted:
            for site in extracted:
                site.staff.add(obj)


class SiteFactory(DjangoModelFactory):
    class Meta:
        model = Site

    name = factory.Sequence(lambda n: f"Clinic site {n}")
    public_alias = factory.Sequence(lambda n: f"Maple Street Health Center {n}")
    time_zone = "America/New_York"
    phone = factory.Sequence(lambda n: f"+1555555{n % 10000:04d}")
    address = factory.Faker("street_address")


class RoomFactory(DjangoModelFactory):
    class Meta:
        model = Room

    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"Room {n}")
    capacity = 15


class ProgramFactory(DjangoModelFactory):
    class Meta:
        model = Program
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Adult IOP {n}")
    level_of_care = "2.1"
    population = "adult"
    duration_weeks = 12
    min_weekly_hours = Decimal(9)

    @factory.post_generation
    def sites(self, create, extracted, **kwargs):
        """ProgramFactory(sites=[site]): the sites that offer it."""
        if create and extracted:
            self.sites.set(extracted)


class SessionTypeFactory(DjangoModelFactory):
    class Meta:
        model = SessionType

    name = factory.Sequence(lambda n: f"Process group {n}")
    kind = SessionKind.GROUP
    default_duration_minutes = 180
    default_capacity = 12
    counts_toward_hours = True
    service_code = "H0015"


class TrackFactory(DjangoModelFactory):
    class Meta:
        model = Track

    program = factory.SubFactory(ProgramFactory)
    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"Evening track {n}")
    mode = "cohort"
    start_date = dt.date(2026, 1, 5)
    capacity = 10


class WeeklySlotFactory(DjangoModelFactory):
    class Meta:
        model = WeeklySlot

    track = factory.SubFactory(TrackFactory)
    weekday = 0
    start_time = dt.time(18, 0)
    duration_minutes = 180
    session_type = factory.SubFactory(SessionTypeFactory)
    title = "Skills group"


class ClosureFactory(DjangoModelFactory):
    class Meta:
        model = Closure

    site = factory.SubFactory(SiteFactory)
    date = dt.date(2026, 1, 19)
    reason = "Holiday"


class ParticipantFactory(DjangoModelFactory):
    class Meta:
        model = Participant

    record_number = factory.Sequence(lambda n: f"MRN{n:06d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"participant{n}@mail.example.com")
    phone = factory.Sequence(lambda n: f"+1555010{n % 10000:04d}")
    home_site = factory.SubFactory(SiteFactory)


class ContactConsentFactory(DjangoModelFactory):
    class Meta:
        model = ContactConsent

    participant = factory.SubFactory(ParticipantFactory)
    channel = "sms"
    given_at = factory.LazyFunction(lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    source = "intake"


class EnrollmentFactory(DjangoModelFactory):
    class Meta:
        model = Enrollment

    participant = factory.SubFactory(ParticipantFactory)
    track = factory.SubFactory(TrackFactory)
    status = "active"
    admission_date = factory.LazyAttribute(lambda e: e.track.start_date)
    planned_end_date = factory.LazyAttribute(
        lambda e: e.admission_date + dt.timedelta(weeks=e.track.program.duration_weeks, days=-1)
    )


class ContinuingCarePlanFactory(DjangoModelFactory):
    class Meta:
        model = ContinuingCarePlan

    enrollment = factory.SubFactory(EnrollmentFactory)
    step_down_level = "1"
    support_groups = "Weekly peer support meeting"


class TherapySessionFactory(DjangoModelFactory):
    """A group session on the track's first Monday evening (New York time)."""

    class Meta:
        model = TherapySession

    track = factory.SubFactory(TrackFactory)
    site = factory.LazyAttribute(lambda s: s.track.site if s.track else SiteFactory())
    session_type = factory.SubFactory(SessionTypeFactory)
    kind = factory.LazyAttribute(lambda s: s.session_type.kind)
    title = "Skills group"
    starts_at = factory.LazyFunction(lambda: dt.datetime(2026, 1, 5, 23, 0, tzinfo=dt.UTC))
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + dt.timedelta(hours=3))
    local_date = factory.LazyAttribute(lambda s: s.starts_at.astimezone(s.site.zone).date())


class AttendanceFactory(DjangoModelFactory):
    class Meta:
        model = Attendance

    session = factory.SubFactory(TherapySessionFactory)
    participant = factory.SubFactory(ParticipantFactory)
    status = "expected"


class ContactFactory(DjangoModelFactory):
    """A parent who wants email reminders (texts need `sms_consent_at`)."""

    class Meta:
        model = Contact

    participant = factory.SubFactory(ParticipantFactory)
    name = factory.Faker("name")
    relationship = "parent"
    email = factory.Sequence(lambda n: f"contact{n}@mail.example.com")
    phone = factory.Sequence(lambda n: f"+1555020{n % 10000:04d}")
    reminder_channels = "email"


class DisclosureConsentFactory(DjangoModelFactory):
    """Standing from 2026-01-01 for a year."""

    class Meta:
        model = DisclosureConsent

    contact = factory.SubFactory(ContactFactory)
    signed_on = dt.date(2026, 1, 1)
    expires_on = dt.date(2027, 1, 1)
