"""Real processes for the end-to-end reminder tests: a private Redis, Celery workers, beat and
sweeper loops, all pointed at the pytest database. Also runnable: `python -m
tests.reminders.processes sweep-loop STOPFILE` sweeps until STOPFILE exists.
"""
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zoneinfo
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CELERY = str(BIN / "celery")


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.1):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A throwaway redis-server on a free loopback port, without persistence."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, socket_connect_timeout=1)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(self._answers, timeout=10, what="redis-server to answer")

    def _answers(self) -> bool:
        import redis

        try:
            return self.client().ping()
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """Crash and come back empty, as a Redis without persistence does."""
        self.kill()
        self.start()


def service_env(*, database_name: str, redis_url: str, sms_dir: Path, **extra: str) -> dict:
    from django.db import connection

    from urllib.parse import quote

    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "iop_clinic.settings.test",
        "DATABASE_URL": (f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:"
                         f"{db['PORT'] or 5432}/{database_name}"),
        "REDIS_URL": redis_url,
        # Test settings accept only this switch, so a real provider can never be reached.
        "TEST_SMS_BACKEND": "reminders.channels.sms.FileBackend",
        "SMS_FILE_PATH": str(sms_dir),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


class Processes:
    """Starts processes in their own process groups and always kills them all."""

    def __init__(self, env: dict, logdir: Path):
        self.env = env
        self.logdir = logdir
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], **env: str) -> subprocess.Popen:
        log = open(self.logdir / f"{name}.log", "ab")
        process = subprocess.Popen(args, cwd=ROOT, env={**self.env, **env}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.started.append(process)
        return process

    def worker(self, name: str, *, prefork: int = 0, **env: str) -> subprocess.Popen:
        """A worker with the solo pool, or with `prefork` pool processes (production's pool)."""
        pool = ["--pool=prefork", f"--concurrency={prefork}"] if prefork else ["--pool=solo"]
        process = self.start(name, [
            CELERY, "-A", "iop_clinic", "worker", *pool, "--loglevel=INFO",
            "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ], **env)
        wait_for(lambda: b"ready." in self.log(name) or process.poll() is not None,
                 timeout=60, what=f"worker {name} to start")
        assert process.poll() is None, self.log(name).decode()[-2000:]
        return process

    def beat(self, name: str, **env: str) -> subprocess.Popen:
        return self.start(name, [
            CELERY, "-A", "iop_clinic", "beat", "--loglevel=INFO",
            "--schedule", str(self.logdir / f"{name}-schedule"),
        ], **env)

    def sweeper_loop(self, name: str, stop_file: Path, **env: str) -> subprocess.Popen:
        return self.start(name, [sys.executable, "-m", "tests.reminders.processes", "sweep-loop",
                                 str(stop_file)], **env)

    def run(self, code: str, **env: str) -> None:
        subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + code],
                       cwd=ROOT, env={**self.env, **env}, check=True, timeout=60)

    def log(self, name: str) -> bytes:
        path = self.logdir / f"{name}.log"
        return path.read_bytes() if path.exists() else b""

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.logdir.glob("*.log"))

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def kill_all(self) -> None:
        for process in self.started:
            try:
                self.kill(process)
            except ProcessLookupError:
                pass


@contextmanager
def running(env: dict, logdir: Path):
    processes = Processes(env, logdir)
    try:
        yield processes
    finally:
        processes.kill_all()


def sms_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def daytime_zone() -> str:
    """A fixed-offset zone where it is early afternoon now, so quiet hours never interfere."""
    now = dt.datetime.now(dt.UTC)
    offset = (13 - now.hour) % 24
    offset = offset - 24 if offset > 12 else offset
    offset = max(-12, min(offset, 12))
    # Etc/GMT signs are inverted: Etc/GMT-3 is three hours ahead of UTC.
    name = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    zoneinfo.ZoneInfo(name)
    return name


def expected_group(count: int, *, first_name: str = "Robin",
                   starts_in: dt.timedelta = dt.timedelta(hours=2)):
    """`count` SMS-consenting participants, enrolled and expected at one session `starts_in`
    from now, at a site in a daytime zone. Bulk inserts, so a thousand take about a second.
    Returns (session, participants)."""
    from django.utils import timezone

    from participants.models import ContactConsent, Enrollment, Participant
    from sessions.models import Attendance

    from .. import factories

    zone = daytime_zone()
    now = timezone.now()
    site = factories.SiteFactory(time_zone=zone, address="")
    track = factories.TrackFactory(site=site, start_date=now.date() - dt.timedelta(days=7))
    session = factories.TherapySessionFactory(track=track, site=site, starts_at=now + starts_in,
                                              ends_at=now + starts_in + dt.timedelta(hours=1))
    tag = factories.ParticipantFactory._meta.model.objects.count()
    participants = Participant.objects.bulk_create([
        Participant(record_number=f"E2E{tag}-{i:05d}", first_name=f"{first_name}{i:04d}",
                    last_name=f"Lastname{i:04d}", email=f"e2e{tag}-{i}@mail.example.com",
                    phone=f"+1555{tag % 100:02d}{i:05d}", home_site=site, time_zone=zone,
                    reminder_channels="sms")
        for i in range(count)
    ])
    Enrollment.objects.bulk_create([
        Enrollment(participant=p, track=track, status="active", admission_date=track.start_date,
                   planned_end_date=track.start_date + dt.timedelta(weeks=12))
        for p in participants
    ])
    ContactConsent.objects.bulk_create([
        ContactConsent(participant=p, channel="sms", given_at=now - dt.timedelta(days=7),
                       source="intake") for p in participants
    ])
    Attendance.objects.bulk_create([
        Attendance(session=session, participant=p, status="expected") for p in participants
    ])
    return session, participants


def due_reminders(count: int, *, first_name: str = "Robin",
                  starts_in: dt.timedelta = dt.timedelta(hours=2)) -> list[int]:
    """`count` participants from `expected_group`, each with a due SMS reminder."""
    from django.utils import timezone

    from reminders.models import Reminder

    session, participants = expected_group(count, first_name=first_name, starts_in=starts_in)
    visit_date = session.starts_at.astimezone(session.site.zone).date()
    reminders = Reminder.objects.bulk_create([
        Reminder(participant=p, site=session.site, visit_date=visit_date, kind="same_day",
                 channel="sms", due_at=timezone.now() - dt.timedelta(minutes=1),
                 send_before=session.starts_at)
        for p in participants
    ])
    return [r.pk for r in reminders]


def _sweep_loop(stop_file: str) -> None:
    import django

    django.setup()
    from django.db import close_old_connections

    from reminders.sweeper import reminders_sweep

    while not os.path.exists(stop_file):
        reminders_sweep()
        close_old_connections()
        time.sleep(0.2)


if __name__ == "__main__":
    if sys.argv[1] == "sweep-loop":
        _sweep_loop(sys.argv[2])
