"""`make backup`: one folder holding a pg_dump of the database in custom format, a manifest,
and checksums; `scripts/restore.py` (`make restore`) puts it back.

    python scripts/backup.py [--dir backups] [--label nightly]

Reads DATABASE_URL (the environment, or .env like the app); PostgreSQL only. The folder is
created 0700 and its files 0600: the dump holds health information, password hashes and the
staff's two-factor secrets, so store and ship it encrypted.

What is NOT in the backup, on purpose, and must be kept elsewhere (your secrets store): the
values of the variables listed under `secrets_needed` in the manifest. Their names are written,
never their values. The app keeps no uploaded files (no media): report exports are temporary
(REPORT_EXPORT_DIR, deleted after REPORT_EXPORT_RETENTION_HOURS; a restored link answers 404 and
the report is exported again) and beat's schedule file is rebuilt at start.
"""
import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DUMP = "database.dump"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
# Kept outside the backup, needed to run the restored database as before (docs/deploy.md).
SECRETS_NEEDED = {
    "DJANGO_SECRET_KEY": "signs sessions and password-reset links; a new key signs everyone out",
    "DATABASE_URL": "the database password",
    "REDIS_URL": "the broker's password, if it has one",
    "EMAIL_URL": "the SMTP relay's user and password",
    "SMS_ACCOUNT_SID": "the SMS provider account",
    "SMS_AUTH_TOKEN": "sends texts and verifies inbound webhooks (re-issued in the provider's "
                      "console if lost)",
}


def load_env() -> None:
    """The same .env the app reads (settings/base.py), without overriding the environment."""
    try:
        import environ
    except ImportError:
        return
    environ.Env.read_env(ROOT / ".env", overwrite=False)


def with_database(database_url: str, database: str | None) -> str:
    """The same URL (server, credentials, options) pointing at another database."""
    if not database:
        return database_url
    return urlunsplit(urlsplit(database_url)._replace(path="/" + quote(database, safe="")))


def libpq_url(database_url: str) -> str:
    """DATABASE_URL as libpq (pg_dump, pg_restore, psycopg2) reads it."""
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"Backups need PostgreSQL; DATABASE_URL is {parts.scheme}://...")
    return urlunsplit(parts._replace(scheme="postgresql"))


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def secret_fingerprint(value: str) -> str:
    """Enough to tell at restore whether DJANGO_SECRET_KEY is the one in use at backup time,
    nothing that helps guess it."""
    return hashlib.sha256(b"iop-backup-fingerprint:" + value.encode()).hexdigest()[:16]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: install the PostgreSQL client "
                         "(apt-get install postgresql-client), the same major version as the "
                         "server or newer.")
    return found


def backup(*, directory: Path, label: str = "") -> Path:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        raise SystemExit("DATABASE_URL is not set: nothing to back up.")
    url = libpq_url(database_url)
    now = dt.datetime.now(dt.UTC)
    name = f"iop-{now:%Y%m%dT%H%M%SZ}" + (f"-{label}" if label else "")
    target = directory / name
    directory.mkdir(parents=True, exist_ok=True)
    target.mkdir(mode=0o700)
    old_umask = os.umask(0o077)
    try:
        # Custom format: compressed, restorable table by table, and pg_restore can list it.
        # One consistent snapshot of the whole database (pg_dump's own transaction); writers
        # go on meanwhile.
        subprocess.run([tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                        f"--file={target / DUMP}", f"--dbname={url}"], check=True)
        version = subprocess.run([tool("pg_dump"), "--version"], check=True,
                                 capture_output=True, text=True).stdout.strip()
        secret_key = os.environ.get("DJANGO_SECRET_KEY", "")
        manifest = {
            "format": 1,
            "created_at": now.isoformat(),
            "database": database_name(url),
            "dump": DUMP,
            "pg_dump": version,
            "media": None,
            "secret_key_fingerprint": secret_fingerprint(secret_key) if secret_key else None,
            "secrets_needed": SECRETS_NEEDED,
        }
        (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        (target / CHECKSUMS).write_text("".join(
            f"{sha256(target / file)}  {file}\n" for file in (DUMP, MANIFEST)))
    finally:
        os.umask(old_umask)
    return target


def prune(directory: Path, *, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backup folders (names sort by time); returns them."""
    folders = sorted(path for path in directory.glob("iop-*")
                     if path.is_dir() and (path / CHECKSUMS).is_file())
    old = folders[:-keep] if keep > 0 else []
    for folder in old:
        shutil.rmtree(folder)
    return old


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=os.environ.get("BACKUP_DIR", str(ROOT / "backups")),
                        help="where backup folders go (BACKUP_DIR; default backups/)")
    parser.add_argument("--label", default="", help="appended to the folder's name")
    parser.add_argument("--keep", type=int, default=0,
                        help="then delete all but the newest KEEP backups in --dir (0: keep all)")
    args = parser.parse_args(argv)
    load_env()
    target = backup(directory=Path(args.dir), label=args.label)
    size = (target / DUMP).stat().st_size
    print(f"Backup written to {target} ({size:,} bytes).")
    for folder in prune(Path(args.dir), keep=args.keep):
        print(f"Deleted the older backup {folder.name}.")
    print("Keep these values in your secrets store; they are not in the backup:")
    for variable, why in SECRETS_NEEDED.items():
        print(f"  {variable}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
