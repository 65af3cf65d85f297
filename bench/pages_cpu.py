"""Python CPU time per page, in-process (figures, not a test): what a busy machine can't blur.

    DATABASE_URL=postgres://... python bench/pages_cpu.py [--size 2000] [--repeat 30]
        [--only Today,chart] [--profile Today]

Reuses the clinic that `make bench-web --keep` (or bench/explain.py) left in the scratch
database `<DATABASE_URL name>_web<size>` and requests each page of bench/web.py through Django's
test client as its persona: after two warm-up requests, the median of --repeat requests of the
process's CPU time (time.process_time: the Python of middleware, view, queries' driver and
templates; not PostgreSQL's) and of wall time, with the query count and the SQL time of the third
request (custom plans) and of one after the repeats (prepared statements' generic plans).
Wall time moves with whoever else uses the machine; CPU time less, its minimum least. --profile prints
cProfile's top functions for the named pages.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--only", default="", help="comma-separated page names")
    parser.add_argument("--profile", default="", help="comma-separated page names to profile")
    args = parser.parse_args()

    import django

    from bench.scratch import scratch_database
    from bench.web import bench_environment, database_exists

    name, url = scratch_database(suffix=f"web{args.size}", script="bench/pages_cpu.py")
    if not database_exists(name):
        sys.exit(f"bench/pages_cpu.py needs {name} "
                 f"(make bench-web BENCH_WEB_ARGS='--keep --sizes {args.size}')")
    os.environ.pop("EMAIL_URL", None)
    os.environ.update({**bench_environment(Path(tempfile.mkdtemp(prefix="iop-cpu-"))),
                       "DATABASE_URL": url})
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.clinic import clinic_find, pin_clock
    from bench.web import pages_for, signed_in_clients

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    clinic = clinic_find()
    pin_clock(clinic)
    clients = signed_in_clients(clinic)
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    profiled = {n.strip() for n in args.profile.split(",") if n.strip()}
    pages = [p for p in pages_for(clinic)
             if not p.name.startswith(("static", "healthz"))
             and (not wanted or p.name.split(" (")[0] in wanted or p.name in wanted)]
    print(f"\n{args.size} participants; median of {args.repeat} requests in-process\n")
    print("| page | queries | SQL ms (3rd request) | SQL ms (after the repeats) "
          "| CPU ms (median) | CPU ms (min) | wall ms (median) |")
    print("|---|---|---|---|---|---|---|")
    for page in pages:
        client = clients[page.who]
        for _ in range(2):
            client.get(page.path)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page.path)
        if response.status_code != 200:
            print(f"| {page.name} | answered {response.status_code} | | | | | |")
            continue
        queries = len(captured.captured_queries)
        sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
        cpu, wall = [], []
        for _ in range(args.repeat):
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            client.get(page.path)
            cpu.append((time.process_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started_wall) * 1000)
        # Once more after the repeats: prepared statements run generic plans from a connection's
        # sixth execution, so this is the steady state the wall median mostly sees.
        with CaptureQueriesContext(connection) as captured:
            client.get(page.path)
        steady_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
        print(f"| {page.name} | {queries} | {sql_ms:.1f} | {steady_ms:.1f} "
              f"| {statistics.median(cpu):.1f} | {min(cpu):.1f} | {statistics.median(wall):.1f} |",
              flush=True)
        if page.name.split(" (")[0] in profiled or page.name in profiled:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(10):
                client.get(page.path)
            profile.disable()
            stats = pstats.Stats(profile, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(int(os.environ.get("PROFILE_LINES", 45)))
            stats.sort_stats("tottime").print_stats(int(os.environ.get("PROFILE_LINES", 25)))


if __name__ == "__main__":
    main()
