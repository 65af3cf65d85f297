"""Marks attendance at a steady rate beside bench/web.py's load, as a clinic does at session starts.

    python -m bench.writer --rate 3 --ready FILE --result FILE [--offset N] [--max-seconds S]

Run by `bench/web.py --write-rate R` with the benchmark's environment (production settings on
the bench clinic). Each mark goes through `attendance_mark`, the service the roster's mark
buttons call, so the row lock, the audit entry, the kept session tally (triggers), follow-ups
raised or resolved by absences and the authorization usage refreshed on commit all happen as
in production; a mark's latency is that call, commit included.

What it marks: the attendance of the latest local day that has sessions already started (the
sessions Today shows once they start; before a day's first session, as at night, the day
before's), row after row, each mark moving the row to the next status of present, late,
absent, excused, left early, so every mark is a real change. Marks change statuses: no
attendance row is added; each change of a marked row keeps its `AttendanceChange` and audit
entry, and an absence its follow-up, one per mark at most. Each session's facilitator (else its
track's lead clinician, the bench's clinician accounts) marks it.

Pacing: mark i is due at start + i / rate. A mark that starts more than one interval late counts
as "behind" and the schedule restarts from that moment (no burst to catch up), so the achieved
rate says how far short it fell. It marks until SIGTERM or SIGINT (or --max-seconds), then
writes every mark's start (time.monotonic, comparable across processes on Linux), lateness
and latency to --result as JSON. Nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The statuses a row moves through, each to the next: every mark changes the row.
CYCLE = ("present", "late", "absent", "excused", "left_early")


@dataclass(frozen=True)
class Target:
    """One attendance row the writer marks, with what a mark of it needs."""

    attendance_id: int
    full_minutes: int
    marker_id: int


@dataclass(frozen=True)
class Mark:
    started: float  # time.monotonic() when the service was called
    late_ms: float  # how long after its due time it started
    latency_ms: float  # the service call, commit included
    behind: bool  # started more than one interval late (the schedule restarted)
    refused: bool = False  # the service refused it (a ValidationError): nothing written


def mark_targets(*, now: dt.datetime | None = None) -> tuple[dt.date | None, list[Target]]:
    """The day the writer marks and its rows: the latest local day with a started session."""
    from django.db.models import F
    from django.db.models.functions import Coalesce
    from django.utils import timezone

    from sessions.models import Attendance, AttendanceStatus, SessionStatus, TherapySession

    now = now or timezone.now()
    started = TherapySession.objects.filter(status=SessionStatus.SCHEDULED, starts_at__lte=now)
    day = started.order_by("-starts_at").values_list("local_date", flat=True).first()
    if day is None:
        return None, []
    rows = (Attendance.objects
            .filter(session__in=started.filter(local_date=day))
            .exclude(status=AttendanceStatus.CANCELLED)
            .annotate(marker=Coalesce(F("session__facilitator_id"),
                                      F("session__track__lead_clinician_id")))
            .filter(marker__isnull=False)
            .order_by("session__starts_at", "session_id", "pk")
            .values_list("pk", "session__starts_at", "session__ends_at", "marker"))
    return day, [Target(attendance_id=pk, full_minutes=int((ends - starts).total_seconds() // 60),
                        marker_id=marker) for pk, starts, ends, marker in rows]


def next_status(current: str) -> str:
    return CYCLE[(CYCLE.index(current) + 1) % len(CYCLE)] if current in CYCLE else CYCLE[0]


def mark_one(target: Target, *, markers: dict) -> float:
    """Move one row to its next status through the roster's service (what a tap does); returns
    the milliseconds the service took, commit included."""
    from django.contrib.auth import get_user_model

    from sessions.models import Attendance
    from sessions.services.attendance import attendance_mark

    attendance = Attendance.objects.only("pk", "status").get(pk=target.attendance_id)
    status = next_status(attendance.status)
    minutes = {"late": target.full_minutes * 3 // 4,
               "left_early": target.full_minutes // 2}.get(status)
    if target.marker_id not in markers:
        markers[target.marker_id] = get_user_model().objects.get(pk=target.marker_id)
    started = time.perf_counter()
    attendance_mark(attendance=attendance, status=status, minutes=minutes,
                    by=markers[target.marker_id])
    return (time.perf_counter() - started) * 1000


def mark_steadily(*, targets: list[Target], rate: float, stop: threading.Event, offset: int = 0,
                  max_seconds: float | None = None) -> list[Mark]:
    """Mark targets[offset], targets[offset + 1], ... (cycling) at `rate` a second until `stop`
    is set (or `max_seconds` pass); returns every mark made."""
    from django.core.exceptions import ValidationError

    if not targets or rate <= 0:
        raise ValueError("nothing to mark, or no rate")
    interval = 1 / rate
    begun = time.monotonic()
    schedule_start, due_index = begun, 0
    markers: dict = {}
    marks: list[Mark] = []
    while True:
        due = schedule_start + due_index * interval
        if stop.wait(max(due - time.monotonic(), 0)):
            break
        if max_seconds is not None and time.monotonic() - begun >= max_seconds:
            break
        started = time.monotonic()
        late = started - due
        behind = late > interval
        if behind:  # restart the schedule from now: no burst to catch up
            schedule_start, due_index = started, 0
        target = targets[(offset + len(marks)) % len(targets)]
        try:
            latency = mark_one(target, markers=markers)
            refused = False
        except ValidationError:
            latency, refused = (time.monotonic() - started) * 1000, True
        marks.append(Mark(started=started, late_ms=late * 1000, latency_ms=latency,
                          behind=behind, refused=refused))
        due_index += 1
    return marks


def summary(marks: list[Mark], *, start: float, end: float) -> dict[str, float]:
    """The marks started in [start, end): how many, per second, latency p50/p95, how many fell
    behind and were refused."""
    inside = [m for m in marks if start <= m.started < end]
    latencies = sorted(m.latency_ms for m in inside if not m.refused)
    seconds = max(end - start, 1e-9)
    p95 = (statistics.quantiles(latencies, n=20, method="inclusive")[18]
           if len(latencies) > 1 else (latencies[0] if latencies else 0.0))
    return {"marks": len(inside), "per_second": len(inside) / seconds,
            "p50": statistics.median(latencies) if latencies else 0.0, "p95": p95,
            "behind": sum(m.behind for m in inside), "refused": sum(m.refused for m in inside)}


def _write_whole(path: Path, data) -> None:
    """JSON written beside `path` and renamed onto it: whoever waits for the file never reads
    half of it."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, required=True, help="marks per second")
    parser.add_argument("--ready", required=True, help="file written once marking can start")
    parser.add_argument("--result", required=True, help="file the marks are written to")
    parser.add_argument("--offset", type=int, default=0, help="the row to start from")
    parser.add_argument("--max-seconds", type=float, default=600)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    day, targets = mark_targets()
    if not targets:
        sys.exit("bench/writer.py: no started session with attendance to mark")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]
    _write_whole(Path(args.ready), {"pid": os.getpid(), "backend_pid": backend_pid,
                                    "day": day.isoformat(), "rows": len(targets)})
    marks = mark_steadily(targets=targets, rate=args.rate, stop=stop, offset=args.offset,
                          max_seconds=args.max_seconds)
    _write_whole(Path(args.result), [asdict(m) for m in marks])


if __name__ == "__main__":
    main()
