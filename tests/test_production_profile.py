"""The production profile as deployed: collectstatic, then gunicorn with production settings."""
import json
import os
import secrets
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.reminders.processes import free_port, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]


def production_env(static_root: Path) -> dict[str, str]:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "DJANGO_", "EMAIL_", "SMS_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "iop_clinic.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # No TLS proxy in front of this test server.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_STATIC_ROOT": str(static_root),
        "PUBLIC_BASE_URL": "https://clinic.example.org",
        "DATABASE_URL": (f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:"
                         f"{db['PORT'] or 5432}/{db['NAME']}"),
        "SMS_BACKEND": settings.SMS_BACKEND,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PYTHONPATH": str(settings.BASE_DIR),
    })
    return env


def get(url: str, **headers: str):
    request = urllib.request.Request(url, headers=headers)
    return urllib.request.urlopen(request, timeout=10)  # noqa: S310 (127.0.0.1 only)


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def gunicorn(tmp_path):
    env = production_env(tmp_path / "static")
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                   cwd=settings.BASE_DIR, env=env, check=True, timeout=120)
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "iop_clinic/gunicorn.conf.py",
         "--workers", "2", "--bind", f"127.0.0.1:{port}", "iop_clinic.wsgi"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        wait_for(lambda: answers(port) or process.poll() is not None, timeout=60,
                 what="gunicorn to listen")
        assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
        yield f"http://127.0.0.1:{port}", tmp_path / "static"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_it_serves_hashed_compressed_static_files_and_pages(gunicorn):
    base_url, static_root = gunicorn
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["css/app.css"]
    assert hashed != "css/app.css"

    with get(f"{base_url}/static/{hashed}", **{"Accept-Encoding": "gzip"}) as response:
        assert response.status == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert "immutable" in response.headers["Cache-Control"]

    with get(f"{base_url}/accounts/login/") as response:
        assert response.status == 200
        page = response.read().decode()
    assert f"/static/{hashed}" in page
    assert response.headers["Content-Security-Policy"]

    with get(f"{base_url}/healthz") as response:
        health = json.loads(response.read())
    # No Celery worker runs here, so the whole is "degraded"; this process itself serves.
    assert (health["database"], health["broker"]) == ("ok", "ok")

    # The master compiled the templates and URL lookups before forking the workers.
    log = (static_root.parent / "gunicorn.log").read_text()
    assert "Warmed before forking: URLs (" in log, log
