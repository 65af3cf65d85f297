"""Issue 13, item 13: seed_demo prints no emails, and the demo logins come last."""
import datetime as dt
import io
import subprocess

import pytest
import time_machine
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_it_seeds_quietly_with_the_logins_last(settings, capsys):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    out = io.StringIO()
    with time_machine.travel(dt.datetime(2026, 2, 11, 20, 0, tzinfo=dt.UTC), tick=False):
        call_command("seed_demo", stdout=out)
    printed = capsys.readouterr().out + out.getvalue()

    assert "Subject:" not in printed and "Content-Type:" not in printed
    assert "notification emails of the invented history were not sent" in printed
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    logins_at = next(i for i, line in enumerate(lines) if line.startswith("Demo logins"))
    assert all(line.startswith(("  ", "admin and director", "page;", "6-digit"))
               for line in lines[logins_at + 1:]), lines[logins_at:]
    assert len(lines) < 30
    assert settings.EMAIL_BACKEND.endswith("console.EmailBackend")  # restored


def test_make_install_shows_pips_progress():
    dry = subprocess.run(["make", "-n", "-B", "install"], capture_output=True, text=True,
                         check=False, timeout=60)
    install = next(line for line in dry.stdout.splitlines() if "-r requirements-dev.txt" in line)
    assert "--quiet" not in install and "--progress-bar on" in install
