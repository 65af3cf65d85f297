"""Every query of every page, explained at a real clinic's size (figures, not a test).

    DATABASE_URL=postgres://... python bench/explain.py [--size 2000] [--only Today,chart] [--all]
        [--full] [--plan] [--reuse] [--history-weeks 26] [--loose-ends]

Builds (or, with --reuse, reuses) the invented clinic of bench/clinic.py in the scratch database
`<DATABASE_URL name>_web<size>` that `make bench-web --keep` leaves, requests each page once
through Django's test client as the persona who uses it, and runs EXPLAIN (ANALYZE, BUFFERS) on
every SELECT the page made. It prints, per page, the query count, the summed execution time and
the slowest query; and for every query it flags what does not scale with the page but with the
clinic: a sequential scan of a table over 20,000 rows, or more than 20,000 rows read to answer
it. Statements prepared once a connection (iop_clinic.prepared) are explained through their
EXECUTE, and flagged when their generic plan, which PostgreSQL may keep from a connection's sixth
run, runs slower than one planned for the request's values. A page is checked when it has no
flag. Nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BIG_TABLE_ROWS = 20_000
ROWS_READ_LIMIT = 20_000


def extra_pages(clinic):
    """The pages `bench/web.py` does not load-test but whose queries grow with a clinic."""
    from bench.web import Page

    track = clinic.track_ids[0]
    pages = [
        Page("caseload (active, sorted)", "/participants/?status=active&sort=name", "staff"),
        Page("caseload (page 5)", "/participants/?page=5", "staff"),
        Page("caseload (track)", f"/participants/?track={track}", "staff"),
        Page("chart audit trail", f"/participants/{clinic.chart_participant_code}/audit/",
             "admin"),
        Page("closures", "/programs/closures/", "admin"),
        Page("programs", "/programs/", "admin"),
        Page("reports index", "/reports/", "admin"),
    ]
    # The report pages themselves are in bench/web.py's list; not the attendance report by
    # program and clinician at once, whose rows are a caseload's within the program's sessions.
    from django.contrib.auth import get_user_model

    from programs.models import Track

    clinician_id = get_user_model().objects.get(username=clinic.clinician_username).pk
    program_id = Track.objects.get(pk=track).program_id
    pages.append(Page("report attendance (program and clinician)",
                      f"/reports/attendance/?program={program_id}&clinician={clinician_id}",
                      "admin"))
    return pages


def table_rows() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r'")
        return dict(cursor.fetchall())


def walk(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from walk(child)


def _plan(sql: str, params) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        document = cursor.fetchone()[0]
    document = json.loads(document) if isinstance(document, str) else document
    return document[0]


def _plan_as(mode: str, sql: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET plan_cache_mode = {mode}")
    try:
        return _plan(sql, None)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET plan_cache_mode")


def generic_plan(sql: str) -> tuple[str, list[str]]:
    """For a statement prepared by iop_clinic.prepared (`EXECUTE name(...)`): whether its
    generic plan, which PostgreSQL keeps from a connection's sixth run when it estimates it no
    dearer, runs slower than a plan made for the request's values. Estimates can be wrong, so
    this is the check to run when a statement opts in or the data grows (best of three each)."""
    custom = min(_plan_as("force_custom_plan", sql)["Execution Time"] for _ in range(3))
    generic = min(_plan_as("force_generic_plan", sql)["Execution Time"] for _ in range(3))
    figures = f"generic plan {generic:.2f} ms, planned for its values {custom:.2f} ms"
    return figures, [figures] if generic > 1.5 * custom + 0.3 else []


def explain(sql: str, params, sizes: dict[str, int]) -> tuple[float, list[str], int]:
    """Execution milliseconds of one query, what in its plan grows with the clinic, and the
    shared buffers it touched (hit + read: steadier than time, the figure to compare sizes by)."""
    top = _plan(sql, params)
    flags = []
    for node in walk(top["Plan"]):
        relation = node.get("Relation Name")
        loops = node.get("Actual Loops", 1)
        rows_read = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * loops
        if node["Node Type"] == "Seq Scan" and sizes.get(relation, 0) > BIG_TABLE_ROWS:
            flags.append(f"seq scan {relation} ({sizes[relation]:,} rows)")
        elif relation and rows_read > ROWS_READ_LIMIT:
            flags.append(f"{node['Node Type'].lower()} {relation} reads {rows_read:,} rows")
    buffers = top["Plan"].get("Shared Hit Blocks", 0) + top["Plan"].get("Shared Read Blocks", 0)
    return top["Execution Time"], flags, buffers


def text_plan(sql: str) -> str:
    """The statement's plan as EXPLAIN prints it, with times and buffers, to read by eye."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def prepared_text(sql: str) -> str:
    """The statement behind `EXECUTE name(...)`, as the connection prepared it."""
    from django.db import connection

    name = sql.split()[1].split("(")[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name = %s", [name])
        found = cursor.fetchone()
    return " ".join(found[0].split()) if found else "(not prepared on this connection)"


def main() -> None:
    from bench.web import add_clinic_arguments

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--only", default="", help="comma-separated page names")
    parser.add_argument("--all", action="store_true", help="print every query, not only flagged")
    parser.add_argument("--full", action="store_true",
                        help="print each statement whole, not its first few hundred characters")
    parser.add_argument("--plan", action="store_true",
                        help="print each listed statement's plan too (EXPLAIN ANALYZE, BUFFERS)")
    parser.add_argument("--reuse", action="store_true", help="reuse the scratch database")
    add_clinic_arguments(parser)
    args = parser.parse_args()

    import django

    from bench.scratch import admin_sql, scratch_database
    from bench.web import bench_environment, database_exists

    name, url = scratch_database(suffix=f"web{args.size}", script="bench/explain.py")
    reuse = args.reuse and database_exists(name)
    if not reuse:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin_sql(f'CREATE DATABASE "{name}"')
    import tempfile

    os.environ.pop("EMAIL_URL", None)
    os.environ.update({**bench_environment(Path(tempfile.mkdtemp(prefix="iop-explain-"))),
                       "DATABASE_URL": url})
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.clinic import build_clinic, clinic_find, pin_clock
    from bench.web import pages_for, signed_in_clients

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    clinic = (clinic_find() if reuse else
              build_clinic(participants=args.size, history_weeks=args.history_weeks,
                           loose_ends=args.loose_ends))
    pin_clock(clinic)
    clients = signed_in_clients(clinic)
    sizes = table_rows()
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    pages = [p for p in pages_for(clinic) + extra_pages(clinic)
             if not p.name.startswith(("no-op", "static", "healthz"))
             and (not wanted or p.name.split(" (")[0] in wanted or p.name in wanted)]

    print(f"\n{args.size} participants; flags: seq scan of a table over {BIG_TABLE_ROWS:,} rows "
          f"or over {ROWS_READ_LIMIT:,} rows read by one plan node\n")
    print("| page | queries | SQL ms (EXPLAIN ANALYZE) | slowest ms | buffers | flags |")
    print("|---|---|---|---|---|---|")
    details = []
    for page in pages:
        client = clients[page.who]
        client.get(page.path)  # warm caches and sessions
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page.path)
        if response.status_code != 200:
            print(f"| {page.name} | answered {response.status_code} | | | |")
            continue
        total, slowest, page_flags, page_buffers = 0.0, 0.0, [], 0
        for query in captured.captured_queries:
            sql = query["sql"]
            prepared = sql.lstrip().upper().startswith("EXECUTE")
            if not prepared and not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            # The captured SQL has its parameters interpolated already; a prepared statement's
            # EXECUTE runs on this connection, where the page's request prepared it.
            ms, flags, buffers = explain(sql, None, sizes)
            if prepared:
                figures, generic_flags = generic_plan(sql)
                flags += generic_flags
                sql = f"{sql} -- {figures} -- {prepared_text(sql)}"
            total += ms
            page_buffers += buffers
            slowest = max(slowest, ms)
            page_flags += flags
            if flags or args.all:
                details.append((page.name, ms, buffers, flags,
                                sql if args.full else sql[:300 if not prepared else 600],
                                text_plan(query["sql"]) if args.plan else ""))
        print(f"| {page.name} | {len(captured.captured_queries)} | {total:.1f} | {slowest:.1f} "
              f"| {page_buffers:,} "
              f"| {'; '.join(sorted(set(page_flags))) or 'none'} |")
    if details:
        print("\nQueries with flags" + (" (and all others)" if args.all else "") + ":")
        for page_name, ms, buffers, flags, sql, plan in details:
            print(f"- {page_name}: {ms:.1f} ms, {buffers:,} buffers {'; '.join(flags)}\n    {sql}")
            if plan:
                print("\n".join(f"      {line}" for line in plan.splitlines()))


if __name__ == "__main__":
    main()
