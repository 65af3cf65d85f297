"""`make restore BACKUP=backups/iop-...`: put a backup from scripts/backup.py back, then fence
the reminder outbox so nothing goes out twice.

    python scripts/restore.py BACKUP_FOLDER [--database NAME] [--until ISO-TIME] [--no-fence]

Stop the web app, every worker and beat first. Restores into the database of DATABASE_URL,
or into NAME on the same server (then point DATABASE_URL at it). The database is created when
missing and must be empty otherwise: this never overwrites data (drop or rename the old
database yourself, after you are sure). Steps: verify the checksums, pg_restore in one
transaction, `manage.py migrate` (a backup from an older release is brought forward), then
`manage.py restore_fence` (reminders/fence.py): every reminder the lost database may already
have sent since the dump is held for staff review instead of being sent again. `--until` is
when the old system stopped sending, if you know it (default: now, always safe).
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backup import (  # noqa: E402  (a script beside this one, not a package)
    CHECKSUMS, MANIFEST, ROOT, database_name, libpq_url, load_env, secret_fingerprint, sha256,
    tool, with_database,
)


def verify(folder: Path) -> dict:
    sums = folder / CHECKSUMS
    if not sums.is_file():
        raise SystemExit(f"{folder} is not a backup folder (no {CHECKSUMS}).")
    for line in sums.read_text().splitlines():
        expected, name = line.split(maxsplit=1)
        if sha256(folder / name) != expected:
            raise SystemExit(f"{folder / name} does not match its checksum: refusing to restore.")
    return json.loads((folder / MANIFEST).read_text())


def _connect(url: str):
    import psycopg2

    return psycopg2.connect(url)


def prepare_empty_database(url: str) -> None:
    """Create the database when missing; refuse one that already has tables."""
    import psycopg2

    name = database_name(url)
    try:
        connection = _connect(url)
    except psycopg2.OperationalError as exc:
        if f'"{name}" does not exist' not in str(exc):
            raise
        maintenance = _connect(with_database(url, "postgres"))
        maintenance.autocommit = True
        with maintenance.cursor() as cursor:
            from psycopg2 import sql

            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        maintenance.close()
        print(f"Created database {name}.")
        return
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.tables "
                       "WHERE table_schema = 'public'")
        tables = cursor.fetchone()[0]
    connection.close()
    if tables:
        raise SystemExit(f"Database {name} already has {tables} tables: restore into an empty "
                         "database (--database NEW_NAME), or drop this one yourself first.")


def manage(*args: str, database_url: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True,
                   env={**os.environ, "DATABASE_URL": database_url})


def restore(*, folder: Path, database: str | None = None, until: str | None = None,
            fence: bool = True) -> None:
    manifest = verify(folder)
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        raise SystemExit("DATABASE_URL is not set: say which server to restore into.")
    target_url = with_database(database_url, database)
    url = libpq_url(target_url)
    prepare_empty_database(url)
    subprocess.run([tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                    "--single-transaction", f"--dbname={url}", str(folder / manifest["dump"])],
                   check=True)
    print(f"Restored {folder.name} (taken {manifest['created_at']}) into "
          f"{database_name(url)}.")
    key = os.environ.get("DJANGO_SECRET_KEY", "")
    if manifest.get("secret_key_fingerprint") and (
            not key or secret_fingerprint(key) != manifest["secret_key_fingerprint"]):
        print("Warning: DJANGO_SECRET_KEY is not the one in use when the backup was taken; "
              "everyone will have to sign in again and emailed password-reset links stop "
              "working.")
    manage("migrate", "--noinput", database_url=target_url)
    if fence:
        manage("restore_fence", *(["--until", until] if until else []), database_url=target_url)
    else:
        print("Warning: --no-fence: reminders sent after the dump may be sent again.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a folder written by scripts/backup.py")
    parser.add_argument("--database", default=None,
                        help="restore into this database on DATABASE_URL's server")
    parser.add_argument("--until", default=None,
                        help="when the old system stopped sending (ISO 8601); default now")
    parser.add_argument("--no-fence", action="store_true",
                        help="skip the reminder fence (only for a copy that will never send)")
    args = parser.parse_args(argv)
    load_env()
    restore(folder=args.folder, database=args.database, until=args.until,
            fence=not args.no_fence)
    print("Start the web app, then the workers and beat. Review held reminders in the admin: "
          "Reminders, needs attention, reason \"restored\".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
