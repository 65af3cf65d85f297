"""Scratch PostgreSQL databases for the benchmarks: named after DATABASE_URL's, made and dropped here."""
import os
import sys
from urllib.parse import urlparse


def scratch_database(*, suffix: str, script: str) -> tuple[str, str]:
    """The name and URL of `<DATABASE_URL's database>_<suffix>`; exits unless it is PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit(f"{script} needs DATABASE_URL=postgres://... (it creates a scratch database)")
    parsed = urlparse(url)
    name = f"{parsed.path.lstrip('/')}_{suffix}"
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
