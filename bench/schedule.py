"""Schedule generation and intake at clinic size, as figures (not a test).

    DATABASE_URL=postgres://... python bench/schedule.py

In a scratch database `<DATABASE_URL name>_sched` holding the 2,000-participant clinic of
bench/clinic.py, it times (wall clock and queries, median of three runs, each rolled back):
- `schedule_generate` of a new 12-week cohort track with 15 weekly slots (180 sessions);
- `participant_intake` into a rolling track with one seat left (enrolled: consent, enrollment, expected
  attendance for the rest of the track, audit rows, re-plan queued);
- `participant_intake` into a full track (waitlisted).
The scratch database is dropped afterwards.
"""
from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNS = 3


class Rollback(Exception):
    pass


def measure(label: str, action) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    times, counts = [], []
    for _ in range(RUNS):
        try:
            with transaction.atomic():
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    detail = action()
                    times.append((time.perf_counter() - started) * 1000)
                counts.append(len(captured.captured_queries))
                raise Rollback
        except Rollback:
            pass
    print(f"{label:<58} {statistics.median(times):8.1f} ms  {max(counts):4d} queries  {detail}")


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench/schedule.py needs DATABASE_URL=postgres://... (it creates <name>_sched)")
    from bench.scratch import admin_sql

    parsed = urlparse(url)
    name = parsed.path.lstrip("/") + "_sched"
    admin_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin_sql(f'CREATE DATABASE "{name}"')
    os.environ.update({"DATABASE_URL": parsed._replace(path="/" + name).geturl(),
                       "DJANGO_SETTINGS_MODULE": "iop_clinic.settings.test",
                       "LOG_LEVEL": "WARNING"})
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from bench.clinic import WEEKDAYS, build_clinic

        clinic = build_clinic(participants=2000, quiet=True)
        print(f"clinic of {clinic.participants} participants built in {clinic.seconds:.0f}s")

        from django.utils import timezone

        from participants.models import Enrollment
        from programs.models import SessionType, Track, WeeklySlot
        from sessions.services.intake import participant_intake
        from sessions.services.schedule import schedule_generate

        template = Track.objects.select_related("site", "program").get(pk=clinic.track_ids[0])
        today = timezone.now().astimezone(template.site.zone).date()
        start = today + dt.timedelta(days=7 - today.weekday())
        session_type = SessionType.objects.first()

        def generate():
            track = Track.objects.create(
                program=template.program, site=template.site, name="New evening track",
                mode="cohort", start_date=start, end_date=start + dt.timedelta(weeks=12, days=-1),
                capacity=12)
            WeeklySlot.objects.bulk_create([
                WeeklySlot(track=track, weekday=weekday, start_time=dt.time(17 + i, 0),
                           duration_minutes=50, session_type=session_type)
                for weekday in WEEKDAYS for i in range(3)])
            result = schedule_generate(track=track)
            return f"{result.created} sessions"

        measure("schedule_generate: 12 weeks x 15 weekly slots", generate)

        counter = iter(range(1_000_000))

        def intake(track):
            def run():
                n = next(counter)
                result = participant_intake(
                    record_number=f"N{n:07d}", first_name="Robin", last_name=f"Newcomer{n}",
                    home_site=track.site, track=track, admission_date=today,
                    email=f"newcomer{n}@mail.example.com", phone=f"+1666{n:07d}",
                    reminder_channels="both", consent_channels=["email", "sms"])
                rows = result.enrollment.attendances.count()
                return (f"{result.enrollment.status}, {rows} expected attendances"
                        if result.waitlist_position is None
                        else f"{result.enrollment.status} #{result.waitlist_position}")
            return run

        # Rolling admission, so the tracks take people now (the built ones are cohorts).
        Track.objects.filter(pk__in=clinic.track_ids[1:3]).update(mode="rolling")
        one_left = Track.objects.get(pk=clinic.track_ids[1])
        last = Enrollment.objects.filter(track=one_left).order_by("-pk").first()
        Enrollment.objects.filter(pk=last.pk).update(status="discharged", discharge_date=today,
                                                     discharge_reason="completed")
        measure(f"participant_intake into a track of {one_left.capacity - 1}/{one_left.capacity}",
                intake(one_left))
        full = Track.objects.get(pk=clinic.track_ids[2])
        measure(f"participant_intake into a full track ({full.capacity}/{full.capacity})",
                intake(full))
    finally:
        from django.db import connections

        connections.close_all()
        admin_sql(f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
