"""The preflight checks: is this configuration ready for traffic? One function per check, each
answering OK or FAIL with one line a person can act on (never a password or a token).

Run by `manage.py preflight` after `migrate` and `collectstatic` and before the proxy sends
traffic to a new release (docs/deploy.md). Each check reads settings, so the same code checks
any settings module; the command runs them all even when one fails.
"""
import re
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core import checks as django_checks
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http.request import validate_host
from django.utils.module_loading import import_string

# The backends that keep messages on this machine: fine on a laptop, wrong for a clinic.
LOCAL_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
LOCAL_SMS_BACKENDS = {
    "reminders.channels.sms.ConsoleBackend",
    "reminders.channels.sms.FileBackend",
    "reminders.channels.sms.InMemoryBackend",
}
HTTP_SMS_BACKEND = "reminders.channels.sms.HttpBackend"
EXAMPLE_FROM_ADDRESS = "appointments@clinic.example"  # settings/base.py's placeholder
E164 = re.compile(r"\+[1-9]\d{6,14}")


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str


def _fail(name: str, detail: str) -> Result:
    return Result(name, False, detail)


def _ok(name: str, detail: str) -> Result:
    return Result(name, True, detail)


def safe_url(url: str) -> str:
    """scheme://host:port/path with any user and password left out."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_database() -> Result:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure to reach the database is the answer
        return _fail("database", f"cannot connect: {type(exc).__name__}: "
                                 f"{str(exc).strip().splitlines()[0] if str(exc) else ''}")
    where = f"{connection.settings_dict.get('NAME')} on " \
            f"{connection.settings_dict.get('HOST') or 'localhost'}"
    if connection.vendor != "postgresql":
        return _fail("database", f"{connection.vendor} ({where}): production needs PostgreSQL "
                                 "(DATABASE_URL=postgres://...)")
    return _ok("database", f"PostgreSQL {connection.pg_version // 10000}, {where}")


def check_migrations() -> Result:
    try:
        executor = MigrationExecutor(connection)
        graph = executor.loader.graph
        applied = set(executor.loader.applied_migrations)
        unknown = sorted(applied - set(graph.nodes))
        # Every migration this code has, not only the plan to the leaves: the plan skips one
        # recorded as unapplied beneath an applied later one (a hand-edited history).
        missing = sorted(set(graph.nodes) - applied)
    except DatabaseError as exc:
        return _fail("migrations", f"cannot read the migration table: {type(exc).__name__}")
    if unknown:
        names = ", ".join(f"{app}.{name}" for app, name in unknown[:5])
        return _fail("migrations", f"the database has {len(unknown)} migrations this code does "
                                   f"not know ({names}): a newer release ran here")
    if missing:
        names = ", ".join(f"{app}.{name}" for app, name in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        return _fail("migrations", f"{len(missing)} not applied: {names}{more}; run "
                                   "`manage.py migrate`")
    return _ok("migrations", f"all {len(executor.loader.applied_migrations)} applied")


def check_broker() -> Result:
    from kombu import Connection

    url = settings.CELERY_BROKER_URL
    if not getattr(settings, "REDIS_URL", ""):
        return _fail("broker", f"no REDIS_URL: the {urlsplit(url).scheme} broker serves one "
                               "machine only and loses nothing it could tell a second one")
    try:
        with Connection(url, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                        connect_timeout=3) as broker:
            broker.ensure_connection(max_retries=1, timeout=3)
            if broker.transport.driver_type == "redis":
                broker.default_channel.client.ping()
    except Exception as exc:  # any failure to reach the broker is the answer
        return _fail("broker", f"cannot reach {safe_url(url)}: {type(exc).__name__}")
    return _ok("broker", f"{safe_url(url)} answers")


def check_email(*, connect: bool = False) -> Result:
    backend = settings.EMAIL_BACKEND
    if backend in LOCAL_EMAIL_BACKENDS:
        return _fail("email", f"EMAIL_BACKEND is {backend.rsplit('.', 2)[-2]}: email would not "
                              "leave this machine; set EMAIL_URL=smtp+tls://...")
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    try:
        validate_email(sender)
    except ValidationError:
        return _fail("email", f"DEFAULT_FROM_EMAIL {settings.DEFAULT_FROM_EMAIL!r} is not an "
                              "email address")
    if sender == EXAMPLE_FROM_ADDRESS:
        return _fail("email", f"DEFAULT_FROM_EMAIL is still the example {EXAMPLE_FROM_ADDRESS}; "
                              "set the clinic's own (neutral) address")
    if backend != SMTP_BACKEND:
        return _ok("email", f"{backend} (not checked further), from {sender}")
    if not settings.EMAIL_HOST:
        return _fail("email", "EMAIL_URL names no SMTP host")
    if settings.EMAIL_USE_TLS and settings.EMAIL_USE_SSL:
        return _fail("email", "EMAIL_URL asks for both STARTTLS and SSL; choose smtp+tls:// "
                              "(587) or smtp+ssl:// (465)")
    where = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    security = "SSL" if settings.EMAIL_USE_SSL else "STARTTLS" if settings.EMAIL_USE_TLS \
        else "no TLS"
    if connect:
        from django.core.mail import get_connection

        try:
            mailer = get_connection(fail_silently=False)
            mailer.open()
            mailer.close()
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            return _fail("email", f"cannot sign in to {where} ({security}): "
                                  f"{type(exc).__name__}")
        return _ok("email", f"signed in to {where} ({security}), from {sender}")
    return _ok("email", f"SMTP {where} ({security}), from {sender}; not contacted "
                        "(--connect-email does)")


def check_sms() -> Result:
    backend = settings.SMS_BACKEND
    if backend in LOCAL_SMS_BACKENDS:
        return _fail("sms", f"SMS_BACKEND is {backend.rsplit('.', 1)[-1]}: texts would not reach "
                            "phones; set the SMS_* variables, or `--skip sms` if the clinic "
                            "sends no texts")
    if backend != HTTP_SMS_BACKEND:
        return _ok("sms", f"{backend} (not checked further)")
    problems = []
    if not settings.SMS_ACCOUNT_SID or re.search(r"\s", settings.SMS_ACCOUNT_SID):
        problems.append("SMS_ACCOUNT_SID is missing or has spaces")
    if not settings.SMS_AUTH_TOKEN:
        problems.append("SMS_AUTH_TOKEN is missing (it also verifies inbound webhooks)")
    if not E164.fullmatch(settings.SMS_FROM_NUMBER or ""):
        problems.append("SMS_FROM_NUMBER is not an international number like +15555550123")
    if urlsplit(settings.SMS_API_BASE_URL).scheme != "https":
        problems.append("SMS_API_BASE_URL is not https: the token would travel in clear")
    webhook = getattr(settings, "SMS_WEBHOOK_BASE_URL", "")
    if webhook and urlsplit(webhook).scheme != "https":
        problems.append("SMS_WEBHOOK_BASE_URL is not https")
    if problems:
        return _fail("sms", "; ".join(problems))
    return _ok("sms", f"provider {safe_url(settings.SMS_API_BASE_URL)}, from "
                      f"{settings.SMS_FROM_NUMBER[:-4]}****")


def check_public_url() -> Result:
    base = settings.PUBLIC_BASE_URL
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.hostname:
        return _fail("public_url", f"PUBLIC_BASE_URL {base!r} is not an https:// address: "
                                   "links in emails would be sent in clear")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return _fail("public_url", f"PUBLIC_BASE_URL {base!r} must be scheme and host only "
                                   "(every link adds its own path)")
    hosts = [("PUBLIC_BASE_URL", parts.hostname)]
    webhook = getattr(settings, "SMS_WEBHOOK_BASE_URL", "")
    if webhook and urlsplit(webhook).hostname:
        hosts.append(("SMS_WEBHOOK_BASE_URL", urlsplit(webhook).hostname))
    refused = [f"{name} host {host}" for name, host in hosts
               if not validate_host(host, settings.ALLOWED_HOSTS)]
    if refused:
        return _fail("public_url", f"{', '.join(refused)} not in DJANGO_ALLOWED_HOSTS "
                                   f"{settings.ALLOWED_HOSTS}: those requests would get 400")
    return _ok("public_url", f"{base}, allowed by DJANGO_ALLOWED_HOSTS")


def check_static_files() -> Result:
    if not issubclass(import_string(settings.STORAGES["staticfiles"]["BACKEND"]),
                      ManifestFilesMixin):
        return _ok("static", "served from the app's folders (no collectstatic needed)")
    manifest = Path(settings.STATIC_ROOT or "") / "staticfiles.json"
    if not manifest.is_file():
        return _fail("static", f"no {manifest}: run `manage.py collectstatic` (every page "
                               "would answer 500 without it)")
    return _ok("static", f"collected in {settings.STATIC_ROOT}")


def check_deploy() -> Result:
    found = [message for message in django_checks.run_checks(include_deployment_checks=True)
             if message.level >= django_checks.WARNING and not message.is_silenced()]
    if found:
        ids = ", ".join(sorted({message.id or "?" for message in found}))
        return _fail("check_deploy", f"`manage.py check --deploy` reports {len(found)}: {ids}")
    return _ok("check_deploy", "`manage.py check --deploy` is clean")


CHECKS: dict[str, Callable[..., Result]] = {
    "database": check_database,
    "migrations": check_migrations,
    "broker": check_broker,
    "email": check_email,
    "sms": check_sms,
    "public_url": check_public_url,
    "static": check_static_files,
    "check_deploy": check_deploy,
}


def preflight(*, skip: set[str] = frozenset(), connect_email: bool = False) -> list[Result]:
    """Every check not skipped, in order; a database that does not answer skips the migrations
    check (its own line says why)."""
    results = []
    for name, check in CHECKS.items():
        if name in skip:
            continue
        if name == "migrations" and any(r.name == "database" and "cannot connect" in r.detail
                                         for r in results):
            results.append(_fail(name, "not checked: no database"))
            continue
        results.append(check(connect=connect_email) if name == "email" else check())
    return results
