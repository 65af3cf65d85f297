"""Build an invented demo clinic through the product's own services.

Idempotent: a database that already holds the demo is left as it is, and the logins are printed
again. Every name, phone number and address is invented (Faker with a fixed seed).
"""
import random
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from faker import Faker

from accounts.models import User
from accounts.roles import Role
from authorizations.models import Payer
from authorizations.services import authorization_save, authorization_usage_refresh, coverage_set
from participants.models import (
    ConsentChannel, ConsentSource, DischargeReason, Enrollment, EnrollmentStatus, Participant,
)
from participants.services import consent_give, participant_create, participant_update
from participants.services_contacts import contact_create, disclosure_consent_record
from programs.models import (
    LevelOfCare, Population, Program, Room, SessionKind, SessionType, Site, Track, TrackMode,
    WeeklySlot,
)
from sessions.models import Attendance, AttendanceStatus
from sessions.services.attendance import attendance_mark
from sessions.services.enrollment import (
    enrollment_discharge, enrollment_enroll, enrollment_hold, enrollment_refer,
)
from sessions.services.schedule import closure_add, personal_session_schedule, schedule_generate

DEMO_PASSWORD = "demo-clinic-2026"
MARKER_SITE = "Riverside (demo)"


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@contextmanager
def _emails_held_back():
    """Collect the emails the invented history triggers instead of printing or sending them.

    Marking the demo's past absences notifies staff (and the console backend printed each whole
    email, hundreds of lines before the logins); nobody needs them.
    """
    saved_backend = settings.EMAIL_BACKEND
    saved_outbox = getattr(mail, "outbox", None)
    mail.outbox = []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    held = mail.outbox
    try:
        yield held
    finally:
        settings.EMAIL_BACKEND = saved_backend
        if saved_outbox is None:
            del mail.outbox
        else:
            mail.outbox = saved_outbox


class Command(BaseCommand):
    help = "Create an invented demo clinic (sites, programs, tracks, ~40 participants)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Seed even when DEBUG is off (never on a real clinic's data).")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo writes invented data; run it with DEBUG on or --force.")
        if Site.objects.filter(name=MARKER_SITE).exists():
            self.stdout.write("Demo data already present; nothing changed.")
        else:
            with _emails_held_back() as held:
                with transaction.atomic():
                    DemoClinic(stdout=self.stdout).build()
            self.stdout.write(self.style.SUCCESS(
                f"Demo clinic created ({len(held)} notification emails of the invented history "
                "were not sent)."))
        # Last, so they are what a newcomer sees just before the server's own lines.
        self._print_logins()

    def _print_logins(self) -> None:
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for username, what in [
            ("admin", "administrator (Django admin at /admin/)"),
            ("director", "program director, both sites"),
            ("clinician", "clinician at Riverside"),
            ("clinician.mesa", "clinician at Mesa"),
            ("frontdesk", "front desk, both sites"),
            ("participant", "participant with a portal login"),
        ]:
            self.stdout.write(f"  {username:<16} {what}")
        # No TOTP device is seeded: a secret printed here or kept in the repository would be a
        # known second factor on any database seeded with --force. The setup page does it in a
        # minute and shows a QR code and the key to type.
        self.stdout.write(
            "\nadmin and director need a second factor: their first sign-in opens the set-up\n"
            "page; scan its QR code (or type its key) into any authenticator app, enter the\n"
            "6-digit code, and keep the recovery codes it shows.")


class DemoClinic:
    def __init__(self, *, stdout) -> None:
        self.stdout = stdout
        self.fake = Faker("en_US")
        self.fake.seed_instance(2026)
        self.random = random.Random(2026)
        self.record_numbers = iter(range(1001, 10_000))

    # --- people -------------------------------------------------------------------------

    def _user(self, username: str, *, role: Role | None = None, superuser: bool = False) -> User:
        user = User.objects.create_user(
            username=username, password=DEMO_PASSWORD, email=f"{username}@staff.example.org",
            first_name=self.fake.first_name(), last_name=self.fake.last_name(),
            is_staff=superuser, is_superuser=superuser,
        )
        if role:
            user.groups.add(Group.objects.get(name=Role(role).label))
        return user

    def _participant(self, site: Site, clinician: User) -> Participant:
        participant = participant_create(
            record_number=f"DEMO-{next(self.record_numbers)}",
            first_name=self.fake.first_name(), last_name=self.fake.last_name(), home_site=site,
            email=f"{self.fake.user_name()}{self.random.randint(10, 99)}@example.com",
            phone=f"+1555{self.random.randint(1000000, 9999999)}",
            date_of_birth=self.fake.date_of_birth(minimum_age=14, maximum_age=70),
            primary_clinician=clinician,
            reminder_channels=self.random.choice(["email", "sms", "both"]),
        )
        consent_give(participant=participant, channel=ConsentChannel.EMAIL,
                     source=ConsentSource.INTAKE_FORM)
        if participant.reminder_channels in ("sms", "both"):
            consent_give(participant=participant, channel=ConsentChannel.SMS,
                         source=ConsentSource.INTAKE_FORM)
        return participant

    # --- the clinic -----------------------------------------------------------------------

    def build(self) -> None:
        self.admin = self._user("admin", superuser=True)
        self.director = self._user("director", role=Role.DIRECTOR)
        self.clinician = self._user("clinician", role=Role.CLINICIAN)
        self.clinician_mesa = self._user("clinician.mesa", role=Role.CLINICIAN)
        self.front_desk = self._user("frontdesk", role=Role.FRONT_DESK)

        riverside = Site.objects.create(
            name=MARKER_SITE, public_alias="Riverside Health Center",
            time_zone="America/New_York", phone="+15555550100",
            address=self.fake.street_address() + ", " + self.fake.city() + ", NY",
        )
        mesa = Site.objects.create(
            name="Mesa (demo)", public_alias="Mesa Wellness Associates",
            time_zone="America/Los_Angeles", phone="+15555550200",
            address=self.fake.street_address() + ", " + self.fake.city() + ", CA",
        )
        riverside.staff.add(self.director, self.clinician, self.front_desk)
        mesa.staff.add(self.director, self.clinician_mesa, self.front_desk)
        rooms = {
            "A": Room.objects.create(site=riverside, name="Room A", capacity=14),
            "B": Room.objects.create(site=riverside, name="Room B", capacity=10),
            "F": Room.objects.create(site=riverside, name="Family room", capacity=6),
            "1": Room.objects.create(site=mesa, name="Suite 1", capacity=12),
            "2": Room.objects.create(site=mesa, name="Suite 2", capacity=8),
        }

        adult = Program.objects.create(name="Adult IOP", level_of_care=LevelOfCare.IOP,
                                       population=Population.ADULT, duration_weeks=12)
        teen = Program.objects.create(name="Adolescent IOP", level_of_care=LevelOfCare.IOP,
                                      population=Population.ADOLESCENT, duration_weeks=8,
                                      contacts_hear_all_minor_sessions=True)
        php = Program.objects.create(name="Partial Hospitalization", duration_weeks=6,
                                     level_of_care=LevelOfCare.PHP, population=Population.ADULT)

        def session_type(name, kind, minutes, code):
            return SessionType.objects.create(name=name, kind=kind, service_code=code,
                                              default_duration_minutes=minutes)

        process = session_type("Process group", SessionKind.GROUP, 120, "H0015")
        relapse = session_type("Relapse prevention workshop", SessionKind.WORKSHOP, 60, "H0015")
        coping = session_type("Coping skills group", SessionKind.GROUP, 90, "H0015")
        mindful = session_type("Mindfulness workshop", SessionKind.WORKSHOP, 90, "H0015")
        self.individual = session_type("Individual therapy", SessionKind.INDIVIDUAL, 60, "90834")
        self.family = session_type("Family session", SessionKind.FAMILY, 60, "90847")

        today = timezone.localdate()
        this_monday = _monday(today)

        def track(site, program, name, mode, start, capacity, lead, slots):
            t = Track.objects.create(site=site, program=program, name=name, mode=mode,
                                     start_date=start, capacity=capacity, lead_clinician=lead)
            for weekday, start_time, minutes, kind, title, room in slots:
                WeeklySlot.objects.create(
                    track=t, weekday=weekday, start_time=start_time, duration_minutes=minutes,
                    session_type=kind, title=title, facilitator=lead, room=room,
                )
            return t

        evening = track(riverside, adult, "Evening — Mon/Wed/Thu 6–9 pm", TrackMode.COHORT,
                        this_monday - timedelta(weeks=5), 10, self.clinician, [
                            (0, time(18), 120, process, "Check-in and process", rooms["A"]),
                            (0, time(20), 60, relapse, "Relapse prevention", rooms["A"]),
                            (2, time(18), 180, coping, "Coping skills", rooms["A"]),
                            (3, time(18), 90, mindful, "Mindfulness", rooms["B"]),
                            (3, time(19, 30), 90, process, "Process group", rooms["B"]),
                        ])
        morning = track(riverside, adult, "Morning — Tue/Thu/Fri 9–12", TrackMode.ROLLING,
                        this_monday, 12, self.director, [
                            (1, time(9), 180, process, "Process group", rooms["B"]),
                            (3, time(9), 180, coping, "Coping skills", rooms["A"]),
                            (4, time(9), 180, relapse, "Relapse prevention", rooms["A"]),
                        ])
        teen_slots = [
            (0, time(15, 30), 120, coping, "Coping skills", rooms["1"]),
            (1, time(15, 30), 120, process, "Process group", rooms["1"]),
            (3, time(15, 30), 120, mindful, "Mindfulness", rooms["2"]),
        ]
        teen_done = track(mesa, teen, "After school — autumn cohort", TrackMode.COHORT,
                          this_monday - timedelta(weeks=10), 8, self.clinician_mesa, teen_slots)
        teen_next = track(mesa, teen, "After school — winter cohort", TrackMode.COHORT,
                          this_monday + timedelta(weeks=1), 8, self.clinician_mesa, teen_slots)
        day_php = track(mesa, php, "Day program — Mon–Fri 9–1", TrackMode.ROLLING,
                        this_monday, 10, self.clinician_mesa, [
                            (day, time(9), 240, process if day % 2 else coping,
                             "Day program", rooms["2"]) for day in range(5)
                        ])

        # Closures: one in the evening cohort's past, one ahead at each site.
        closure_add(site=riverside, date=this_monday - timedelta(weeks=3) + timedelta(days=2),
                    reason="Staff training day")
        for site in (riverside, mesa):
            closure_add(site=site, date=this_monday + timedelta(weeks=2, days=3), reason="Holiday")
        for t in (evening, morning, teen_done, teen_next, day_php):
            schedule_generate(track=t)

        override = {"by": self.director, "director_override": True}
        # Evening cohort: full, two on hold, three waiting, one discharged early.
        evening_people = [self._participant(riverside, self.clinician) for _ in range(11)]
        for person in evening_people:
            enrollment_enroll(participant=person, track=evening,
                              admission_date=evening.start_date, **override)
        self.portal_participant = evening_people[0]
        self.portal_participant.user = self._user("participant")
        self.portal_participant.save(update_fields=["user"])
        waiting = [self._participant(riverside, self.clinician) for _ in range(3)]
        for person in waiting:
            enrollment_enroll(participant=person, track=evening, admission_date=evening.start_date,
                              **override)
        # Morning rolling track: people join this week; two referrals for next week.
        for _ in range(6):
            enrollment_enroll(participant=self._participant(riverside, self.director),
                              track=morning, admission_date=this_monday)
        for _ in range(2):
            enrollment_refer(participant=self._participant(riverside, self.director),
                             track=morning, admission_date=this_monday + timedelta(weeks=1))
        # Mesa: a finished teen cohort, the next one filling up, and the day program.
        teen_done_people = [self._participant(mesa, self.clinician_mesa) for _ in range(8)]
        for person in teen_done_people:
            enrollment_enroll(participant=person, track=teen_done,
                              admission_date=teen_done.start_date, **override)
        teen_next_people = [self._participant(mesa, self.clinician_mesa) for _ in range(4)]
        for person in teen_next_people:
            enrollment_enroll(participant=person, track=teen_next,
                              admission_date=teen_next.start_date)
        for _ in range(5):
            enrollment_enroll(participant=self._participant(mesa, self.clinician_mesa),
                              track=day_php, admission_date=this_monday)

        self._mark_history(today)
        self._personal_sessions(evening_people[:3], riverside, rooms)
        self._family_contacts(evening_people[0], teen_next_people[0], today)
        self._endings(evening, evening_people, teen_done, teen_done_people, today)
        self._authorizations(today)

    def _mark_history(self, today: date) -> None:
        """Past sessions get realistic attendance: mostly present, some late, a few absent."""
        now = timezone.now()
        weights = [(AttendanceStatus.PRESENT, 80), (AttendanceStatus.LATE, 6),
                   (AttendanceStatus.LEFT_EARLY, 4), (AttendanceStatus.ABSENT, 7),
                   (AttendanceStatus.EXCUSED, 3)]
        statuses, cumulative = zip(*weights)
        past = (Attendance.objects.filter(status=AttendanceStatus.EXPECTED, session__ends_at__lt=now)
                .select_related("session").order_by("session__starts_at", "pk"))
        for attendance in past:
            status = self.random.choices(statuses, weights=cumulative)[0]
            minutes = None
            if status != AttendanceStatus.PRESENT and status in AttendanceStatus.attended():
                minutes = attendance.session.duration_minutes - self.random.choice([15, 30, 45])
            attendance_mark(attendance=attendance, status=status, minutes=minutes,
                            by=attendance.session.facilitator or self.director)

    def _personal_sessions(self, people, site: Site, rooms) -> None:
        # Next week's Tuesday to Thursday, then weekly: one clinician, one afternoon hour each.
        start = _monday(timezone.localdate(timezone=site.zone)) + timedelta(weeks=1, days=1)
        for index, person in enumerate(people):
            when = datetime.combine(start + timedelta(days=index), time(16, 0))
            personal_session_schedule(participant=person, session_type=self.individual,
                                      starts_at_local=when, facilitator=self.clinician,
                                      room=rooms["B"], repeat_weekly=True)
        family_day = datetime.combine(start + timedelta(days=3), time(17, 0))
        personal_session_schedule(participant=people[0], session_type=self.family,
                                  starts_at_local=family_day, facilitator=self.clinician,
                                  room=rooms["F"])

    def _family_contacts(self, adult: Participant, teen: Participant, today: date) -> None:
        """A partner told of the adult's family session, and a guardian told of every session
        of a 15-year-old (the adolescent program says so); both consents signed and standing."""
        partner = contact_create(participant=adult, sms_consent=False, data={
            "name": self.fake.name(), "relationship": "partner", "reminder_channels": "email",
            "email": f"{self.fake.user_name()}@example.com", "phone": ""})
        disclosure_consent_record(contact=partner, signed_on=today - timedelta(days=20),
                                  expires_on=today + timedelta(days=345), signed_by="participant",
                                  by=self.front_desk)
        participant_update(participant=teen, data={"date_of_birth": date(
            today.year - 15, 6, 1)})
        guardian = contact_create(participant=teen, sms_consent=True, data={
            "name": self.fake.name(), "relationship": "parent", "is_guardian_of_minor": True,
            "language": "es", "reminder_channels": "both", "phone": "+15555550177",
            "email": f"{self.fake.user_name()}@example.com"})
        disclosure_consent_record(contact=guardian, signed_on=today - timedelta(days=3),
                                  expires_on=today + timedelta(days=180), signed_by="both",
                                  by=self.front_desk)

    def _authorizations(self, today: date) -> None:
        """Invented payers, each active enrollment's payer and, for most, an approved per-diem
        authorization: one running low, one with its review due, one expired, one missing."""
        plans = [
            Payer.objects.create(name="Lakeside Health Plan (demo)", phone="+15555550300"),
            Payer.objects.create(name="Harbor Mutual (demo)", phone="+15555550301"),
            Payer.objects.create(name="Sliding scale (demo)", requires_authorization=False),
        ]
        active = (Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE)
                  .select_related("participant").order_by("pk"))
        for index, enrollment in enumerate(active):
            payer = plans[index % len(plans)]
            member = f"{self.random.randint(100000, 999999)}"
            coverage_set(enrollment=enrollment, payer=payer, member_id=member)
            if index == 1:
                continue  # covered by a payer that requires one, and none recorded: an alert
            end = enrollment.planned_end_date if index != 4 else today - timedelta(days=2)
            start = min(enrollment.admission_date, end)
            authorization_save(
                enrollment=enrollment, by=self.front_desk, payer=payer, member_id=member,
                number=f"PA{self.random.randint(1000000, 9999999)}",
                level_of_care=enrollment.track.program.level_of_care, unit="day",
                service_code="H0015", units_authorized=3 if index == 2 else 30,
                start_date=start, end_date=end,
                next_review_date=(today + timedelta(days=3) if index == 3 else
                                  max(start, today + timedelta(days=21))),
                status="approved", note="Invented for the demo.")
        authorization_usage_refresh(today=today)

    def _endings(self, evening, evening_people, teen_done, teen_done_people, today) -> None:
        enrollments = {e.participant_id: e for e in
                       evening.enrollments.filter(status="active").select_related("participant")}
        for person in evening_people[8:10]:
            enrollment_hold(enrollment=enrollments[person.pk], reason="Medical leave",
                            by=self.director)
        enrollment_discharge(
            enrollment=enrollments[evening_people[7].pk], discharge_date=today - timedelta(days=3),
            reason=DischargeReason.AGAINST_ADVICE, note="Stopped attending.", by=self.director,
            care_plan={"step_down_level": "1", "support_groups": "Peer support group, Tuesdays"},
        )
        done = {e.participant_id: e for e in teen_done.enrollments.filter(status="active")}
        for index, person in enumerate(teen_done_people):
            reason = DischargeReason.COMPLETED if index < 6 else DischargeReason.NON_ATTENDANCE
            enrollment_discharge(
                enrollment=done[person.pk], discharge_date=teen_done.end_date, reason=reason,
                by=self.director, care_plan={
                    "step_down_level": "1", "step_down_provider": "Community outpatient clinic",
                    "support_groups": "Teen peer support, Thursdays",
                    "notes": "Follow-up call in two weeks.",
                },
            )
