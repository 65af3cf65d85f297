"""What a tap on the roster costs: attendance marks one at a time, and a session's rows at once.

    DATABASE_URL=postgres://.../iop_<name>_web2000 python -m bench.marking \
        [--marks 50] [--many 0] [--offset 500] [--warmup 5] [--result FILE]

Run against a bench clinic (bench/clinic.py, e.g. the copy `bench/web.py --keep` leaves): it
MUTATES its attendance, as bench/writer.py does. `--marks` rows of the writer's day
(`writer.mark_targets`) are moved to their next status through `attendance_mark`, one call
each, as the roster's buttons do; with `--many K`, K sessions of 100 rows (or the largest of
that day) have every row moved to its next status by one `attendance_mark_many` call each. The
first `--warmup` calls of each kind are made and not counted (a production process keeps its
connection, its prepared statements and PostgreSQL's cached plans between requests).

Each call's latency is the service call, commit and on-commit work (authorization usage)
included; queries are counted through a connection execute wrapper (no query capture, whose
bookkeeping would be timed too). Prints count, median, p95 and queries per call; `--result`
writes every latency as JSON, so interleaved runs of two code versions can be pooled. Run it
under `flock /tmp/bench.lock`. Nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _percentile(values: list[float], n: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[n - 1]


class _Counter:
    def __init__(self) -> None:
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)


def _many_sessions(*, day, count: int) -> list[tuple[int, list[int]]]:
    """`count` started sessions of `day` with the most rows to mark: (session id, attendance
    ids). Only started ones: a session not begun refuses its marks (every call would time a
    refusal), and `day` (the latest with a started session) has later ones once it begins."""
    from django.db.models import Count
    from django.utils import timezone

    from sessions.models import Attendance, AttendanceStatus, SessionStatus, TherapySession

    sessions = (TherapySession.objects.filter(local_date=day, status=SessionStatus.SCHEDULED,
                                              starts_at__lte=timezone.now())
                .annotate(rows=Count("attendances")).order_by("-rows", "pk")[:count])
    return [(s.pk, list(Attendance.objects.filter(session=s)
                        .exclude(status=AttendanceStatus.CANCELLED)
                        .order_by("pk").values_list("pk", flat=True)))
            for s in sessions]


def mark_many_once(*, session_id: int, attendance_ids: list[int]) -> float:
    """Move every row of the session to its next status with one `attendance_mark_many`."""
    from sessions.models import Attendance, TherapySession
    from sessions.services.attendance import MarkRequest, attendance_mark_many

    from .writer import next_status

    session = TherapySession.objects.select_related("facilitator", "track__lead_clinician").get(
        pk=session_id)
    by = session.facilitator or session.track.lead_clinician
    full = int((session.ends_at - session.starts_at).total_seconds() // 60)
    marks = []
    for pk, status in Attendance.objects.filter(pk__in=attendance_ids).values_list("pk",
                                                                                   "status"):
        new = next_status(status)
        minutes = {"late": full * 3 // 4, "left_early": full // 2}.get(new)
        marks.append(MarkRequest(attendance_id=pk, status=new, minutes=minutes))
    started = time.perf_counter()
    attendance_mark_many(marks=marks, by=by, notify=False)
    return (time.perf_counter() - started) * 1000


def _measure(calls, *, warmup: int) -> tuple[list[float], list[int]]:
    from django.db import connection

    latencies, queries = [], []
    for index, call in enumerate(calls):
        counter = _Counter()
        with connection.execute_wrapper(counter):
            latency = call()
        if index >= warmup:
            latencies.append(latency)
            queries.append(counter.queries)
    return latencies, queries


def _report(name: str, latencies: list[float], queries: list[int]) -> dict:
    summary = {"calls": len(latencies),
               "median_ms": statistics.median(latencies) if latencies else 0.0,
               "p95_ms": _percentile(sorted(latencies), 95),
               "queries_per_call": sum(queries) / len(queries) if queries else 0.0,
               "latencies_ms": latencies}
    print(f"{name}: {summary['calls']} calls, median {summary['median_ms']:.1f} ms, "
          f"p95 {summary['p95_ms']:.1f} ms, {summary['queries_per_call']:.2f} queries a call")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--marks", type=int, default=50, help="single marks to time")
    parser.add_argument("--many", type=int, default=0, help="sessions to mark whole")
    parser.add_argument("--offset", type=int, default=500, help="the first row to mark")
    parser.add_argument("--warmup", type=int, default=5, help="calls of each kind not counted")
    parser.add_argument("--result", help="file the latencies are written to (JSON)")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("bench/marking.py: set DATABASE_URL to a bench clinic's database")
    sys.path.insert(0, str(ROOT))
    from bench.web import bench_environment

    database_url = os.environ["DATABASE_URL"]
    os.environ.update({**bench_environment(Path(tempfile.mkdtemp())),
                       "DATABASE_URL": database_url})
    import django

    django.setup()
    from bench.writer import mark_one, mark_targets

    day, targets = mark_targets()
    if not targets:
        sys.exit("bench/marking.py: no started session with attendance to mark")
    print(f"day {day}, {len(targets)} rows")
    results = {}
    markers: dict = {}
    chosen = [targets[(args.offset + i) % len(targets)]
              for i in range(args.marks + args.warmup)]
    results["mark"] = _report("attendance_mark", *_measure(
        [lambda t=t: mark_one(t, markers=markers) for t in chosen], warmup=args.warmup))
    if args.many:
        sessions = _many_sessions(day=day, count=args.many + min(args.warmup, 1))
        print(f"sessions of {sorted({len(ids) for _, ids in sessions})} rows")
        results["many"] = _report("attendance_mark_many", *_measure(
            [lambda s=s, ids=ids: mark_many_once(session_id=s, attendance_ids=ids)
             for s, ids in sessions], warmup=min(args.warmup, 1)))
    if args.result:
        Path(args.result).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
