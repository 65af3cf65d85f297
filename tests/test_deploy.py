"""What docs/deploy.md and deploy/ promise: systemd units that systemd accepts, a proxy that
reaches the web unit, a guide that lists every environment variable and every migration, a
migration that gives up instead of stalling the app behind a lock, and backups that prune."""
import configparser
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "deploy" / "systemd"
GUIDE = (ROOT / "docs" / "deploy.md").read_text()


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    return parser


ALL_UNITS = sorted(path.name for path in UNITS.iterdir())


def test_it_ships_a_unit_for_every_process_of_the_guide():
    assert {"iop-web.service", "iop-worker.service", "iop-beat.service", "iop-backup.service",
            "iop-backup.timer"} <= set(ALL_UNITS)
    for name in ALL_UNITS:
        assert f"`{name}`" in GUIDE or name in GUIDE, name


@pytest.mark.parametrize("name", [n for n in ALL_UNITS if n.endswith(".service")])
def test_it_parses_every_service_and_runs_it_as_the_app_user_with_the_app_environment(name):
    service = unit(name)["Service"]
    assert service["User"] == service["Group"] == "iop"
    assert service["WorkingDirectory"] == "/srv/iop"
    assert service["EnvironmentFile"] == "/etc/iop/env"
    executable = service["ExecStart"].split()[0]
    assert executable.startswith("/srv/iop/.venv/bin/"), executable
    assert unit(name)["Unit"]["Description"]


@pytest.mark.parametrize("name", [n for n in ALL_UNITS if n.endswith(".timer")])
def test_it_parses_every_timer_and_points_it_at_a_service_that_exists(name):
    timer = unit(name)
    assert (UNITS / timer["Timer"].get("Unit", name.replace(".timer", ".service"))).is_file()
    assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_itself_accepts_every_unit(tmp_path):
    for name in ALL_UNITS:
        shutil.copy(UNITS / name, tmp_path / name)
    result = subprocess.run(["systemd-analyze", "verify", *sorted(map(str, tmp_path.iterdir()))],
                            capture_output=True, text=True, timeout=60)
    # The code is not installed in /srv/iop here; anything else is a real complaint.
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if line.strip() and "is not executable: No such file or directory" not in line]
    assert not complaints, "\n".join(complaints)


def test_the_web_unit_serves_the_production_profile_on_the_proxys_upstream():
    web = unit("iop-web.service")
    service = web["Service"]
    assert service["ExecStart"].endswith(
        "/gunicorn -c iop_clinic/gunicorn.conf.py iop_clinic.wsgi")
    assert "DJANGO_SETTINGS_MODULE=iop_clinic.settings.production" in service["Environment"]
    bind = re.search(r"GUNICORN_BIND=(\S+)", service["Environment"]).group(1)
    assert bind.startswith("127.0.0.1:")  # only the proxy on this host reaches it
    assert service["Restart"] == "always" and web["Unit"]["StartLimitIntervalSec"] == "0"
    assert service["Type"] == "notify" and service["KillMode"] == "mixed"
    # Longer than gunicorn's graceful timeout (30 s), so requests in hand finish.
    assert int(service["TimeoutStopSec"]) > 30

    nginx = (ROOT / "deploy" / "nginx" / "iop.conf").read_text()
    assert f"server {bind};" in nginx
    caddy = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text()
    assert f"reverse_proxy {bind}" in caddy


def test_the_nginx_example_terminates_tls_and_tells_django_so():
    nginx = (ROOT / "deploy" / "nginx" / "iop.conf").read_text()
    directives = {line.strip().rstrip(";") for line in nginx.splitlines()
                  if line.strip() and not line.strip().startswith("#")}
    assert "listen 443 ssl" in directives and "return 301 https://$host$request_uri" in directives
    # Django: SECURE_PROXY_SSL_HEADER reads X-Forwarded-Proto; ALLOWED_HOSTS reads Host.
    assert "proxy_set_header X-Forwarded-Proto $scheme" in directives
    assert "proxy_set_header Host $host" in directives
    assert "access_log off" in directives  # calendar-feed paths carry a token
    timeout = int(re.search(r"proxy_read_timeout (\d+)s", nginx).group(1))
    assert timeout > 30  # gunicorn's own timeout acts first
    production = (ROOT / "iop_clinic" / "settings" / "production.py").read_text()
    assert 'SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")' in production


def test_the_backup_timer_runs_the_backup_script_and_keeps_a_window():
    service = unit("iop-backup.service")["Service"]
    assert service["Type"] == "oneshot"
    assert "scripts/backup.py --dir /var/backups/iop --keep " in service["ExecStart"]


def variables_the_code_reads() -> set[str]:
    names = set()
    for path in [*sorted((ROOT / "iop_clinic" / "settings").glob("*.py")),
                 ROOT / "iop_clinic" / "gunicorn.conf.py", ROOT / "scripts" / "backup.py",
                 ROOT / "scripts" / "restore.py"]:
        source = path.read_text()
        names |= set(re.findall(r"\benv(?:\.\w+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))
        names |= set(re.findall(r"os\.environ(?:\.get)?[(\[]\s*[\"']([A-Z][A-Z0-9_]*)[\"']",
                                source))
        names |= set(re.findall(r"\b_int\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))
    return names


def test_the_guide_lists_every_environment_variable_the_code_reads():
    names = variables_the_code_reads()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "GUNICORN_WORKERS", "PORT",
            "DATABASE_LOCK_TIMEOUT"} <= names  # the scan finds each kind of read
    missing = sorted(name for name in names if f"`{name}`" not in GUIDE)
    assert not missing, f"docs/deploy.md does not list: {missing}"


def test_the_guide_says_for_every_migration_what_it_locks():
    migrations = sorted(
        (path.parent.parent.name, path.stem) for path in ROOT.glob("*/migrations/0*.py"))
    assert len(migrations) > 10
    labels = {"sessions": "iop_sessions"}
    missing = [f"{labels.get(app, app)} {name}" for app, name in migrations
               if f"`{labels.get(app, app)} {name}`" not in GUIDE]
    assert not missing, f"docs/deploy.md's migration table does not list: {missing}"


@pytest.mark.postgres
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_migration_blocked_by_a_reader_gives_up_after_the_lock_timeout():
    """Unapplying reports 0001 (nothing depends on it) drops the export table: a statement that
    needs the table to itself. Another connection reads the table in an open transaction; with
    DATABASE_LOCK_TIMEOUT the migration gives up and the table is still there."""
    db = connection.settings_dict
    reader = psycopg2.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None,
                              host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)
    env = {"DJANGO_SETTINGS_MODULE": "iop_clinic.settings.test",
           "DATABASE_URL": (f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
                            f"{db['PORT'] or 5432}/{db['NAME']}"),
           "DATABASE_LOCK_TIMEOUT": "1s", "PATH": "/usr/bin:/bin"}
    try:
        with reader.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM reports_reportexport")  # holds ACCESS SHARE
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "reports", "zero", "--noinput"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        reader.rollback()
        reader.close()
        call_command("migrate", "reports", verbosity=0)  # should this test ever fail, repair
    assert result.returncode != 0
    assert "lock timeout" in result.stderr
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('reports_reportexport') IS NOT NULL")
        assert cursor.fetchone() == (True,)  # the table is still there


def load_backup_script():
    spec = importlib.util.spec_from_file_location("backup_script", ROOT / "scripts" / "backup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_backups_keep_the_newest_ones_and_nothing_else_in_the_folder(tmp_path):
    backup = load_backup_script()
    for stamp in ["20261128T023000Z", "20261129T023000Z", "20261130T023000Z-before-upgrade",
                  "20261130T150000Z"]:
        (tmp_path / f"iop-{stamp}").mkdir()
        (tmp_path / f"iop-{stamp}" / backup.CHECKSUMS).write_text("")
    (tmp_path / "iop-notes").mkdir()  # not a backup: no checksums
    deleted = backup.prune(tmp_path, keep=2)
    assert [path.name for path in deleted] == ["iop-20261128T023000Z", "iop-20261129T023000Z"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "iop-20261130T023000Z-before-upgrade", "iop-20261130T150000Z", "iop-notes"]
    assert backup.prune(tmp_path, keep=0) == []


def test_backups_refuse_a_database_that_is_not_postgresql(monkeypatch, tmp_path):
    backup = load_backup_script()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/db.sqlite3")
    with pytest.raises(SystemExit, match="Backups need PostgreSQL"):
        backup.backup(directory=tmp_path)
    assert backup.with_database("postgres://u:p@h:5432/iop?sslmode=require", "iop_restored") \
        == "postgres://u:p@h:5432/iop_restored?sslmode=require"
