"""The census import at clinic size, as figures (not a test).

    DATABASE_URL=postgres://... python bench/import_census.py [--participants 2000]

In a scratch database `<DATABASE_URL name>_census` it builds an empty clinic (one site, one
director, 20 cohort tracks of 100 seats that started 6 weeks ago and meet Mon/Wed/Thu at 6 pm,
their sessions generated), writes an XLSX census with Faker (2,000 invented participants with
consents and an active enrollment each, or with `--discharged N` N past enrollments discharged
yesterday, and 3 past visits each), then times with query counts and the process's CPU time:
- the dry run (`census_check`: read, check, rehearse, roll back);
- the commit (`census_commit`: the same, kept, one transaction), on-commit work included.
The scratch database is dropped afterwards. Reminder re-plans queued by the commit go to the
broker of REDIS_URL (or the file broker) like any intake's; no worker runs here.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRACKS = 20
VISITS_EACH = 3


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def build_world():
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from accounts.models import User
    from accounts.roles import Role
    from programs.models import Program, SessionType, Site, Track, WeeklySlot
    from sessions.services.schedule import schedule_generate

    site = Site.objects.create(name="Bench site", public_alias="Bench Health Center",
                               time_zone="America/New_York", phone="+12015550100")
    director = User.objects.create_user(username="bench-director", first_name="Bench",
                                        last_name="Director")
    director.groups.add(Group.objects.get_or_create(name=Role.DIRECTOR.label)[0])
    site.staff.add(director)
    program = Program.objects.create(name="Adult IOP", level_of_care="2.1", population="adult",
                                     duration_weeks=12, min_weekly_hours=9)
    session_type = SessionType.objects.create(name="Process group", kind="group",
                                              default_duration_minutes=180, default_capacity=100,
                                              counts_toward_hours=True, service_code="H0015")
    today = timezone.localdate(timezone=site.zone)
    start = today - dt.timedelta(days=today.weekday(), weeks=6)
    tracks = []
    for n in range(TRACKS):
        track = Track.objects.create(program=program, site=site, name=f"Track {n + 1:02d}",
                                     mode="cohort", start_date=start,
                                     end_date=start + dt.timedelta(weeks=12, days=-1),
                                     capacity=100)
        for weekday in (0, 2, 3):
            WeeklySlot.objects.create(track=track, weekday=weekday, start_time=dt.time(18, 0),
                                      duration_minutes=180, session_type=session_type)
        schedule_generate(track=track)
        tracks.append(track)
    return director, tracks, start, today


def census_file(*, participants: int, tracks, start: dt.date, today: dt.date,
                discharged: int = 0) -> bytes:
    import tablib
    from faker import Faker

    from onboarding.columns import ATTENDANCE, COLUMNS, PARTICIPANTS

    fake = Faker("en_US")
    Faker.seed(19)
    people = tablib.Dataset(title=PARTICIPANTS)
    people.headers = [c.name for c in COLUMNS[PARTICIPANTS]]
    visits = tablib.Dataset(title=ATTENDANCE)
    visits.headers = [c.name for c in COLUMNS[ATTENDANCE]]
    meeting_days = [start + dt.timedelta(days=d) for d in range((today - start).days)
                    if (start + dt.timedelta(days=d)).weekday() in (0, 2, 3)]
    for n in range(participants):
        number = f"B{n:06d}"
        track = tracks[n % len(tracks)]
        ended = n < discharged  # past enrollments, discharged yesterday
        row = {"record_number": number, "first_name": fake.first_name(),
               "last_name": fake.last_name(),
               "date_of_birth": fake.date_of_birth(minimum_age=18, maximum_age=70).isoformat(),
               "email": f"bench{n}@mail.example.com",
               "mobile_phone": f"(201) 555-01{n % 100:02d}", "sms_consent": "yes",
               "email_consent": "yes", "language": "es" if n % 5 == 0 else "en",
               "track": track.name, "admission_date": start.isoformat(),
               "enrollment_status": "discharged" if ended else "active",
               "discharge_date": (today - dt.timedelta(days=1)).isoformat() if ended else "",
               "discharge_reason": "step down" if ended else ""}
        if n % 10 == 0:  # one in ten brings a family contact (never with consent: the chart)
            row.update(contact_name=fake.name(), contact_relationship="parent",
                       contact_phone=f"(201) 555-02{n % 100:02d}", contact_language="es")
        # By column name, so a column added to the import leaves this file valid (blank).
        people.append([row.get(name, "") for name in people.headers])
        for k in range(VISITS_EACH):
            day = meeting_days[(n + k * 5) % len(meeting_days)]
            status = ("present", "present", "late", "absent")[(n + k) % 4]
            visits.append([number, "", day.isoformat(), "18:00", status,
                           "120" if status == "late" else ""])
    return tablib.Databook([people, visits]).export("xlsx")


def timed(label: str, run):
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started, cpu = time.perf_counter(), time.process_time()
        result = run()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{label:<26} {seconds:6.1f} s wall {cpu:6.1f} s CPU (this process) "
          f"{counter.count:6d} queries  {result.error_count} errors, "
          f"committed={result.committed}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--discharged", type=int, default=0,
                        help="how many of them are past enrollments (imported one at a time)")
    options = parser.parse_args()
    from bench.scratch import admin_sql, scratch_database

    name, url = scratch_database(suffix="census", script="bench/import_census.py")
    admin_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin_sql(f'CREATE DATABASE "{name}"')
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "iop_clinic.settings.test",
                       "LOG_LEVEL": "WARNING"})
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        director, tracks, start, today = build_world()
        print(f"clinic of {len(tracks)} empty tracks built in {time.perf_counter() - started:.0f}s")
        started = time.perf_counter()
        content = census_file(participants=options.participants, tracks=tracks, start=start,
                              today=today, discharged=options.discharged)
        print(f"census of {options.participants} participants, "
              f"{options.participants * VISITS_EACH} visits written in "
              f"{time.perf_counter() - started:.1f}s ({len(content) // 1024} KiB XLSX)")

        from auditlog.context import set_actor

        from onboarding.services import census_check, census_commit
        from participants.models import Participant
        from sessions.models import Attendance

        with set_actor(director):
            timed("dry run (census_check)", lambda: census_check(
                content=content, file_name="census.xlsx", by=director))
            assert not Participant.objects.exists()
            timed("commit (census_commit)", lambda: census_commit(
                content=content, file_name="census.xlsx", by=director))
        print(f"after commit: {Participant.objects.count()} participants, "
              f"{Attendance.objects.exclude(status='expected').count()} marked visits")
    finally:
        from django.db import connections

        connections.close_all()
        admin_sql(f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
