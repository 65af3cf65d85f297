"""Production settings, checked the way a deploy would load them: in a fresh process."""
import os
import secrets
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "iop_clinic.settings.production",
    "DJANGO_ALLOWED_HOSTS": "clinic.example.org",
    "DATABASE_URL": "postgres://clinic@db.example.org:5432/clinic",
    "REDIS_URL": "redis://cache.example.org:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:not-a-real-password@smtp.example.org:587",
    # Production sends SMS through the HTTP provider and refuses to start without its account.
    "SMS_ACCOUNT_SID": "AC00000000000000000000000000000000",
    "SMS_AUTH_TOKEN": "not-a-real-token",
    "SMS_FROM_NUMBER": "+15555550100",
    "PUBLIC_BASE_URL": "https://clinic.example.org",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "EMAIL_URL",
                                          "SMS_", "PUBLIC_BASE_URL"))}
    environment.update(PRODUCTION_ENV)
    environment.update(env)
    environment = {key: value for key, value in environment.items() if value is not None}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR,
                          env=environment, capture_output=True, text=True, timeout=120,
                          check=False)


def test_it_passes_the_deployment_checklist_with_production_values():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING",
                        DJANGO_SECRET_KEY=secrets.token_urlsafe(64))

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key():
    result = run_manage("check")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_it_refuses_to_start_with_a_short_secret_key():
    result = run_manage("check", DJANGO_SECRET_KEY="short")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


def test_it_refuses_to_start_with_debug_on():
    result = run_manage("check", DJANGO_SECRET_KEY=secrets.token_urlsafe(64), DJANGO_DEBUG="true")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_DEBUG must be off" in result.stderr


def test_it_refuses_to_start_without_the_public_base_url():
    missing = run_manage("check", DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
                         PUBLIC_BASE_URL=None)
    plain_http = run_manage("check", DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
                            PUBLIC_BASE_URL="http://clinic.example.org")

    assert missing.returncode != 0 and "PUBLIC_BASE_URL" in missing.stderr
    assert plain_http.returncode != 0 and "must be the clinic's https:// address" in (
        plain_http.stderr)

