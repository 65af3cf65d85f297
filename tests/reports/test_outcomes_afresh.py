"""The outcomes report (one query over the admitted and the ended enrollments) equals the
definitions computed afresh in Python, row by row, on a varied clinic: readmissions, discharges
by reason, completion, length of stay in days and attended hours, step-down levels."""
import datetime as dt
import random
import statistics
from decimal import ROUND_HALF_UP, Decimal

import pytest
import time_machine

from participants.models import ContinuingCarePlan, Enrollment
from reports import selectors as reports
from sessions.models import Attendance
from tests import factories

from .world import NOW, NY, TODAY, build_report_world

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _round(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _afresh(scope) -> dict:
    mine = [e for e in Enrollment.objects.select_related("track", "participant")
            if e.track.site_id in scope.site_ids]
    admitted_statuses = ("active", "on_hold", "completed", "discharged")
    admitted = [e for e in mine if e.status in admitted_statuses
                and scope.date_from <= e.admission_date <= scope.date_to]
    readmitted = [e for e in admitted if Enrollment.objects.filter(
        participant_id=e.participant_id, status__in=admitted_statuses,
        admission_date__lt=e.admission_date).exists()]
    ended = [e for e in mine if e.status in ("completed", "discharged")
             and e.discharge_date and scope.date_from <= e.discharge_date <= scope.date_to]
    days = [(e.discharge_date - e.admission_date).days + 1 for e in ended]
    hours = []
    for e in ended:
        minutes = 0
        for row in Attendance.objects.filter(enrollment=e).select_related(
                "session__session_type"):
            session = row.session
            if (row.status in ("present", "late", "left_early") and session.status == "scheduled"
                    and session.session_type.counts_toward_hours
                    and e.admission_date <= session.local_date <= e.discharge_date):
                length = (session.ends_at - session.starts_at).total_seconds() / 60
                minutes += row.minutes_attended if row.minutes_attended is not None else length
        hours.append(minutes / 60)
    reasons: dict = {}
    for e in ended:
        reasons[e.discharge_reason] = reasons.get(e.discharge_reason, 0) + 1
    plans: dict = {}
    for plan in ContinuingCarePlan.objects.filter(enrollment__in=ended):
        plans[plan.step_down_level] = plans.get(plan.step_down_level, 0) + 1
    return {
        "admissions": len(admitted), "readmissions": len(readmitted), "discharged": len(ended),
        "completed": sum(e.status == "completed" for e in ended),
        "days": (_round(statistics.fmean(days)) if days else None,
                 _round(statistics.median(days)) if days else None),
        "hours": (_round(statistics.fmean(hours)) if hours else None,
                  _round(statistics.median(hours)) if hours else None),
        "reasons": reasons, "plans": plans,
    }


def test_it_equals_the_definitions_computed_afresh():
    rng = random.Random(12)
    with time_machine.travel(NOW, tick=False):
        w = build_report_world()
        counting = factories.SessionTypeFactory(name="Group", service_code="H0015")
        workshop = factories.SessionTypeFactory(name="Open house", counts_toward_hours=False)
        tracks = [w.t1, factories.TrackFactory(site=w.site, program=w.program, name="T2",
                                               start_date=dt.date(2025, 11, 3))]
        sessions = []
        for offset in range(0, 120, 3):
            day = dt.date(2025, 11, 3) + dt.timedelta(days=offset)
            start = dt.datetime.combine(day, dt.time(18), tzinfo=NY)
            cancelled = rng.random() < 0.2
            sessions.append(factories.TherapySessionFactory(
                track=rng.choice(tracks), site=w.site, starts_at=start,
                ends_at=start + dt.timedelta(minutes=rng.choice([60, 90, 180])),
                session_type=rng.choice([counting, counting, workshop]),
                status="cancelled" if cancelled else "scheduled",
                cancel_reason="Snow" if cancelled else ""))
        for n in range(25):
            person = factories.ParticipantFactory(home_site=w.site)
            admitted = dt.date(2025, 11, 3) + dt.timedelta(days=rng.randrange(90))
            status = rng.choice(["active", "completed", "discharged", "discharged"])
            ended = status in ("completed", "discharged")
            discharged = admitted + dt.timedelta(days=rng.randrange(0, 60)) if ended else None
            enrollment = factories.EnrollmentFactory(
                participant=person, track=rng.choice(tracks), admission_date=admitted,
                status=status, discharge_date=discharged,
                discharge_reason=(("completed" if status == "completed" else
                                   rng.choice(["transferred", "against_advice", "administrative"]))
                                  if ended else ""))
            if ended and rng.random() < 0.6:
                factories.ContinuingCarePlanFactory(enrollment=enrollment,
                                                    step_down_level=rng.choice(["1", "2.1", ""]))
            if n % 5 == 0:  # a second, earlier stay: a readmission
                factories.EnrollmentFactory(participant=person, track=tracks[1],
                                            admission_date=admitted - dt.timedelta(days=200),
                                            status="completed",
                                            discharge_date=admitted - dt.timedelta(days=120),
                                            discharge_reason="completed")
            for session in rng.sample(sessions, 12):
                status = rng.choice(["present", "late", "left_early", "absent", "excused",
                                     "expected"])
                attended = status in ("present", "late", "left_early")
                Attendance.objects.create(
                    session=session, participant=person, enrollment=enrollment, status=status,
                    minutes_attended=rng.choice([None, 45, 120]) if attended else None)
        for scope in (w.scope(date_from=dt.date(2025, 11, 1), date_to=TODAY),
                      w.scope(date_from=dt.date(2026, 1, 1), date_to=TODAY),
                      w.scope(date_from=dt.date(2025, 12, 1), date_to=dt.date(2026, 1, 31))):
            report = reports.outcomes_report(scope=scope)
            expected = _afresh(scope)
            assert expected["discharged"] > 3 and expected["readmissions"] > 0
            assert (report.admissions, report.readmissions, report.discharged,
                    report.completed) == (expected["admissions"], expected["readmissions"],
                                          expected["discharged"], expected["completed"])
            assert (report.stay_days_mean, report.stay_days_median) == expected["days"]
            assert (report.stay_hours_mean, report.stay_hours_median) == expected["hours"]
            assert {r.key: r.count for r in report.discharges if r.count} == expected["reasons"]
            assert {r.key: r.count for r in report.step_down if r.count} == expected["plans"]
