"""Report pages and exports at clinic size, as figures (not a test).

    DATABASE_URL=postgres://... python bench/reports.py

Builds an invented clinic in a scratch database `<DATABASE_URL name>_reports_bench` with bulk
inserts: 2 sites, 20 rolling tracks (Mon/Wed/Thu 6-9 pm, H0015), 2,000 active participants
admitted over the last 12 weeks and 3,400 earlier enrollments of the past year (completed,
discharged for other reasons, some readmitted), every one expected at their track's sessions
in their window and marked present / late / absent / excused at random, a few closures and
cancelled sessions, and an individual session (90832) a fortnight for the active ones:
about 150,000 attendance rows. Then, signed in as a director of both sites, it asks each report
page over the last 12 weeks and over a year (median of 5 after one warm-up) and counts queries,
and times CSV and XLSX exports of a year. The scratch database is dropped afterwards, unless
BENCH_KEEP=1, which keeps it (and reuses a kept one instead of building it again).
"""
import datetime as dt
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import admin_sql, scratch_database  # noqa: E402

ACTIVE = 2000
PAST = 3400
TRACKS = 20
WEEKDAYS = (0, 2, 3)
REPORTS = ("census", "attendance", "outcomes", "access", "billing", "staff_load")






def build_clinic(today: dt.date):  # noqa: PLR0915 - one straight recipe
    """Bulk-insert the clinic; returns the director."""
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from accounts.models import User
    from accounts.roles import Role
    from participants.models import ContinuingCarePlan, Enrollment, Participant
    from programs.models import Closure, Program, SessionType, Site, Track
    from sessions.models import Attendance, TherapySession

    rng = random.Random(15)
    start = today - dt.timedelta(weeks=52)
    start -= dt.timedelta(days=start.weekday())
    sites = [Site.objects.create(name=f"Bench site {i}", public_alias=f"Elm Health Center {i}",
                                 time_zone="America/New_York", phone=f"+1555555010{i}")
             for i in range(2)]
    director = User.objects.create_user("bench-director", password="bench-password-1")
    director.groups.add(Group.objects.get(name=Role.DIRECTOR.label))
    clinicians = [User.objects.create_user(f"bench-clinician-{i}", first_name="Clin",
                                           last_name=f"Ician {i}") for i in range(TRACKS)]
    clinician_group = Group.objects.get(name=Role.CLINICIAN.label)
    for user in clinicians:
        user.groups.add(clinician_group)
    for site in sites:
        site.staff.add(director, *clinicians)
    program = Program.objects.create(name="Bench adult IOP", min_weekly_hours=9)
    group = SessionType.objects.create(name="Bench group", kind="group",
                                       default_duration_minutes=180, service_code="H0015")
    individual = SessionType.objects.create(name="Bench individual", kind="individual",
                                            default_duration_minutes=60, service_code="90832")
    tracks = [Track.objects.create(program=program, site=sites[i % 2], name=f"Evening {i}",
                                   mode="rolling", start_date=start, capacity=110,
                                   lead_clinician=clinicians[i]) for i in range(TRACKS)]
    closures = {start + dt.timedelta(weeks=w, days=rng.choice(WEEKDAYS)) for w in (5, 20, 33, 47)}
    Closure.objects.bulk_create([Closure(site=site, date=day) for site in sites for day in closures])

    zone = sites[0].zone
    sessions = []
    day = start
    while day <= today + dt.timedelta(days=6):
        if day.weekday() in WEEKDAYS:
            starts = dt.datetime.combine(day, dt.time(18), tzinfo=zone)
            for index, track in enumerate(tracks):
                cancelled = day in closures or rng.random() < 0.01
                sessions.append(TherapySession(
                    session_type=group, kind="group", site=track.site, track=track,
                    title="Group", starts_at=starts, ends_at=starts + dt.timedelta(hours=3),
                    local_date=day, facilitator=clinicians[index],
                    status="cancelled" if cancelled else "scheduled",
                    cancel_reason="Closed" if cancelled else ""))
        day += dt.timedelta(days=1)
    TherapySession.objects.bulk_create(sessions, batch_size=5000)
    by_track: dict[int, list] = {}
    for session in sessions:
        by_track.setdefault(session.track_id, []).append(session)

    people = [Participant(record_number=f"B{n:06d}", first_name=f"First{n}", last_name=f"Last{n}",
                          home_site=tracks[n % TRACKS].site,
                          primary_clinician=clinicians[n % TRACKS])
              for n in range(ACTIVE + PAST)]
    Participant.objects.bulk_create(people, batch_size=5000)
    now = timezone.now()
    enrollments = []
    for n, person in enumerate(people):
        track = tracks[n % TRACKS]
        if n < ACTIVE:
            admitted = today - dt.timedelta(days=rng.randrange(0, 84))
            enrollment = Enrollment(participant=person, track=track, status="active",
                                    admission_date=admitted,
                                    planned_end_date=admitted + dt.timedelta(weeks=12, days=-1))
        else:
            admitted = start + dt.timedelta(days=rng.randrange(0, 280))
            completed = rng.random() < 0.6
            end = admitted + dt.timedelta(days=83 if completed else rng.randrange(7, 70))
            reason = "completed" if completed else rng.choice(
                ["against_advice", "transferred", "administrative", "non_attendance"])
            enrollment = Enrollment(participant=person, track=track,
                                    status="completed" if completed else "discharged",
                                    admission_date=admitted,
                                    planned_end_date=admitted + dt.timedelta(weeks=12, days=-1),
                                    discharge_date=min(end, today), discharge_reason=reason)
        enrollment.waitlisted_at = now if rng.random() < 0.2 else None
        enrollments.append(enrollment)
    Enrollment.objects.bulk_create(enrollments, batch_size=5000)
    Enrollment.objects.filter(pk__in=[e.pk for e in enrollments]).update(
        created_at=now - dt.timedelta(days=100))
    ContinuingCarePlan.objects.bulk_create([
        ContinuingCarePlan(enrollment=e, step_down_level=rng.choice(["1", "", "2.1"]))
        for e in enrollments if e.status == "completed"], batch_size=5000)

    statuses = ["present"] * 14 + ["late", "left_early", "absent", "excused"]
    rows = []
    personal = []
    for enrollment in enrollments:
        end = enrollment.discharge_date or enrollment.planned_end_date
        for session in by_track[enrollment.track.pk]:
            if not enrollment.admission_date <= session.local_date <= end:
                continue
            if session.status == "cancelled":
                status = "cancelled"
            elif session.local_date > today:
                status = "expected"
            else:
                status = rng.choice(statuses)
            minutes = (180 if status == "present" else 150) if status in (
                "present", "late", "left_early") else None
            rows.append(Attendance(session=session, participant_id=enrollment.participant_id,
                                   enrollment=enrollment, status=status, minutes_attended=minutes))
        if enrollment.status == "active":
            day = enrollment.admission_date + dt.timedelta(days=1)
            while day < today:
                starts = dt.datetime.combine(day, dt.time(10), tzinfo=zone)
                personal.append((TherapySession(
                    session_type=individual, kind="individual", site=enrollment.track.site,
                    participant_id=enrollment.participant_id, starts_at=starts,
                    ends_at=starts + dt.timedelta(hours=1), local_date=day,
                    facilitator_id=enrollment.participant.primary_clinician_id), enrollment))
                day += dt.timedelta(days=14)
    TherapySession.objects.bulk_create([s for s, _e in personal], batch_size=5000)
    rows += [Attendance(session=s, participant_id=e.participant_id, enrollment=e,
                        status=rng.choice(statuses[:15] + ["absent"]), minutes_attended=None)
             for s, e in personal]
    Attendance.objects.bulk_create(rows, batch_size=10000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return director, len(rows), len(sessions) + len(personal)


def timed(call, repeat: int = 5):
    call()  # warm-up
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    name, url = scratch_database(suffix="reports_bench", script="bench/reports.py")
    keep = os.environ.get("BENCH_KEEP") == "1"
    reuse = keep and database_exists(name)
    if not reuse:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin_sql(f'CREATE DATABASE "{name}"')
    try:
        os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "iop_clinic.settings.test",
                           "LOG_LEVEL": "WARNING"})
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from django.urls import reverse
        from django.utils import timezone

        from reports import exports
        from reports.selectors import ReportScope
        from tests.security.helpers import force_login_verified

        call_command("migrate", verbosity=0)
        today = timezone.localdate()
        if reuse:
            from accounts.models import User
            from sessions.models import Attendance, TherapySession

            director = User.objects.get(username="bench-director")
            print(f"clinic (kept): {TherapySession.objects.count()} sessions, "
                  f"{Attendance.objects.count()} attendance rows")
        else:
            began = time.perf_counter()
            director, attendance, session_count = build_clinic(today)
            print(f"clinic: {ACTIVE} active + {PAST} earlier enrollments, {session_count} "
                  f"sessions, {attendance} attendance rows, built in "
                  f"{time.perf_counter() - began:.1f} s")
        client = Client()
        force_login_verified(client, director)
        year_ago = today - dt.timedelta(days=364)
        print(f"{'page':<28}{'12 weeks':>10}{'queries':>9}{'a year':>10}{'queries':>9}")
        for report in REPORTS:
            url_ = reverse(f"report_{report}")
            figures = []
            for params in ({}, {"date_from": year_ago.isoformat()}):
                seconds = timed(lambda url_=url_, params=params: client.get(url_, params))
                with CaptureQueriesContext(connection) as queries:
                    assert client.get(url_, params).status_code == 200
                figures += [f"{seconds * 1000:.0f} ms", str(len(queries))]
            print(f"{report:<28}{figures[0]:>10}{figures[1]:>9}{figures[2]:>10}{figures[3]:>9}")

        site_ids = tuple(director.sites.values_list("pk", flat=True))
        scope = ReportScope(site_ids=site_ids, date_from=year_ago, date_to=today, today=today)
        print(f"{'export of a year':<28}{'csv':>10}{'xlsx':>10}{'rows':>9}")
        for report in ("billing", "attendance", "participants", "census"):
            figures, rows = [], 0
            for file_format in exports.FORMATS:
                out = io.BytesIO()
                began = time.perf_counter()
                rows = exports.export_write(report=report, scope=scope, file_format=file_format,
                                            out=out)
                figures.append(f"{time.perf_counter() - began:.2f} s")
            print(f"{report:<28}{figures[0]:>10}{figures[1]:>10}{rows:>9}")
        connection.close()
    finally:
        if not keep:
            admin_sql(f'DROP DATABASE IF EXISTS "{name}"')


def database_exists(name: str) -> bool:
    import psycopg2

    parsed = urlparse(os.environ["DATABASE_URL"])
    connection = psycopg2.connect(dbname="postgres", user=parsed.username or "postgres",
                                  host=parsed.hostname or "127.0.0.1", port=parsed.port or 5432)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        found = cursor.fetchone() is not None
    connection.close()
    return found


if __name__ == "__main__":
    main()
