"""The billing report against a fresh Python count of the attendance rows, on varied data.

Billing figures are money: whatever the SQL does to be fast, every line and every weekly total
must equal what one would count by hand from the rows (here in exact fractions). The clinic is
invented and seeded: several codes with day and session rules, sessions of odd lengths (60 min
50 s, 95 min 20 s) and several a day, every attendance status, minutes recorded or not, cancelled
sessions, personal sessions that count for their enrollment's track, another site, a range that
starts mid-week and a today before its end.
"""
import datetime as dt
import random
import zoneinfo
from collections import defaultdict
from fractions import Fraction
from math import floor

import pytest
from django.db import connection

from accounts.roles import Role
from programs.models import SessionKind
from reports import selectors as reports
from sessions.models import Attendance, AttendanceStatus
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NY = zoneinfo.ZoneInfo("America/New_York")
RULES = {"H0015": {"unit": "day", "min_minutes": 180}, "H2019": {"unit": "day", "min_minutes": 60},
         "90853": {"unit": "session", "min_minutes": 0}}
LENGTHS = [dt.timedelta(minutes=60), dt.timedelta(minutes=50), dt.timedelta(minutes=60, seconds=50),
           dt.timedelta(minutes=95, seconds=20), dt.timedelta(minutes=45),
           dt.timedelta(minutes=180)]
STATUSES = [AttendanceStatus.PRESENT] * 5 + [AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY,
                                             AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED,
                                             AttendanceStatus.EXPECTED, AttendanceStatus.CANCELLED]
FROM = dt.date(2026, 2, 4)  # a Wednesday: the first week is partial
TODAY = dt.date(2026, 2, 23)  # a Monday: the sessions of the 24th and 25th are not held yet
TO = dt.date(2026, 2, 25)


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=NY).astimezone(dt.UTC)


@pytest.fixture
def clinic(settings):
    settings.REPORT_BILLING_RULES = RULES
    rng = random.Random(12)
    site = factories.SiteFactory(time_zone="America/New_York")
    other_site = factories.SiteFactory(time_zone="America/New_York")
    kim = factories.StaffFactory(role=Role.CLINICIAN, sites=[site])
    lee = factories.StaffFactory(role=Role.CLINICIAN, sites=[site])
    p1, p2 = factories.ProgramFactory(), factories.ProgramFactory()
    tracks = [factories.TrackFactory(site=site, program=p1, start_date=dt.date(2026, 2, 2)),
              factories.TrackFactory(site=site, program=p2, start_date=dt.date(2026, 2, 2)),
              factories.TrackFactory(site=other_site, program=p1, start_date=dt.date(2026, 2, 2))]
    types = [factories.SessionTypeFactory(service_code=code)
             for code in ("H0015", "H2019", "90853", "")]
    individual = factories.SessionTypeFactory(kind=SessionKind.INDIVIDUAL, service_code="90832")
    last_names = ["Adams", "Brown", "Adams", "Clark", "Diaz", "Evans", "Brown"]
    enrollments = defaultdict(list)
    for track in tracks:
        for index in range(7 if track.site == site else 2):
            participant = factories.ParticipantFactory(
                home_site=track.site, last_name=last_names[index],
                first_name=f"P{track.pk}x{index}", primary_clinician=rng.choice([kim, lee, None]))
            enrollments[track].append(factories.EnrollmentFactory(participant=participant,
                                                                  track=track))
    rows = []
    day = dt.date(2026, 2, 2)
    while day <= dt.date(2026, 2, 27):
        for track in tracks:
            if day.weekday() >= 5:
                continue
            for hour in rng.sample(range(8, 20, 2), rng.randint(1, 3)):
                starts = _at(day, hour)
                cancelled = rng.random() < 0.1
                session = factories.TherapySessionFactory(
                    track=track, site=track.site, session_type=rng.choice(types),
                    starts_at=starts, ends_at=starts + rng.choice(LENGTHS),
                    status="cancelled" if cancelled else "scheduled",
                    cancel_reason="Facilitator ill" if cancelled else "")
                rows += [(session, e) for e in enrollments[track] if rng.random() < 0.85]
            if rng.random() < 0.5:  # a personal session: it counts for the enrollment's track
                enrollment = rng.choice(enrollments[track])
                starts = _at(day, 7)
                session = factories.TherapySessionFactory(
                    track=None, site=track.site, session_type=rng.choice([individual, types[0]]),
                    kind=SessionKind.INDIVIDUAL, participant=enrollment.participant,
                    starts_at=starts, ends_at=starts + rng.choice(LENGTHS))
                rows.append((session, enrollment))
        day += dt.timedelta(days=1)
    attendance = []
    for session, enrollment in rows:
        status = rng.choice(STATUSES)
        minutes = None
        if status in AttendanceStatus.attended() and rng.random() < 0.5:
            minutes = rng.randint(0, 200)
        attendance.append(Attendance(session=session, participant=enrollment.participant,
                                     enrollment=enrollment, status=status,
                                     minutes_attended=minutes))
    Attendance.objects.bulk_create(attendance)
    return {"site": site, "kim": kim, "tracks": tracks, "p2": p2}


def _scope(clinic, **kwargs):
    values = {"site_ids": (clinic["site"].pk,), "date_from": FROM, "date_to": TO,
              "today": TODAY} | kwargs
    return reports.ReportScope(**values)


def _counted_by_hand(scope, rules=RULES):
    """(week, last name, first name, participant id, code) -> the line, from the rows."""
    days = defaultdict(lambda: [0, Fraction(0)])  # (participant, date, code) -> sessions, minutes
    rows = Attendance.objects.select_related("session__session_type", "session__track",
                                             "enrollment__track", "participant")
    for row in rows:
        session = row.session
        code = session.session_type.service_code
        track = session.track or row.enrollment.track
        if (row.status not in AttendanceStatus.attended() or not code
                or session.status != "scheduled" or session.site_id not in scope.site_ids
                or not scope.date_from <= session.local_date <= scope.held_until
                or (scope.track_id and track.pk != scope.track_id)
                or (scope.program_id and track.program_id != scope.program_id)
                or (scope.clinician_id
                    and row.participant.primary_clinician_id != scope.clinician_id)):
            continue
        length = (session.ends_at - session.starts_at) // dt.timedelta(microseconds=1)
        minutes = (Fraction(row.minutes_attended) if row.minutes_attended is not None
                   else Fraction(length, 60_000_000))
        day = days[(row.participant, session.local_date, code)]
        day[0] += 1
        day[1] += minutes
    lines = defaultdict(lambda: {"sessions": 0, "days": 0, "minutes": Fraction(0), "units": 0})
    for (participant, local_date, code), (sessions, minutes) in days.items():
        week = local_date - dt.timedelta(days=local_date.weekday())
        rule = rules.get(code, {"unit": "session"})
        line = lines[(week, participant.last_name, participant.first_name, participant.pk, code,
                      participant)]
        line["sessions"] += sessions
        line["days"] += 1
        line["minutes"] += minutes
        if rule["unit"] == "day":
            line["units"] += int(minutes > 0 and minutes >= rule["min_minutes"])
        else:
            line["units"] += sessions
    return [(key[5].record_number, key[0], key[4], rules.get(key[4], {}).get("unit", "session"),
             line["sessions"], line["days"], floor(line["minutes"] + Fraction(1, 2)),
             line["units"])
            for key, line in sorted(lines.items(), key=lambda item: item[0][:5])]


def _as_tuple(line: reports.BillingLine):
    return (line.record_number, line.week_start, line.service_code, line.unit, line.sessions,
            line.days, line.minutes, line.units)


@pytest.mark.parametrize("filters", ["none", "track", "program", "clinician", "last week"])
def test_it_bills_every_line_and_total_as_counted_by_hand(clinic, filters):
    scope = _scope(clinic, **{
        "none": {}, "track": {"track_id": clinic["tracks"][0].pk},
        "program": {"program_id": clinic["p2"].pk}, "clinician": {"clinician_id": clinic["kim"].pk},
        "last week": {"date_from": dt.date(2026, 2, 23)}}[filters])
    expected = _counted_by_hand(scope)
    assert len(expected) > 3 and {line[2] for line in expected} >= (
        {"90832"} if filters == "last week" else {"H0015", "H2019", "90853", "90832"})

    with connection.cursor() as cursor:
        cursor.execute(*reports.billing_lines_sql(scope))
        lines = [_as_tuple(reports.billing_line(row)) for row in cursor.fetchall()]
    assert lines == expected

    report = reports.billing_report(scope=scope)
    totals = defaultdict(lambda: [set(), 0, 0, 0, 0])
    for record, week, code, _unit, sessions, days, minutes, units in expected:
        total = totals[(week, code)]
        total[0].add(record)
        for index, value in enumerate((sessions, days, minutes, units), start=1):
            total[index] += value
    assert [(s.week_start, s.service_code, s.participants, s.sessions, s.days, s.minutes, s.units)
            for s in report.summary] == [
        (week, code, len(total[0]), *total[1:]) for (week, code), total in sorted(totals.items())]
    last_monday = TO - dt.timedelta(days=TO.weekday())
    assert [_as_tuple(line) for line in report.lines] == [
        line for line in expected if line[1] == last_monday]
    assert report.line_count == len(report.lines)


def test_it_rounds_minutes_from_exact_sums(clinic):
    """Three sessions of 60 min 50 s make 182.5 minutes, billed as 183: summed as 16-digit
    decimals (60.8333333333333333 each) they made 182.4999999999999999, billed as 182."""
    site = clinic["site"]
    participant = factories.ParticipantFactory(home_site=site, last_name="Zed")
    day = dt.date(2026, 2, 20)
    for hour in (7, 9, 11):
        session = factories.TherapySessionFactory(
            track=None, site=site, session_type=factories.SessionTypeFactory(
                kind=SessionKind.INDIVIDUAL, service_code="H0015"),
            kind=SessionKind.INDIVIDUAL, participant=participant, starts_at=_at(day, hour),
            ends_at=_at(day, hour) + dt.timedelta(minutes=60, seconds=50))
        factories.AttendanceFactory(session=session, participant=participant, status="present")

    scope = _scope(clinic, date_from=dt.date(2026, 2, 16), date_to=day, today=day)
    with connection.cursor() as cursor:
        cursor.execute(*reports.billing_lines_sql(scope))
        lines = [reports.billing_line(row) for row in cursor.fetchall()]
    (zed,) = [line for line in lines if line.participant.startswith("Zed,")]
    assert (zed.sessions, zed.days, zed.minutes, zed.units) == (3, 1, 183, 1)


def test_it_bills_every_code_per_session_when_the_clinic_sets_no_rules(clinic, settings):
    settings.REPORT_BILLING_RULES = {}
    scope = _scope(clinic)
    expected = _counted_by_hand(scope, rules={})

    with connection.cursor() as cursor:
        cursor.execute(*reports.billing_lines_sql(scope))
        lines = [_as_tuple(reports.billing_line(row)) for row in cursor.fetchall()]
    assert lines == expected
    assert all(unit == "session" and units == sessions
               for _r, _w, _c, unit, sessions, _d, _m, units in lines)


def test_a_per_diem_code_without_a_minimum_bills_only_days_with_minutes(clinic, settings):
    """A day rule of no minimum still needs some minutes: a day attended for 0 minutes (as
    recorded) is a day of the code but no unit, on the lines, the summary and the live count."""
    settings.REPORT_BILLING_RULES = RULES | {"H0015": {"unit": "day", "min_minutes": 0}}
    site = clinic["site"]
    participant = factories.ParticipantFactory(home_site=site, last_name="Yoo")
    code = factories.SessionTypeFactory(kind=SessionKind.INDIVIDUAL, service_code="H0015")
    days = [dt.date(2026, 2, 16), dt.date(2026, 2, 17)]
    for day, minutes in zip(days, (0, 1), strict=True):
        session = factories.TherapySessionFactory(
            track=None, site=site, session_type=code, kind=SessionKind.INDIVIDUAL,
            participant=participant, starts_at=_at(day, 9), ends_at=_at(day, 10))
        factories.AttendanceFactory(session=session, participant=participant, status="present",
                                    minutes_attended=minutes)

    scope = _scope(clinic, date_from=days[0], date_to=days[1], today=days[1])
    for live in (False, True):
        report = reports.billing_report(scope=scope, live=live)
        (yoo,) = [line for line in report.lines if line.participant.startswith("Yoo,")]
        assert (yoo.unit, yoo.sessions, yoo.days, yoo.minutes, yoo.units) == ("day", 2, 2, 1, 1)
        (h0015,) = [s for s in report.summary if s.service_code == "H0015"]
        others = [line for line in report.lines
                  if line.service_code == "H0015" and line is not yoo]
        assert h0015.units == 1 + sum(line.units for line in others)
        assert h0015.participants == 1 + len(others)


def test_a_per_diem_day_at_two_sites_meets_its_minimum_with_both(clinic):
    """100 minutes at each of two sites on one day is one day of 200 minutes: one unit of a
    180-minute per-diem code, in the line and in the week's summary (each site's row alone would
    fall short)."""
    sites = (clinic["site"].pk, clinic["tracks"][2].site_id)
    participant = factories.ParticipantFactory(home_site=clinic["site"], last_name="Xu")
    day = dt.date(2026, 2, 20)
    for site_id, hour in zip(sites, (9, 13), strict=True):
        session = factories.TherapySessionFactory(
            track=None, site_id=site_id, session_type=factories.SessionTypeFactory(
                kind=SessionKind.INDIVIDUAL, service_code="H0015"),
            kind=SessionKind.INDIVIDUAL, participant=participant, starts_at=_at(day, hour),
            ends_at=_at(day, hour) + dt.timedelta(minutes=100))
        factories.AttendanceFactory(session=session, participant=participant, status="present")

    scope = _scope(clinic, site_ids=sites, date_from=dt.date(2026, 2, 16), date_to=day, today=day)
    report, live = (reports.billing_report(scope=scope, live=flag) for flag in (False, True))
    (xu,) = [line for line in report.lines if line.participant.startswith("Xu,")]
    assert (xu.sessions, xu.days, xu.minutes, xu.units) == (2, 1, 200, 1)
    (h0015,) = [s for s in report.summary if s.service_code == "H0015"]
    assert h0015.units == sum(line.units for line in report.lines if line.service_code == "H0015")
    assert report.summary == live.summary
