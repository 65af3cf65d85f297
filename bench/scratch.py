"""Scratch PostgreSQL databases for the benchmarks: named after DATABASE_URL's, made and dropped here."""
import fcntl
import os
import sys
import tempfile
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

# The databases this process holds (`hold_database`): their lock files, open until it exits.
_HELD: dict[str, IO[str]] = {}


def scratch_database(*, suffix: str, script: str) -> tuple[str, str]:
    """The name and URL of `<DATABASE_URL's database>_<suffix>`, held by this process until it
    exits (`hold_database`); exits unless it is PostgreSQL, or when another bench holds it."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit(f"{script} needs DATABASE_URL=postgres://... (it uses a scratch database)")
    parsed = urlparse(url)
    name = f"{parsed.path.lstrip('/')}_{suffix}"
    hold_database(name, script=script)
    return name, parsed._replace(path="/" + name).geturl()


def admin_sql(statement: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the server's `postgres` database."""
    import psycopg2

    parsed = urlparse(os.environ["DATABASE_URL"])
    connection = psycopg2.connect(dbname="postgres", user=parsed.username or "postgres",
                                  password=parsed.password, host=parsed.hostname or "127.0.0.1",
                                  port=parsed.port or 5432)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def hold_database(name: str, *, script: str) -> None:
    """Make this process the only bench on this machine using the scratch database `name`
    until it exits; exit with a message if another holds it.

    Two at once spoil each other's figures, and worse: each one that finds a clinic issues
    its portal person a new calendar feed token (bench.clinic.clinic_find; only the token's hash
    is kept), so a server already measuring the feed answers 404, and one that builds drops the
    database another is serving. An exclusive flock on a file named after the database, which
    the kernel releases when the process ends, however it ends."""
    if name in _HELD:
        return
    path = Path(tempfile.gettempdir()) / f"iop-bench-{name}.lock"
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        sys.exit(f"{script}: another bench process is using {name} ({path} is locked); "
                 "run one at a time")
    _HELD[name] = handle
