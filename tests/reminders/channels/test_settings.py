"""SMS settings are read strictly: a bad value stops the process instead of failing at send time."""
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

PRODUCTION_BASICS = {
    "DJANGO_SECRET_KEY": "x" * 60,
    "DJANGO_ALLOWED_HOSTS": "clinic.example.org",
    "PUBLIC_BASE_URL": "https://clinic.example.org",
}


def load_settings(module: str, **env: str) -> subprocess.CompletedProcess:
    """Import a settings module in a fresh interpreter with only the given environment."""
    code = f"import importlib; m = importlib.import_module('{module}'); print(m.SMS_BACKEND)"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        cwd=django_settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(django_settings.BASE_DIR), **env},
    )


pytestmark = pytest.mark.skipif(
    (django_settings.BASE_DIR / ".env").exists(),
    reason="a .env file in the project would leak into these settings",
)


def test_it_refuses_to_start_production_without_sms_credentials():
    result = load_settings("iop_clinic.settings.production", **PRODUCTION_BASICS)

    assert result.returncode != 0
    assert "SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM_NUMBER" in result.stderr


def test_it_starts_production_with_sms_credentials():
    result = load_settings("iop_clinic.settings.production", **PRODUCTION_BASICS,
                           SMS_ACCOUNT_SID="AC" + "0" * 32, SMS_AUTH_TOKEN="token",
                           SMS_FROM_NUMBER="+15555550100")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "reminders.channels.sms.HttpBackend"


def test_it_refuses_a_from_number_that_is_not_international():
    result = load_settings("iop_clinic.settings.local", SMS_FROM_NUMBER="555-0100")

    assert result.returncode != 0
    assert "SMS_FROM_NUMBER must be in international format" in result.stderr


def test_it_never_lets_the_test_suite_reach_a_real_provider():
    result = load_settings("iop_clinic.settings.test",
                           TEST_SMS_BACKEND="reminders.channels.sms.HttpBackend")

    assert result.returncode != 0
    assert "TEST_SMS_BACKEND must be one of" in result.stderr
