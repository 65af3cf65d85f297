"""`manage.py preflight`: one line per check, OK or FAIL, and exit status 1 when any fails.

A configuration ready for traffic passes (in process and as a real production process); then
each check is broken on its own and must say FAIL with a line a person can act on."""
import json
import os
import secrets
import subprocess
import sys
from io import StringIO
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from tests.reminders.processes import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db]

CHECKS = ["database", "migrations", "broker", "email", "sms", "public_url", "static",
          "check_deploy"]


@pytest.fixture
def ready(settings):
    """Settings a clinic could go live with (production's security settings included)."""
    settings.CELERY_BROKER_URL = settings.REDIS_URL = os.environ["REDIS_URL"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "smtp.example.org", 587
    settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL = True, False
    settings.DEFAULT_FROM_EMAIL = "Maple Street <appointments@maple.example.org>"
    settings.SMS_BACKEND = "reminders.channels.sms.HttpBackend"
    settings.SMS_API_BASE_URL = "https://api.twilio.com/2010-04-01"
    settings.SMS_ACCOUNT_SID, settings.SMS_AUTH_TOKEN = "AC" + "0" * 32, "token-not-shown"
    settings.SMS_FROM_NUMBER, settings.SMS_WEBHOOK_BASE_URL = "+15555550100", ""
    settings.PUBLIC_BASE_URL = "https://clinic.example.org"
    settings.ALLOWED_HOSTS = ["clinic.example.org"]
    settings.SECRET_KEY = secrets.token_urlsafe(64)
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return settings


def preflight(*args: str) -> tuple[str, bool]:
    out = StringIO()
    try:
        call_command("preflight", *args, stdout=out)
    except CommandError as error:
        return out.getvalue() + str(error), False
    return out.getvalue(), True


def line(output: str, name: str) -> str:
    return next(row for row in output.splitlines() if row[6:].startswith(name + " "))


def test_it_passes_a_configuration_ready_for_traffic(ready):
    output, passed = preflight()
    assert passed, output
    assert [row[:4] for row in output.splitlines()[:len(CHECKS)]] == ["OK  "] * len(CHECKS)
    assert "all 8 checks passed" in output
    assert "token-not-shown" not in output and "0000000000" not in output


@pytest.mark.parametrize("name, change, says", [
    ("broker", {"REDIS_URL": ""}, "no REDIS_URL"),
    ("broker", {"CELERY_BROKER_URL": "redis://127.0.0.1:{port}/0"}, "cannot reach"),
    ("email", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"},
     "would not leave this machine"),
    ("email", {"DEFAULT_FROM_EMAIL": "appointments@clinic.example"}, "still the example"),
    ("email", {"DEFAULT_FROM_EMAIL": "front desk"}, "is not an email address"),
    ("email", {"EMAIL_HOST": ""}, "names no SMTP host"),
    ("email", {"EMAIL_USE_SSL": True}, "both STARTTLS and SSL"),
    ("sms", {"SMS_BACKEND": "reminders.channels.sms.ConsoleBackend"}, "would not reach phones"),
    ("sms", {"SMS_ACCOUNT_SID": ""}, "SMS_ACCOUNT_SID is missing"),
    ("sms", {"SMS_AUTH_TOKEN": ""}, "SMS_AUTH_TOKEN is missing"),
    ("sms", {"SMS_FROM_NUMBER": "(555) 555-0100"}, "not an international number"),
    ("sms", {"SMS_API_BASE_URL": "http://api.twilio.com/2010-04-01"}, "not https"),
    ("sms", {"SMS_WEBHOOK_BASE_URL": "http://clinic.example.org"}, "SMS_WEBHOOK_BASE_URL"),
    ("public_url", {"PUBLIC_BASE_URL": "http://clinic.example.org"}, "not an https://"),
    ("public_url", {"PUBLIC_BASE_URL": "https://clinic.example.org/iop"}, "scheme and host"),
    ("public_url", {"PUBLIC_BASE_URL": "https://iop.example.org"}, "not in DJANGO_ALLOWED"),
    ("static", {"STORAGES": {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}},
        "STATIC_ROOT": "{tmp}"}, "run `manage.py collectstatic`"),
    ("check_deploy", {"SECURE_HSTS_SECONDS": 0}, "security.W004"),
    ("check_deploy", {"SESSION_COOKIE_SECURE": False}, "security.W012"),
])
def test_it_fails_each_check_on_its_own(ready, tmp_path, name, change, says):
    for setting, value in change.items():
        if isinstance(value, str):
            value = value.format(port=free_port(), tmp=tmp_path)
        setattr(ready, setting, value)
    output, passed = preflight()
    assert not passed
    assert line(output, name).startswith("FAIL") and says in line(output, name), output
    failed = [row.split()[1] for row in output.splitlines() if row.startswith("FAIL")]
    assert failed == [name]
    assert f"1 of 8 checks failed ({name})" in output


def test_it_fails_on_a_migration_not_applied_and_on_one_from_a_newer_release(ready):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'reminders' "
                       "AND name = '0004_reminder_reason_restored'")
    output, passed = preflight()
    assert not passed
    assert "1 not applied: reminders.0004_reminder_reason_restored" in line(output, "migrations")

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO django_migrations (app, name, applied) VALUES "
                       "('reminders', '0004_reminder_reason_restored', now()), "
                       "('reminders', '0099_from_the_future', now())")
    output, passed = preflight()
    assert not passed
    assert "reminders.0099_from_the_future): a newer release ran here" in line(output,
                                                                                  "migrations")


def test_it_opens_an_smtp_connection_only_when_asked(ready):
    ready.EMAIL_HOST, ready.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    ready.EMAIL_TIMEOUT = 2
    output, passed = preflight()
    assert passed and "not contacted" in line(output, "email")
    output, passed = preflight("--connect-email")
    assert not passed and "cannot sign in to 127.0.0.1" in line(output, "email")


def test_it_leaves_out_a_check_it_is_told_to_skip(ready):
    ready.SMS_BACKEND = "reminders.channels.sms.FileBackend"  # a clinic that sends no texts
    output, passed = preflight("--skip", "sms")
    assert passed and "SKIP  sms" in output and "all 7 checks passed" in output


# --- The real thing: a production process, before traffic --------------------------------

def production_env(tmp_path, *, database_url: str, redis_url: str) -> dict:
    static = tmp_path / "static"
    static.mkdir(exist_ok=True)
    (static / "staticfiles.json").write_text(json.dumps({"paths": {}, "version": "1.1"}))
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "DJANGO_", "EMAIL_", "SMS_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "iop_clinic.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "clinic.example.org",
        "PUBLIC_BASE_URL": "https://clinic.example.org",
        "DJANGO_STATIC_ROOT": str(static),
        "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "EMAIL_URL": "smtp+tls://reminders:smtp-password-not-shown@smtp.example.org:587",
        "DEFAULT_FROM_EMAIL": "appointments@maple.example.org",
        "SMS_ACCOUNT_SID": "AC" + "1" * 32, "SMS_AUTH_TOKEN": "sms-token-not-shown",
        "SMS_FROM_NUMBER": "+15555550100",
        "PYTHONPATH": str(django_settings.BASE_DIR),
    })
    return env


def database_url(name: str) -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def run_preflight(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "preflight"],
                          cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.e2e
def test_it_lets_a_production_process_through_and_stops_one_without_database_or_broker(
        tmp_path):
    env = production_env(tmp_path, database_url=database_url(connection.settings_dict["NAME"]),
                         redis_url=os.environ["REDIS_URL"])
    ready = run_preflight(env)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert ready.stdout.count("\nOK  ") + ready.stdout.startswith("OK  ") == len(CHECKS)
    assert "not-shown" not in ready.stdout + ready.stderr

    env.update(DATABASE_URL=database_url("iop_no_such_database"),
               REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    broken = run_preflight(env)
    assert broken.returncode == 1
    failed = [row.split()[1] for row in broken.stdout.splitlines() if row.startswith("FAIL")]
    assert failed == ["database", "migrations", "broker"]
    assert "not checked: no database" in broken.stdout
    assert "3 of 8 checks failed" in broken.stderr
