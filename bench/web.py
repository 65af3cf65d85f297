"""Web load benchmark, as figures (not a test): `make bench-web`.

    DATABASE_URL=postgres://... [REDIS_URL=redis://...] python bench/web.py \
        [--sizes 200,2000] [--duration 10] [--connections 8] [--keep] [--reuse] [--only today,feed]
        [--no-bracket] [--write-rate 3] [--history-weeks 26] [--loose-ends]

For each size it builds the invented clinic of bench/clinic.py in a scratch database
`<DATABASE_URL name>_web<size>` (kept with --keep; reused as it is, and kept, with --reuse), collects the
static files with the production storage, and serves the clinic with the production profile
(iop_clinic/gunicorn.conf.py, 3 sync workers, production settings plus the no-op views of
bench/urls.py) on 127.0.0.1 only. The clinic lives at one moment, its week's Wednesday at 11 am
(bench/clinic.py's `clinic_clock`): it is built then, and this process, the servers and the
writer run with their clocks started there, so a reused clinic shows the same day whenever it is
measured. Then, page by page, it measures:

- in-process: one request through Django's test client (median of up to 20), its query count
  and the time PostgreSQL took for those queries;
- under load: wrk (Debian package `wrk`) with --connections connections for --duration seconds
  (after a one-second warm-up): requests per second, p50/p95/p99 latency, and the share of the
  anonymous no-op view's requests per second measured in the same run;
- the same share against the host's speed at that moment ("near share"): the anonymous no-op
  is measured again right after every page, and each page is set against the mean of the no-op
  runs either side of it (this host's speed drifted by up to half within minutes, so one no-op
  at the start was a poor yardstick for pages measured ten minutes later); `--no-bracket`
  measures it once, as before (half the run's time);
- where the machine's time went under load: the CPU milliseconds per request of the gunicorn
  processes (Python: middleware, views, templates, the database driver) and of the PostgreSQL
  backends serving the scratch database (planning and running the queries), read from /proc
  before and after the measured run. With two cores, a page's req/s is bounded by about
  2,000 / (web + db + wrk's own share) per request, so these say which side to cut.

With --write-rate R (marks a second; default 0, no write at all), a clinic taking attendance
runs beside the load, as at session starts (2,000 participants: about 2,000 marks in a
morning's first ten minutes, ~3 a second): bench/writer.py, one process for the whole run,
marks attendance through `attendance_mark` (the roster's mark buttons' service: row lock,
audit, kept tallies, follow-ups, authorization usage, as in production) at a steady R a second
on the latest day with started sessions (today's once the first has started, else the day
before's), moving each row to another status. A second table gives, per page, the marks
started during its measured run, the achieved marks/s, the mark's latency p50/p95 (the service
call, commit included), the requests per write (req/s / marks/s: what a clinic-wide
write-generation cache key would serve between two invalidations at this load), the writer's
CPU per mark (its process and its backend, which the pages' db column leaves out) and the
marks that fell behind their schedule. Marks change statuses: no attendance row is added, each
re-mark keeps its change and audit row, and absences their follow-ups, as in a clinic.

Every page must answer 200 before it is measured; a page that errors stops the benchmark. The
load never leaves 127.0.0.1 and each run is bounded by --duration. Nothing here asserts a time.
--history-weeks and --loose-ends build a lived-in clinic instead of the standard one (see
bench/history.py); keep it in a database of its own name, so the standard one stays comparable.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import admin_sql, scratch_database  # noqa: E402
HERE = Path(__file__).resolve().parent


@dataclass
class Page:
    name: str
    path: str
    who: str  # "anonymous", "staff", "portal" or "admin"


@dataclass
class Figures:
    page: Page
    in_process_ms: float
    queries: int
    sql_ms: float
    rps: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    errors: int = 0
    web_cpu_ms: float = 0.0
    db_cpu_ms: float = 0.0
    writes: dict | None = None  # with --write-rate: the marks made during the measured run
    # The anonymous no-op's req/s measured just before and just after this page (--bracket).
    noop_near: tuple[float, float] | None = None

    @property
    def near_share(self) -> float | None:
        """req/s as a share of the mean of the no-op runs either side of this page's: what the
        share is when the host's speed drifts during the run."""
        if not self.noop_near:
            return None
        mean = sum(self.noop_near) / 2
        return 100 * self.rps / mean if mean else 0.0



def add_clinic_arguments(parser: argparse.ArgumentParser) -> None:
    """How lived-in a newly built clinic is (bench/history.py); a reused one stays as it was."""
    parser.add_argument("--history-weeks", type=int, default=0, metavar="N",
                        help="earlier cohorts over the N weeks before the current ones "
                             "(default 0: the standard clinic)")
    parser.add_argument("--loose-ends", action="store_true",
                        help="a few unmarked rows on past days, excuse requests, a waitlist")


def database_exists(name: str) -> bool:
    import psycopg2

    parsed = urlparse(os.environ["DATABASE_URL"])
    connection = psycopg2.connect(dbname="postgres", user=parsed.username or "postgres",
                                  password=parsed.password, host=parsed.hostname or "127.0.0.1",
                                  port=parsed.port or 5432)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        found = cursor.fetchone() is not None
    connection.close()
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sms_backend() -> str:
    for module in ("reminders/channels/sms.py", "sessions/channels/sms.py"):
        if (ROOT / module).exists():
            return module[:-3].replace("/", ".") + ".InMemoryBackend"
    raise SystemExit("no SMS channel module found")


def bench_environment(workdir: Path) -> dict[str, str]:
    """Production settings for an invented clinic served on 127.0.0.1 (bench/settings.py)."""
    return {"DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "PUBLIC_BASE_URL": "https://clinic.example.org",
            "SMS_BACKEND": sms_backend(),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            # Production settings read EMAIL_URL only (without it, the local MTA): the
            # follow-up emails of --write-rate's absences stay in memory too.
            "EMAIL_URL": "memorymail://",
            "DJANGO_STATIC_ROOT": str(workdir / "static"),
            "LOG_LEVEL": "WARNING", "GUNICORN_LOG_LEVEL": "warning",
            "PYTHONPATH": str(ROOT)}


def pages_for(clinic) -> list[Page]:
    from django.contrib.auth import get_user_model

    from programs.models import Track

    clinician_id = get_user_model().objects.get(username=clinic.clinician_username).pk
    program_id = Track.objects.get(pk=clinic.track_ids[0]).program_id
    return [
        Page("no-op (anonymous)", "/bench/noop", "anonymous"),
        Page("no-op (signed in)", "/bench/noop-signed-in", "staff"),
        Page("no-op (empty staff page)", "/bench/empty-staff", "staff"),
        Page("no-op (empty portal page)", "/bench/empty-portal", "portal"),
        Page("healthz", "/healthz", "anonymous"),
        Page("static file (hashed)", "STATIC", "anonymous"),
        Page("Today", "/", "staff"),
        Page("week calendar", "/calendar/", "staff"),
        Page("roster (100)" if clinic.participants >= 2000 else "roster",
             f"/sessions/{clinic.large_session_id}/roster/", "staff"),
        Page("chart", f"/participants/{clinic.chart_participant_code}/", "staff"),
        Page("participant search", "/participants/?q=Bench1", "staff"),
        Page("follow-ups", "/follow-ups/", "staff"),
        Page("track", f"/programs/tracks/{clinic.track_ids[0]}/", "staff"),
        Page("portal home (schedule)", "/portal/", "portal"),
        Page("portal feed settings", "/portal/calendar/", "portal"),
        Page("portal progress", "/portal/progress/", "portal"),
        Page("portal reminders", "/portal/reminders/", "portal"),
        Page("calendar feed", f"/portal/feed/{clinic.feed_token}.ics", "anonymous"),
        Page("admin participants", "/admin/participants/participant/", "admin"),
        # The reports as a director sees them by default: every site, the last twelve weeks.
        *(Page(f"report {slug}", f"/reports/{slug.replace('_', '-')}/", "admin")
          for slug in ("census", "attendance", "outcomes", "access", "billing", "staff_load")),
        # A director's filter by clinician (a clinician's own default is their caseload too):
        # attendance is the one report read from attendance rows per participant.
        Page("report attendance (one clinician)", f"/reports/attendance/?clinician={clinician_id}",
             "admin"),
        Page("report attendance (one program)", f"/reports/attendance/?program={program_id}",
             "admin"),
    ]


def signed_in_clients(clinic):
    """Test clients signed in as the clinician, the portal participant and the admin."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    User = get_user_model()
    clients = {"anonymous": Client()}
    for who, username in (("staff", clinic.clinician_username),
                          ("portal", clinic.portal_username), ("admin", clinic.admin_username)):
        client = Client()
        user = User.objects.get(username=username)
        client.force_login(user)
        if who == "admin":
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
            session.save()
        clients[who] = client
    return clients


def in_process(client, path: str) -> tuple[float, int, float]:
    """Median milliseconds of one request, its query count and the SQL time it took."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code} in-process")
    queries = len(captured.captured_queries)
    sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
    times, deadline = [], time.perf_counter() + 5
    while len(times) < 20 and (len(times) < 3 or time.perf_counter() < deadline):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), queries, sql_ms


def _cpu_ticks(pid: int) -> int | None:
    """User + system clock ticks of a process so far, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def _process_group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class CpuWatch:
    """CPU ticks spent by changing sets of processes while wrk runs, polled every 0.1 s.

    gunicorn replaces a worker after max_requests (and its database connection with it), so the
    processes are listed again at each poll: one that appears counts from zero, one that goes
    counts what it had spent at its last poll (the tenth of a second before it exits is lost).
    """

    def __init__(self, sides):
        import threading

        self.sides = sides  # {"web": callable returning pids, ...}
        self.start = {side: {} for side in sides}
        self.last = {side: {} for side in sides}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _poll(self, first: bool = False) -> None:
        for side, list_pids in self.sides.items():
            for pid in list_pids():
                ticks = _cpu_ticks(pid)
                if ticks is None:
                    continue
                if first:
                    self.start[side][pid] = ticks
                self.start[side].setdefault(pid, 0)
                self.last[side][pid] = ticks

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            self._poll()

    def __enter__(self):
        self._poll(first=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self._poll()

    def ticks(self, side: str) -> int:
        return sum(self.last[side][pid] - self.start[side][pid] for pid in self.last[side])


def _backend_lister(database: str):
    """A callable listing the PostgreSQL backends connected to the database (one connection)."""
    import psycopg2

    parsed = urlparse(os.environ["DATABASE_URL"])
    connection = psycopg2.connect(dbname="postgres", user=parsed.username or "postgres",
                                  password=parsed.password, host=parsed.hostname or "127.0.0.1",
                                  port=parsed.port or 5432)
    connection.autocommit = True

    def backends() -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
            return [row[0] for row in cursor.fetchall()]

    backends.close = connection.close
    return backends


def load(url: str, cookie: str, *, duration: int, connections: int,
         cpu_of: dict | None = None) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
               "-s", str(HERE / "wrk_report.lua"), url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    # Warm-up: let each worker open its connection and fill its caches.
    warm_up = [c if not c.startswith("-d") else "-d1s" for c in command]
    subprocess.run(warm_up, check=True, capture_output=True, timeout=60)
    with CpuWatch(cpu_of or {}) as watch:
        window_start = time.monotonic()
        result = subprocess.run(command, check=True, capture_output=True, text=True,
                                timeout=duration + 60)
        window_end = time.monotonic()
    spent = {side: watch.ticks(side) for side in (cpu_of or {})}
    match = re.search(r"RESULT (.*)", result.stdout)
    if not match:
        raise SystemExit(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")
    values = dict(item.split("=") for item in match.group(1).split())
    seconds = int(values["duration_us"]) / 1e6
    requests = max(int(values["requests"]), 1)
    per_request_ms = {side: ticks * 1000 / os.sysconf("SC_CLK_TCK") / requests
                      for side, ticks in spent.items()}
    return {"rps": int(values["requests"]) / seconds,
            "p50": int(values["p50"]) / 1000, "p95": int(values["p95"]) / 1000,
            "p99": int(values["p99"]) / 1000,
            "errors": int(values["status_errors"]) + int(values["socket_errors"]),
            "web_cpu_ms": per_request_ms.get("web", 0.0),
            "db_cpu_ms": per_request_ms.get("db", 0.0),
            "writer_cpu_ms_total": spent.get("writer", 0) * 1000 / os.sysconf("SC_CLK_TCK"),
            "window": (window_start, window_end)}


class Writer:
    """bench/writer.py in its own process, marking attendance while the pages are measured."""

    def __init__(self, *, rate: float, env: dict[str, str], workdir: Path, max_seconds: float):
        self.ready_file, self.result_file = workdir / "writer-ready.json", workdir / "writer.json"
        for file in (self.ready_file, self.result_file):
            file.unlink(missing_ok=True)
        # stdout and stderr are the benchmark's: a traceback shows, and no pipe can fill up.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.writer", "--rate", str(rate),
             "--ready", str(self.ready_file), "--result", str(self.result_file),
             "--max-seconds", str(max_seconds)],
            cwd=ROOT, env=env, start_new_session=True)
        deadline = time.monotonic() + 120
        while not self.ready_file.exists():
            self.alive()
            if time.monotonic() > deadline:
                raise SystemExit("bench/writer.py was not ready in two minutes")
            time.sleep(0.1)
        # (bench/writer.py renames the file into place once written: it is whole when it shows.)
        self.ready = json.loads(self.ready_file.read_text())

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise SystemExit(f"bench/writer.py exited ({self.process.returncode}); see above")

    def processes(self) -> list[int]:
        return [self.process.pid, self.ready["backend_pid"]]

    def finish(self) -> list:
        from bench.writer import Mark

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise SystemExit("bench/writer.py did not stop when told") from None
        if not self.result_file.exists():
            raise SystemExit(f"bench/writer.py exited ({self.process.returncode}) with no result")
        return [Mark(**m) for m in json.loads(self.result_file.read_text())]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited before it listened; see its log above")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not listen in time")


def check_answers(url: str, cookie: str) -> None:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:  # noqa: S310 (127.0.0.1 only)
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if status != 200:
        raise SystemExit(f"{url} answered {status} through gunicorn")


def run_size(size: int, args, env: dict[str, str]) -> list[Figures]:
    import django

    name, url = scratch_database(suffix=f"web{size}", script="bench/web.py")
    reuse = args.reuse and database_exists(name)
    if not reuse:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin_sql(f'CREATE DATABASE "{name}"')
    env = {**env, "DATABASE_URL": url}
    os.environ.update(env)
    django.setup()
    from django.core.management import call_command
    from django.db import connections

    gunicorn = writer = None
    try:
        call_command("migrate", verbosity=0)
        from bench.clinic import build_clinic, clinic_find, pin_clock

        if reuse:
            clinic = clinic_find()
            print(f"size {size}: reusing {name}")
        else:
            clinic = build_clinic(participants=size, history_weeks=args.history_weeks,
                                  loose_ends=args.loose_ends)
            print(f"size {size}: built {name} in {clinic.seconds:.0f}s")
        # Every process that measures or serves the clinic runs at its moment (this one, the
        # servers and the writer, through their environment).
        env = {**env, **pin_clock(clinic)}
        call_command("collectstatic", verbosity=0, interactive=False)
        from django.contrib.staticfiles.storage import staticfiles_storage

        static_path = staticfiles_storage.url("bootstrap/css/bootstrap.min.css")
        clients = signed_in_clients(clinic)
        cookies = {who: (f"sessionid={c.cookies['sessionid'].value}"
                         if "sessionid" in c.cookies else "")
                   for who, c in clients.items()}
        pages = [p for p in pages_for(clinic)
                 if not args.only or p.name.split(" (")[0] in args.only
                 or p.name.startswith("no-op")]
        if not os.environ.get("REDIS_URL"):
            pages = [p for p in pages if p.name != "healthz"]
        figures = []
        for page in pages:
            path = static_path if page.path == "STATIC" else page.path
            ms, queries, sql_ms = in_process(clients[page.who], path)
            figures.append(Figures(page=page, in_process_ms=ms, queries=queries, sql_ms=sql_ms))
        connections.close_all()

        port = free_port()
        log = open(Path(env["DJANGO_STATIC_ROOT"]).parent / f"gunicorn-{size}.log", "wb")
        gunicorn = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "iop_clinic/gunicorn.conf.py",
             "--workers", "3", "--bind", f"127.0.0.1:{port}", "iop_clinic.wsgi"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(port, gunicorn)

        backends = _backend_lister(name)
        group = gunicorn.pid
        cpu_of = {"web": lambda: _process_group(group), "db": backends}
        noop_target = f"http://127.0.0.1:{port}/bench/noop"
        last_noop = None
        if args.write_rate:
            # One writer for the whole run: each page is judged by the marks started during its
            # measured run. Its backend's CPU is the writes' cost, not the pages'.
            writer = Writer(rate=args.write_rate, env=env,
                            workdir=Path(env["DJANGO_STATIC_ROOT"]).parent,
                            max_seconds=len(figures) * (args.duration + 60) * (1 + args.bracket) + 120)
            print(f"  writer: {args.write_rate:g} marks/s on {writer.ready['rows']} attendance "
                  f"rows of {writer.ready['day']}", flush=True)
            writer_backend = writer.ready["backend_pid"]
            cpu_of = {**cpu_of, "db": lambda: [p for p in backends() if p != writer_backend],
                      "writer": writer.processes}
        windows = []
        for figure in figures:
            path = static_path if figure.page.path == "STATIC" else figure.page.path
            target = f"http://127.0.0.1:{port}{path}"
            check_answers(target, cookies[figure.page.who])
            if writer is not None:
                writer.alive()
            result = load(target, cookies[figure.page.who], duration=args.duration,
                          connections=args.connections, cpu_of=cpu_of)
            windows.append((result["window"], result["writer_cpu_ms_total"]))
            figure.web_cpu_ms, figure.db_cpu_ms = result["web_cpu_ms"], result["db_cpu_ms"]
            figure.rps, figure.p50, figure.p95, figure.p99 = (
                result["rps"], result["p50"], result["p95"], result["p99"])
            figure.errors = int(result["errors"])
            print(f"  {figure.page.name:<22} {figure.rps:8.1f} req/s", flush=True)
            if args.bracket:
                if figure.page.name == "no-op (anonymous)":
                    last_noop = figure.rps
                elif last_noop is not None:
                    # The no-op again, right after the page: the page's share is taken against
                    # the no-op either side of it, not only the one at the start of the run.
                    after = load(noop_target, "", duration=args.duration,
                                 connections=args.connections)["rps"]
                    figure.noop_near, last_noop = (last_noop, after), after
        if writer is not None:
            from bench.writer import summary

            marks = writer.finish()
            writer = None
            for figure, ((start, end), writer_cpu_ms) in zip(figures, windows):
                figure.writes = summary(marks, start=start, end=end)
                figure.writes["cpu_ms"] = writer_cpu_ms / max(figure.writes["marks"], 1)
        backends.close()
        return figures
    finally:
        if writer is not None:
            try:
                writer.finish()
            except SystemExit:
                pass  # already failing: the first error is the one to show
        if gunicorn is not None and gunicorn.poll() is None:
            os.killpg(gunicorn.pid, signal.SIGTERM)
            try:
                gunicorn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(gunicorn.pid, signal.SIGKILL)
                gunicorn.wait()
        connections.close_all()
        if not args.keep and not reuse:  # a reused clinic was kept on purpose: never drop it
            admin_sql(f'DROP DATABASE IF EXISTS "{name}"')


def print_table(size: int, figures: list[Figures], connections: int) -> None:
    noop = next(f for f in figures if f.page.name == "no-op (anonymous)")
    print(f"\n{size} participants; gunicorn 3 sync workers, wrk {connections} connections; "
          f"share = req/s / anonymous no-op req/s; web / db CPU ms = CPU per request under "
          f"load of the gunicorn processes / of the database's backends")
    header = (f"| {'page':<22} | {'req/s':>7} | {'share':>6} | {'p50 ms':>7} | {'p95 ms':>7} | "
              f"{'p99 ms':>7} | {'errors':>6} | {'queries':>7} | {'SQL ms':>7} | {'1 req ms':>8} | "
              f"{'web CPU ms':>10} | {'db CPU ms':>9} |")
    bracketed = any(f.noop_near for f in figures)
    if bracketed:
        header = header.replace(" share |", " share | near share |")
        runs = [noop.rps, *(f.noop_near[1] for f in figures if f.noop_near)]
        print(f"near share = req/s / the mean of the anonymous no-op measured just before and "
              f"just after the page; the no-op ran {len(runs)} times in this run, "
              f"{min(runs):.1f}-{max(runs):.1f} req/s")
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for f in figures:
        share = 100 * f.rps / noop.rps if noop.rps else 0
        near = ""
        if bracketed:
            near = (f" {f.near_share:9.1f}% |" if f.near_share is not None
                    else f" {'':>10} |")
        print(f"| {f.page.name:<22} | {f.rps:7.1f} | {share:5.1f}% |{near} {f.p50:7.1f} | "
              f"{f.p95:7.1f} | {f.p99:7.1f} | {f.errors:6d} | {f.queries:7d} | "
              f"{f.sql_ms:7.1f} | {f.in_process_ms:8.1f} | {f.web_cpu_ms:10.2f} | "
              f"{f.db_cpu_ms:9.2f} |")
    if any(f.writes for f in figures):
        print_writes(figures)


def print_writes(figures: list[Figures]) -> None:
    print("\nattendance marked during each page's measured run (bench/writer.py, one process, "
          "through attendance_mark); mark ms = the service call, commit included; req/write = "
          "req/s / marks/s, the requests a clinic-wide write-generation cache key would serve "
          "between two invalidations at this rate; mark CPU ms = the writer's process and its "
          "backend per mark; behind = marks started over one interval late")
    header = (f"| {'page':<22} | {'req/s':>7} | {'marks':>5} | {'marks/s':>7} | "
              f"{'mark p50 ms':>11} | {'mark p95 ms':>11} | {'req/write':>9} | "
              f"{'mark CPU ms':>11} | {'behind':>6} | {'refused':>7} |")
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for f in figures:
        w = f.writes
        per_write = f.rps / w["per_second"] if w["per_second"] else float("inf")
        print(f"| {f.page.name:<22} | {f.rps:7.1f} | {w['marks']:5d} | {w['per_second']:7.2f} | "
              f"{w['p50']:11.1f} | {w['p95']:11.1f} | {per_write:9.1f} | {w['cpu_ms']:11.1f} | "
              f"{w['behind']:6d} | {w['refused']:7d} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="200,2000")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse a kept scratch database as it is (migrations still run; it is kept afterwards)")
    parser.add_argument("--only", default="", help="comma-separated page names (no-ops always)")
    parser.add_argument("--no-bracket", dest="bracket", action="store_false",
                        help="measure the anonymous no-op once, not again after every page")
    parser.add_argument("--write-rate", type=float, default=0.0,
                        help="attendance marks a second during the load (bench/writer.py)")
    add_clinic_arguments(parser)
    args = parser.parse_args()
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench/web.py needs DATABASE_URL=postgres://... (it creates <name>_web<size>)")
    if not shutil.which("wrk"):
        sys.exit("bench/web.py needs wrk: apt-get install wrk")
    if not 1 <= args.duration <= 120 or not 1 <= args.connections <= 64:
        sys.exit("--duration must be 1-120 seconds and --connections 1-64")
    if not 0 <= args.write_rate <= 50:
        sys.exit("--write-rate must be 0-50 marks a second")
    workdir = Path(tempfile.mkdtemp(prefix="iop-bench-web-"))
    env = {**os.environ, **bench_environment(workdir)}
    results = []
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            # One size per process: Django is set up once per process and per database.
            if len(args.sizes.split(",")) > 1:
                command = [sys.executable, __file__, "--sizes", str(size),
                           "--duration", str(args.duration),
                           "--connections", str(args.connections),
                           "--write-rate", str(args.write_rate)]
                command += ["--keep"] * args.keep + ["--reuse"] * args.reuse
                command += ["--no-bracket"] * (not args.bracket)
                command += ["--history-weeks", str(args.history_weeks)]
                command += ["--loose-ends"] * args.loose_ends
                if args.only:
                    command += ["--only", ",".join(args.only)]
                subprocess.run(command, check=True)
                continue
            results.append((size, run_size(size, args, env)))
        for size, figures in results:
            print_table(size, figures, args.connections)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
