"""Reminder throughput, as a figure (not a test).

    DATABASE_URL=postgres://... python bench/reminders.py

Builds an invented clinic (2,000 active participants in 20 evening tracks, 12 weeks of
Mon/Wed/Thu sessions) in a scratch database `<DATABASE_URL name>_bench`, times the planner over
it, then makes 10,000 planned reminders due and times their delivery through a real Celery
worker (prefork, concurrency 2) and a private redis-server, with SMS written by the FileBackend
and email kept by Django's in-memory backend. For scale it then times 10,000 empty tasks
(celery.accumulate) on the same worker. The scratch database is dropped afterwards.
"""
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import admin_sql, scratch_database  # noqa: E402

PARTICIPANTS = 2000
TRACKS = 20
WEEKS = 12
DELIVER = 10_000






def main() -> None:
    from tests.reminders.processes import PrivateRedis, daytime_zone, wait_for

    name, url = scratch_database(suffix="bench", script="bench/reminders.py")
    workdir = Path(tempfile.mkdtemp(prefix="iop-bench-"))
    redis_server = PrivateRedis(workdir)
    admin_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin_sql(f'CREATE DATABASE "{name}"')
    worker = None
    try:
        redis_server.start()
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_server.url,
               "DJANGO_SETTINGS_MODULE": "iop_clinic.settings.test",
               "TEST_SMS_BACKEND": "reminders.channels.sms.FileBackend",
               "SMS_FILE_PATH": str(workdir / "sms"), "LOG_LEVEL": "WARNING",
               "PYTHONPATH": str(ROOT)}
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        zone = daytime_zone()
        build_clinic(zone)

        from django.utils import timezone

        from reminders.models import Reminder
        from reminders.planner import reminders_plan

        started = time.perf_counter()
        result = reminders_plan()
        plan_seconds = time.perf_counter() - started
        planned = Reminder.objects.count()
        print(f"planned   {planned:>7} reminders for {result.participants} participants "
              f"in {plan_seconds:6.2f}s = {planned / plan_seconds:8.0f} reminders/s")
        started = time.perf_counter()
        again = reminders_plan()
        replan_seconds = time.perf_counter() - started
        print(f"re-plan   (nothing to change, created={again.created}) in {replan_seconds:6.2f}s")

        now = timezone.now()
        due_ids = list(Reminder.objects.filter(send_before__gt=now + dt.timedelta(hours=1))
                       .order_by("send_before", "pk").values_list("pk", flat=True)[:DELIVER])
        Reminder.objects.filter(pk__in=due_ids).update(due_at=now - dt.timedelta(minutes=1))

        log = open(workdir / "worker.log", "wb")
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "iop_clinic", "worker",
             "--pool=prefork", "--concurrency=2", "--loglevel=WARNING", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        from celery import current_app

        wait_for(lambda: current_app.control.ping(timeout=0.5), timeout=60, what="the worker")

        from reminders.sweeper import reminders_sweep

        done = ["sent", "skipped", "failed", "expired"]
        started = time.perf_counter()
        while Reminder.objects.filter(pk__in=due_ids).exclude(status__in=done).exists():
            if not reminders_sweep(batch_size=50).claimed:
                time.sleep(0.05)
        deliver_seconds = time.perf_counter() - started
        sent = Reminder.objects.filter(pk__in=due_ids, status="sent").count()
        print(f"delivered {sent:>7} of {len(due_ids)} due reminders "
              f"in {deliver_seconds:6.2f}s = {len(due_ids) / deliver_seconds:8.0f} reminders/s "
              f"(sweeps in this process, batches of 50)")

        client = redis_server.client()
        started = time.perf_counter()
        with current_app.producer_or_acquire() as producer:
            for _ in range(DELIVER):
                current_app.send_task("celery.accumulate", producer=producer)
        wait_for(lambda: client.llen("celery") == 0 and client.hlen("unacked") == 0,
                 timeout=600, what="the empty tasks", interval=0.05)
        empty_seconds = time.perf_counter() - started
        print(f"empty     {DELIVER:>7} celery tasks on the same worker "
              f"in {empty_seconds:6.2f}s = {DELIVER / empty_seconds:8.0f} tasks/s")
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, 9)
            worker.wait()
        redis_server.kill()
        from django.db import connections

        connections.close_all()
        admin_sql(f'DROP DATABASE IF EXISTS "{name}"')
        shutil.rmtree(workdir, ignore_errors=True)


def build_clinic(zone: str) -> None:
    """2,000 participants in 20 tracks of Mon/Wed/Thu 6 pm sessions for 12 weeks, bulk-inserted."""
    from django.utils import timezone

    from participants.models import ContactConsent, Enrollment, Participant
    from programs.models import Program, SessionType, Site, Track, WeeklySlot
    from sessions.models import Attendance, TherapySession
    from sessions.services.expected import attendance_expect

    import zoneinfo

    tz = zoneinfo.ZoneInfo(zone)
    today = timezone.now().astimezone(tz).date()
    site = Site.objects.create(name="Bench site", public_alias="Maple Street Health Center",
                               time_zone=zone, phone="+15555550100", address="1 Elm Road")
    program = Program.objects.create(name="Bench program")
    kind = SessionType.objects.create(name="Bench type", kind="group",
                                      default_duration_minutes=180)
    sessions = []
    for t in range(TRACKS):
        track = Track.objects.create(program=program, site=site, name=f"Track {t}",
                                     start_date=today, capacity=200)
        for weekday in (0, 2, 3):
            slot = WeeklySlot.objects.create(track=track, weekday=weekday,
                                             start_time=dt.time(18), duration_minutes=180,
                                             session_type=kind)
            for week in range(WEEKS):
                day = today + dt.timedelta(days=(weekday - today.weekday()) % 7 + 7 * week)
                start = dt.datetime.combine(day, dt.time(18), tzinfo=tz)
                sessions.append(TherapySession(
                    session_type=kind, kind="group", site=site, track=track, weekly_slot=slot,
                    starts_at=start, ends_at=start + dt.timedelta(hours=3), local_date=day))
    TherapySession.objects.bulk_create(sessions, batch_size=1000)
    participants = Participant.objects.bulk_create([
        Participant(record_number=f"B{i:05d}", first_name=f"Bench{i}", last_name="Person",
                    email=f"bench{i}@mail.example.com", phone=f"+1555{i:07d}", home_site=site,
                    time_zone=zone, reminder_channels="both")
        for i in range(PARTICIPANTS)
    ], batch_size=1000)
    tracks = list(Track.objects.order_by("pk"))
    enrollments = Enrollment.objects.bulk_create([
        Enrollment(participant=p, track=tracks[i % TRACKS], status="active",
                   admission_date=today, planned_end_date=today + dt.timedelta(weeks=WEEKS))
        for i, p in enumerate(participants)
    ], batch_size=1000)
    ContactConsent.objects.bulk_create([
        ContactConsent(participant=p, channel="sms", given_at=timezone.now(), source="intake")
        for p in participants
    ], batch_size=1000)
    attendance_expect(enrollments=enrollments)
    print(f"clinic    {len(participants)} participants, {len(sessions)} sessions, "
          f"{Attendance.objects.count()} expected attendances (zone {zone})")


if __name__ == "__main__":
    main()
