"""Reminder throughput, as a figure (not a test).

    DATABASE_URL=postgres://... python bench/reminders.py

Builds an invented clinic (2,000 active participants in 20 evening tracks, 12 weeks of
Mon/Wed/Thu sessions) in a scratch database `<DATABASE_URL name>_bench`, times the planner over
it, then makes 10,000 planned reminders due and times their delivery through a real Celery
worker (prefork, concurrency 2, keeping its database connection as in production) and a
private redis-server, with SMS written by the FileBackend and email kept by Django's in-memory
backend. For scale it times 5,000 empty tasks
(celery.accumulate) on the same worker just before and just after the delivery, and prints
delivery as a share of their rate. The machine may be shared, so it also prints the CPU time
the worker (its pool processes and its PostgreSQL backends) spent per reminder and per empty
task, and, from one batch delivered in this process, the statements, commits and round trips
per reminder.
The scratch database is dropped afterwards.
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
EMPTY = 5_000
BATCH = 50
WORKER_DB_NAME = "bench-reminders-worker"  # its PostgreSQL backends, found by application_name






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
        # Pending rows only (the planner already skipped some, e.g. over the SMS caps), plus
        # any that were due anyway: exactly the rows the sweeps below will claim.
        due_ids = list(Reminder.objects.filter(status="pending",
                                               send_before__gt=now + dt.timedelta(hours=1))
                       .order_by("send_before", "pk").values_list("pk", flat=True)[:DELIVER])
        Reminder.objects.filter(pk__in=due_ids).update(due_at=now - dt.timedelta(minutes=1))
        due_ids = list(Reminder.objects.filter(status="pending", due_at__lte=timezone.now())
                       .values_list("pk", flat=True))

        log = open(workdir / "worker.log", "wb")
        # The worker keeps its database connection between tasks, as production's settings
        # do (DATABASE_CONN_MAX_AGE, 60 there, 0 in the test settings this bench runs with):
        # otherwise each batch opens a connection and warms a new backend's caches.
        worker_env = {**env, "DATABASE_URL": f"{url}?application_name={WORKER_DB_NAME}",
                      "DATABASE_CONN_MAX_AGE": "60"}
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "iop_clinic", "worker",
             "--pool=prefork", "--concurrency=2", "--loglevel=WARNING", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        from celery import current_app

        wait_for(lambda: current_app.control.ping(timeout=0.5), timeout=60, what="the worker")
        client = redis_server.client()
        before = empty_tasks(current_app, client, worker.pid, "before")

        from collections import Counter

        from reminders.sweeper import reminders_sweep

        cpu = worker_cpu_seconds(worker.pid)
        started = time.perf_counter()
        # Done when a sweep finds nothing due and no claim is open. Cheap, index-served checks:
        # this loop shares the machine with the worker it measures.
        while (reminders_sweep(batch_size=BATCH).claimed
               or Reminder.objects.filter(status__in=["claimed", "sending"]).exists()):
            time.sleep(0.05)
        deliver_seconds = time.perf_counter() - started
        deliver_cpu = (worker_cpu_seconds(worker.pid) - cpu) / len(due_ids)
        endings = Counter(f"{status}{':' if reason else ''}{reason}" for status, reason in
                          Reminder.objects.filter(pk__in=due_ids).values_list("status", "reason"))
        rate = len(due_ids) / deliver_seconds
        print(f"delivered {len(due_ids):>7} due reminders in {deliver_seconds:6.2f}s = "
              f"{rate:8.0f} reminders/s, worker CPU {deliver_cpu * 1000:5.2f} ms a reminder "
              f"(sweeps in this process, batches of {BATCH}; {dict(endings)})")
        after = empty_tasks(current_app, client, worker.pid, "after")
        empty_rate = (before[0] + after[0]) / 2
        empty_cpu = (before[1] + after[1]) / 2
        print(f"ratio     delivery {rate:.0f}/s is {rate / empty_rate:.0%} of the empty-task "
              f"rate {empty_rate:.0f}/s (mean of before and after); by worker CPU time a "
              f"reminder costs {deliver_cpu / empty_cpu:.1f} empty tasks "
              f"({empty_cpu / deliver_cpu:.0%})")
        os.killpg(worker.pid, 9)
        worker.wait()
        worker = None
        one_batch_in_process(due_ids)
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, 9)
            worker.wait()
        redis_server.kill()
        from django.db import connections

        connections.close_all()
        admin_sql(f'DROP DATABASE IF EXISTS "{name}"')
        shutil.rmtree(workdir, ignore_errors=True)


def empty_tasks(app, client, worker_pid: int, when: str) -> tuple[float, float]:
    """Rate of EMPTY empty tasks on the worker, and its CPU seconds per task."""
    cpu = worker_cpu_seconds(worker_pid)
    started = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for _ in range(EMPTY):
            app.send_task("celery.accumulate", producer=producer)
    from tests.reminders.processes import wait_for

    wait_for(lambda: client.llen("celery") == 0 and client.hlen("unacked") == 0,
             timeout=600, what="the empty tasks", interval=0.05)
    seconds = time.perf_counter() - started
    per_task = (worker_cpu_seconds(worker_pid) - cpu) / EMPTY
    print(f"empty     {EMPTY:>7} celery tasks on the same worker {when} delivery in "
          f"{seconds:6.2f}s = {EMPTY / seconds:8.0f} tasks/s, worker CPU "
          f"{per_task * 1000:5.2f} ms a task")
    return EMPTY / seconds, per_task


def worker_cpu_seconds(worker_pid: int) -> float:
    """User + system CPU time so far of the worker, its pool processes and the PostgreSQL
    backends it opened (all on this machine), from /proc."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                       [WORKER_DB_NAME])
        pids = {row[0] for row in cursor.fetchall()}
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        pid, parent = int(stat.parent.name), int(fields[1])
        if pid == worker_pid or parent == worker_pid or pid in pids:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def one_batch_in_process(due_ids: list[int]) -> None:
    """Deliver one batch of BATCH sent reminders again, in this process: CPU time, queries,
    commits and round trips to the database per reminder (a write outside a transaction
    commits on its own; a transaction Django manages also costs psycopg2's lone BEGIN and the
    COMMIT, which no execute wrapper sees)."""
    from django.db import connection
    from django.utils import timezone

    from reminders.delivery import reminders_deliver
    from reminders.models import Reminder

    ids = list(Reminder.objects.filter(pk__in=due_ids, status="sent").order_by("pk")
               .values_list("pk", flat=True)[:BATCH])
    Reminder.objects.filter(pk__in=ids).update(status="claimed", claimed_at=timezone.now())
    statements = []

    def count(execute, sql, params, many, context):
        statements.append((sql.lstrip().split(None, 1)[0].upper().rstrip(";"),
                           connection.in_atomic_block))
        return execute(sql, params, many, context)

    managed = 0
    original_commit = connection.commit

    def counting_commit():
        nonlocal managed
        managed += 1
        original_commit()

    connection.commit = counting_commit
    try:
        with connection.execute_wrapper(count):
            cpu, wall = time.process_time(), time.perf_counter()
            outcomes = reminders_deliver(reminder_ids=ids)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        del connection.commit
    # "BEGIN; <statement>" then "COMMIT": delivery's own transactions (reminders/delivery.py).
    commits = managed + sum(1 for verb, atomic in statements if not atomic and verb in (
        "UPDATE", "INSERT", "DELETE", "WITH", "COMMIT"))
    round_trips = len(statements) + 2 * managed
    verbs = {verb: sum(1 for v, _ in statements if v == verb) / len(ids)
             for verb in sorted({v for v, _ in statements})}
    print(f"one batch {len(ids):>7} reminders in this process ({dict(outcomes)}): "
          f"{cpu / len(ids) * 1000:.2f} ms CPU, {wall / len(ids) * 1000:.2f} ms wall, "
          f"{len(statements) / len(ids):.2f} statements "
          f"({', '.join(f'{v} {n:.2f}' for v, n in verbs.items())}), "
          f"{commits / len(ids):.2f} commits, {round_trips / len(ids):.2f} round trips a "
          f"reminder")


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
