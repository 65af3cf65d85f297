"""A small clinic whose report figures are computed by hand (see the numbers in each test).

Site in New York; program "Adult IOP" with a 6-hour weekly minimum; track T1 (cohort from Monday
2 February 2026, capacity 3) meets Monday and Wednesday 6–9 pm (H0015, 180 minutes). Today is
Wednesday 18 February 2026; the reports cover 2–18 February.

Sessions: S1 Mon 2 Feb, S2 Wed 4 Feb, S3 Mon 9 Feb (closure: cancelled), S4 Wed 11 Feb
(cancelled by the clinic), S5 Mon 16 Feb, S6 Wed 18 Feb (today, not marked yet), S7 Mon 23 Feb
(ahead), and an individual session (90832, 60 minutes) for Avery on Tue 17 Feb at 10 am.

People:
- Avery (caseload of `clinician`): admitted 2 Feb, referred 26 Jan. S1 present 180, S2 late 150,
  S5 excused, S6 expected, individual present (minutes not recorded: 60).
- Blake: admitted 2 Feb (enrolled that day), S1 absent, S2 present 180, discharged 10 Feb as
  transferred, with a continuing-care plan stepping down to level 1.
- Casey: completed an earlier cohort T0 (Oct–Dec 2025) and is readmitted to T1 on 9 Feb
  (referred 20 Jan). S5 present 180, S6 expected.
- Drew: waitlisted since 5 Feb and offered a seat. Emery: waitlisted since 12 Feb.
  Finley: waitlisted 3 Feb, withdrew 17 Feb.
Group sessions are facilitated by `lead`; the individual session by `clinician`.
"""
import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.roles import Role
from participants.models import Enrollment
from programs.models import SessionKind
from sessions.models import Attendance
from reports.selectors import ReportScope
from tests import factories

NY = zoneinfo.ZoneInfo("America/New_York")
TODAY = dt.date(2026, 2, 18)
NOW = dt.datetime(2026, 2, 18, 12, 0, tzinfo=NY)
FROM = dt.date(2026, 2, 2)


@dataclass
class ReportWorld:
    site: Any
    other_site: Any
    director: Any
    clinician: Any
    lead: Any
    front_desk: Any
    program: Any
    t1: Any
    avery: Any
    blake: Any
    casey: Any

    def scope(self, **kwargs) -> ReportScope:
        values = {"site_ids": (self.site.pk,), "date_from": FROM, "date_to": TODAY,
                  "today": TODAY} | kwargs
        return ReportScope(**values)


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=NY).astimezone(dt.UTC)


def _utc_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.UTC)


def _enroll(participant, track, admitted: dt.date, created: dt.date, **kwargs):
    enrollment = factories.EnrollmentFactory(participant=participant, track=track,
                                             admission_date=admitted, **kwargs)
    Enrollment.objects.filter(pk=enrollment.pk).update(created_at=_utc_noon(created))
    return enrollment


def _waiting(track, site, waitlisted: dt.date, *, offered=False, withdrawn: dt.date | None = None):
    participant = factories.ParticipantFactory(home_site=site)
    enrollment = factories.EnrollmentFactory(
        participant=participant, track=track, status="withdrawn" if withdrawn else "waitlisted",
        admission_date=dt.date(2026, 3, 2), waitlisted_at=_utc_noon(waitlisted),
        seat_offered_at=_utc_noon(TODAY) if offered else None)
    Enrollment.objects.filter(pk=enrollment.pk).update(
        created_at=_utc_noon(waitlisted), updated_at=_utc_noon(withdrawn or waitlisted))
    return enrollment


def build_report_world() -> ReportWorld:
    site = factories.SiteFactory(time_zone="America/New_York")
    other_site = factories.SiteFactory(time_zone="America/Los_Angeles")
    director = factories.StaffFactory(role=Role.DIRECTOR, sites=[site], first_name="Dana",
                                      last_name="Director")
    clinician = factories.StaffFactory(role=Role.CLINICIAN, sites=[site], first_name="Kim",
                                       last_name="Clinician")
    lead = factories.StaffFactory(role=Role.CLINICIAN, sites=[site], first_name="Lee",
                                  last_name="Lead")
    front_desk = factories.StaffFactory(role=Role.FRONT_DESK, sites=[site])
    program = factories.ProgramFactory(name="Adult IOP", min_weekly_hours=Decimal(6))
    group = factories.SessionTypeFactory(name="Process group", service_code="H0015")
    individual = factories.SessionTypeFactory(name="Individual therapy", kind=SessionKind.INDIVIDUAL,
                                              default_duration_minutes=60, service_code="90832")
    t0 = factories.TrackFactory(site=site, program=program, name="T0", start_date=dt.date(2025, 10, 6),
                                end_date=dt.date(2025, 12, 28), is_active=False)
    t1 = factories.TrackFactory(site=site, program=program, name="T1", start_date=FROM,
                                capacity=3, lead_clinician=lead)
    factories.ClosureFactory(site=site, date=dt.date(2026, 2, 9), reason="Holiday")

    def group_session(day, **kwargs):
        return factories.TherapySessionFactory(track=t1, site=site, session_type=group,
                                               starts_at=_at(day, 18), facilitator=lead, **kwargs)

    s1 = group_session(dt.date(2026, 2, 2))
    s2 = group_session(dt.date(2026, 2, 4))
    s3 = group_session(dt.date(2026, 2, 9), status="cancelled", cancel_reason="Closed: Holiday")
    s4 = group_session(dt.date(2026, 2, 11), status="cancelled", cancel_reason="Facilitator ill")
    s5 = group_session(dt.date(2026, 2, 16))
    s6 = group_session(dt.date(2026, 2, 18))
    s7 = group_session(dt.date(2026, 2, 23))

    avery = factories.ParticipantFactory(home_site=site, first_name="Avery", last_name="Adams",
                                         primary_clinician=clinician)
    blake = factories.ParticipantFactory(home_site=site, first_name="Blake", last_name="Brown")
    casey = factories.ParticipantFactory(home_site=site, first_name="Casey", last_name="Clark")
    e_avery = _enroll(avery, t1, FROM, dt.date(2026, 1, 26))
    e_blake = _enroll(blake, t1, FROM, FROM, status="discharged",
                      discharge_date=dt.date(2026, 2, 10), discharge_reason="transferred")
    factories.ContinuingCarePlanFactory(enrollment=e_blake, step_down_level="1")
    _enroll(casey, t0, dt.date(2025, 10, 6), dt.date(2025, 9, 29), status="completed",
            discharge_date=dt.date(2025, 12, 28), discharge_reason="completed")
    e_casey = _enroll(casey, t1, dt.date(2026, 2, 9), dt.date(2026, 1, 20))
    individual_session = factories.TherapySessionFactory(
        track=None, site=site, session_type=individual, kind=SessionKind.INDIVIDUAL,
        participant=avery, starts_at=_at(dt.date(2026, 2, 17), 10),
        ends_at=_at(dt.date(2026, 2, 17), 11), facilitator=clinician)

    marks = [
        (e_avery, s1, "present", 180), (e_avery, s2, "late", 150),
        (e_avery, s3, "cancelled", None), (e_avery, s4, "cancelled", None),
        (e_avery, s5, "excused", None), (e_avery, s6, "expected", None),
        (e_avery, s7, "expected", None), (e_avery, individual_session, "present", None),
        (e_blake, s1, "absent", None), (e_blake, s2, "present", 180),
        (e_casey, s3, "cancelled", None), (e_casey, s4, "cancelled", None),
        (e_casey, s5, "present", 180), (e_casey, s6, "expected", None),
        (e_casey, s7, "expected", None),
    ]
    Attendance.objects.bulk_create([
        Attendance(session=session, participant=enrollment.participant, enrollment=enrollment,
                   status=status, minutes_attended=minutes,
                   marked_at=timezone.now() if status != "expected" else None)
        for enrollment, session, status, minutes in marks
    ])
    _waiting(t1, site, dt.date(2026, 2, 5), offered=True)  # Drew
    _waiting(t1, site, dt.date(2026, 2, 12))  # Emery
    _waiting(t1, site, dt.date(2026, 2, 3), withdrawn=dt.date(2026, 2, 17))  # Finley
    # Another site's data, which no report of `site` may count.
    t_other = factories.TrackFactory(site=other_site, program=program, name="West", start_date=FROM)
    stranger = factories.ParticipantFactory(home_site=other_site)
    e_other = _enroll(stranger, t_other, FROM, FROM)
    other_session = factories.TherapySessionFactory(track=t_other, site=other_site,
                                                    session_type=group, starts_at=_at(FROM, 18))
    Attendance.objects.create(session=other_session, participant=stranger, enrollment=e_other,
                              status="present", minutes_attended=180)
    return ReportWorld(site=site, other_site=other_site, director=director, clinician=clinician,
                       lead=lead, front_desk=front_desk, program=program, t1=t1, avery=avery,
                       blake=blake, casey=casey)
