"""Settings shared by every environment, read from the environment by django-environ.

django-environ raises ImproperlyConfigured for a malformed value (a DEBUG of "maybe", a
DATABASE_URL it cannot parse), so a typo stops the process instead of running half-configured.
"""
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

from iop_clinic.branding import contrast_with_white

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Runtime state that is not the database: the filesystem broker's folders and beat's schedule.
# VAR_DIR moves it, e.g. to a temporary folder so a test can run the real processes.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-local-only-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    # Django's admin, with an admin site that demands a verified second factor.
    "accounts.apps.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "bootstrap",  # django-bootstrap-static: Bootstrap's CSS/JS served by us, no CDN
    "csp",
    # Third-party apps under names people read in the admin (accounts/app_names.py).
    "accounts.app_names.LockoutConfig",
    "django_otp",
    "accounts.app_names.AuthenticatorAppsConfig",
    "accounts.app_names.RecoveryCodesConfig",
    "auditlog",
    # The shell's cross-cutting security checks (no models).
    "iop_clinic.security.apps.SecurityConfig",
    # The shell's operations commands (no models): `manage.py preflight`.
    "iop_clinic.ops.apps.OpsConfig",
    # Bottom to top, as the layers build (tests/test_architecture.py keeps the order).
    "accounts",
    "audit",
    "programs",
    "participants",
    "sessions.apps.IopSessionsConfig",
    "reminders",
    "reports",
    "onboarding",
    "authorizations",
    "staff",
    "portal",
]

MIDDLEWARE = [
    # First, so it counts the answers of every middleware below too (/metrics).
    "iop_clinic.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Header middleware sits above WhiteNoise so static responses carry the headers too.
    "iop_clinic.security.headers.PermissionsPolicyMiddleware",
    # django-csp's CSPMiddleware, the policy's text built once (iop_clinic/security/csp.py).
    "iop_clinic.security.csp.CachedPolicyCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A NUL in a query string or form field is refused before anything reads it (400).
    "iop_clinic.security.nul_bytes.RejectNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Participant-facing pages in the browser's language (or the participant's), the rest English.
    "iop_clinic.language.ParticipantFacingLanguageMiddleware",
    # Under everything below, so it sees the final response (and the user) of every page.
    "iop_clinic.security.no_store.NoStoreWhenSignedInMiddleware",
    # django-otp's OTPMiddleware, reading the verified device through a compiled statement.
    "accounts.middleware.VerifiedDeviceMiddleware",
    # Log-off first: an expired session must not reach the two-factor gate or any view.
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.TwoFactorRequiredMiddleware",
    # The admin's times at the clinic's clock when its sites share one time zone.
    "programs.middleware.AdminClockMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # auditlog's middleware, without a signal receiver connected and dropped on every request.
    "iop_clinic.audit_context.AuditContextMiddleware",
    # django-axes wants to be last: it turns a lockout raised by authenticate() into a 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "iop_clinic.urls"
WSGI_APPLICATION = "iop_clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "iop_clinic.branding.clinic",
            ],
            # |day, |long_day, |when, |clock in every template (one format per language), and
            # {% translate %} / {% blocktranslate %} without a {% load i18n %} in each.
            "builtins": ["iop_clinic.formatting", "django.templatetags.i18n"],
            "libraries": {"fixed_urls": "iop_clinic.fixed_urls", "once": "iop_clinic.once",
                          "choice_labels": "iop_clinic.choice_labels"},
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default runs a web server and a worker side by side: WAL lets readers and
    # one writer proceed together, the timeout waits out a short write instead of failing with
    # "database is locked", and IMMEDIATE transactions take the write lock up front so two
    # writers queue rather than deadlock on a lock upgrade (Django 5.1+).
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    })
# PostgreSQL's JIT compiles any query whose estimated cost passes jit_above_cost; for the report
# aggregations that took 100-350 ms of compiling to save a few ms of running (bench/reports.py).
# Pages answer faster without it; DATABASE_JIT=on gives it back.
_pg_options = []
if "postgresql" in DATABASES["default"]["ENGINE"] and not env.bool("DATABASE_JIT", default=False):
    _pg_options.append("-c jit=off")
# For `migrate` during an upgrade (docs/deploy.md): an ALTER TABLE waiting for its lock makes
# every query behind it wait too, so give up after this long (e.g. 5s) and try again later.
DATABASE_LOCK_TIMEOUT = env.str("DATABASE_LOCK_TIMEOUT", default="")
if DATABASE_LOCK_TIMEOUT:
    if not re.fullmatch(r"\d+(ms|s|min)?", DATABASE_LOCK_TIMEOUT):
        raise ImproperlyConfigured("DATABASE_LOCK_TIMEOUT must look like 5s, 500ms or 1min.")
    _pg_options.append(f"-c lock_timeout={DATABASE_LOCK_TIMEOUT}")
if "postgresql" in DATABASES["default"]["ENGINE"] and _pg_options:
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(_pg_options)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Axes first: it refuses a locked-out username before any password is checked. Then Django's
# ModelBackend, reading each request's user through a statement compiled once
# (accounts/backends.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.UserBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Participants choose English or Spanish (Participant.language, Contact.language); staff pages
# are English. A new language is a line here and a folder under locale/.
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "iop_clinic.static_storage.StaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email -------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_HOST = _email.get("EMAIL_HOST", "")
# An smtp+ssl:// URL without a port means SMTPS (465), not the plain SMTP port.
EMAIL_PORT = _email.get("EMAIL_PORT") or (465 if _email.get("EMAIL_USE_SSL") else 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
if env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="appointments@clinic.example")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Without a timeout a stalled SMTP server would hold a Celery worker until its hard limit.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- SMS ---------------------------------------------------------------------------------
# Backends: reminders.channels.sms.ConsoleBackend (prints), FileBackend (one file a message in
# SMS_FILE_PATH), InMemoryBackend (tests), HttpBackend (a Twilio-style REST API).
SMS_BACKEND = env.str("SMS_BACKEND", default="reminders.channels.sms.ConsoleBackend")
SMS_API_BASE_URL = env.str("SMS_API_BASE_URL", default="https://api.twilio.com/2010-04-01")
SMS_ACCOUNT_SID = env.str("SMS_ACCOUNT_SID", default="")
# Also the key that signs inbound webhooks: without it every inbound request is refused.
SMS_AUTH_TOKEN = env.str("SMS_AUTH_TOKEN", default="")
SMS_FROM_NUMBER = env.str("SMS_FROM_NUMBER", default="")
SMS_FILE_PATH = env.path("SMS_FILE_PATH", default=VAR_DIR / "sms")
# FileBackend waits this long per message, as a provider's API call would (fault-injection
# tests need sends that take time, so a worker holds messages when the broker or database drops).
SMS_FILE_LATENCY_MS = env.int("SMS_FILE_LATENCY_MS", default=0)
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=10.0)
# The public scheme and host the provider calls, e.g. https://clinic.example.org, when a proxy
# in front of us changes them; the webhook signature covers the URL exactly as the provider saw it.
SMS_WEBHOOK_BASE_URL = env.str("SMS_WEBHOOK_BASE_URL", default="")

# The clinic's public address (scheme, host, port if any), the base of every absolute link in
# every email, text and calendar feed. `make run` sets it from PORT; production requires it.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")


def _check_sms_settings() -> None:
    if SMS_FROM_NUMBER and not re.fullmatch(r"\+[1-9]\d{6,14}", SMS_FROM_NUMBER):
        raise ImproperlyConfigured("SMS_FROM_NUMBER must be in international format, "
                                   "e.g. +15555550123.")
    for name, value in [("SMS_API_BASE_URL", SMS_API_BASE_URL),
                        ("SMS_WEBHOOK_BASE_URL", SMS_WEBHOOK_BASE_URL),
                        ("PUBLIC_BASE_URL", PUBLIC_BASE_URL)]:
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise ImproperlyConfigured(f"{name} must be an http(s) URL, got {value!r}.")
    if not 0 < SMS_HTTP_TIMEOUT <= 60:
        raise ImproperlyConfigured("SMS_HTTP_TIMEOUT must be between 0 and 60 seconds.")


_check_sms_settings()

# --- Celery ------------------------------------------------------------------------------
# REDIS_URL switches the broker to Redis; without it kombu's filesystem transport lets a
# laptop run a worker and beat with no broker server installed.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange tables (the worker's control/broadcast queues); kombu's default is ./control.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# The cache holds only short-lived counters (the sign-in-link throttle) and copies of
# sessions (below). Redis when there is one, so every web process counts together; otherwise
# this process's memory, enough for the one runserver of `make run`. Every signed-in page reads
# it, so an unreachable Redis must fail fast (the session store then reads the database)
# instead of holding the page for the operating system's TCP timeout.
# iop_clinic/redis_cache.py: Django's Redis backend, without a new client for every call.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "iop_clinic.redis_cache.RedisCache",
                          "LOCATION": REDIS_URL, "KEY_PREFIX": "iop",
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions live in the database; with Redis every web process shares, a signed-in page reads
# its session from there instead (iop_clinic/security/session_store.py says why that copy can't
# outlast a sign-out by more than minutes). Not with a process's own memory: another process
# would not see a sign-out.
if REDIS_URL:
    SESSION_ENGINE = "iop_clinic.security.session_store"
# Vitals (iop_clinic/vitals.py): when the sweeper last ran and how many tasks failed, written by
# the workers and read by /healthz, /metrics and Today, so it must be shared by every process:
# Redis when there is one, otherwise files on the one machine of the embedded default.
CACHES["vitals"] = (
    {"BACKEND": "iop_clinic.redis_cache.RedisCache", "LOCATION": REDIS_URL,
     "KEY_PREFIX": "iop:vitals"} if REDIS_URL else
    {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
     "LOCATION": str(VAR_DIR / "vitals")}
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Hard limits stay far below the broker's visibility timeout, so a task is never redelivered
# while a live worker is still running it.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Ride out broker loss (issue 11): reconnect for as long as it takes instead of exiting after
# celery's default 100 attempts (about 50 minutes of backoff); a supervisor restarts a worker
# that exits anyway (deploy/systemd/, scripts/run_procfile.py).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Keep tasks running through a broker loss (also celery 6's coming default is True): cancelling
# a send task mid-call would leave a row "sending" that reached the provider with no answer
# recorded. The unacknowledged message is redelivered later and the compare-and-set makes that
# harmless; rows it had not reached are claimed again by the sweeper.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "extend-rolling-schedules": {
        "task": "iop_sessions.extend_rolling_schedules",
        "schedule": timedelta(hours=6),
    },
    # Daily: a finished week below the minimum hours becomes a follow-up (raised once per week).
    "raise-below-minimum-followups": {
        "task": "iop_sessions.raise_below_minimum_followups",
        "schedule": timedelta(days=1),
    },
    # A seat offer unanswered for its program's seat_offer_hours passes to the next person.
    "expire-seat-offers": {
        "task": "iop_sessions.expire_seat_offers",
        "schedule": timedelta(seconds=env.int("SEAT_OFFER_SWEEP_INTERVAL_SECONDS", default=300)),
    },
    # Export files are deleted, with their links, once REPORT_EXPORT_RETENTION_HOURS pass.
    "purge-report-exports": {
        "task": "reports.purge_exports",
        "schedule": timedelta(hours=1),
    },
    # Authorization usage for Today's alerts (authorizations/services.py): signals keep it
    # current; this moves "today" forward and catches writes no signal announced.
    "refresh-authorization-usage": {
        "task": "authorizations.refresh_usage",
        "schedule": timedelta(seconds=env.int("AUTHORIZATION_USAGE_REFRESH_SECONDS",
                                              default=600)),
    },
    # Daily, at a quiet hour (UTC); see audit/retention.py.
    "purge-expired-message-bodies": {
        "task": "audit.purge_expired_message_bodies",
        "schedule": crontab(hour=4, minute=15),
    },
}

# /healthz asks the workers with a broadcast ping; see iop_clinic/health.py for the cache.
HEALTHZ_WORKER_PING_TIMEOUT = env.float("HEALTHZ_WORKER_PING_TIMEOUT", default=1.0)
HEALTHZ_WORKER_PING_CACHE_SECONDS = env.float("HEALTHZ_WORKER_PING_CACHE_SECONDS", default=10.0)

# /metrics (iop_clinic/metrics.py) answers only a scraper that sends "Authorization: Bearer
# <METRICS_TOKEN>"; with no token set the page does not exist. At least 32 characters.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters (a random value).")

# Error reports to Sentry, only when SENTRY_DSN is set (iop_clinic/security/error_reports.py:
# no personal data, the logs' redaction on every string). SENTRY_ENVIRONMENT names the install.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")

# --- Reminders (reminders/; README "Reminders") -------------------------------------------
REMINDER_PLAN_DAYS = env.int("REMINDER_PLAN_DAYS", default=14)
REMINDER_PLAN_INTERVAL_SECONDS = env.int("REMINDER_PLAN_INTERVAL_SECONDS", default=3600)
REMINDER_SWEEP_INTERVAL_SECONDS = env.int("REMINDER_SWEEP_INTERVAL_SECONDS", default=60)
REMINDER_SEND_BATCH_SIZE = env.int("REMINDER_SEND_BATCH_SIZE", default=25)
REMINDER_SWEEP_MAX_BATCHES = env.int("REMINDER_SWEEP_MAX_BATCHES", default=400)
# A claim no send task has acted on for this long goes back to pending (its message was lost
# with Redis, or its worker died). Recovery after a broker loss takes up to this plus one sweep
# interval, so it is held small against the shortest offset, the same-day reminder's 2 hours:
# 300 s + 60 s delays such a reminder by at most 6 minutes (5 % of its lead). It stays above the
# send task's hard time limit (150 s), so a claim is never returned while a live task may still
# run it: shorter is still safe (the compare-and-set stops a second send) but enqueues
# needless duplicate tasks. A row left "sending" this long is failed as outcome_unknown; the
# "sending" span is only the channel call itself (EMAIL_TIMEOUT / SMS_HTTP_TIMEOUT, 10 s).
REMINDER_CLAIM_TIMEOUT_SECONDS = env.int("REMINDER_CLAIM_TIMEOUT_SECONDS", default=300)
REMINDER_SEND_SOFT_TIME_LIMIT = env.int("REMINDER_SEND_SOFT_TIME_LIMIT", default=120)
REMINDER_SEND_TIME_LIMIT = env.int("REMINDER_SEND_TIME_LIMIT", default=150)
REMINDER_MAX_ATTEMPTS = env.int("REMINDER_MAX_ATTEMPTS", default=5)
REMINDER_RETRY_BASE_SECONDS = env.int("REMINDER_RETRY_BASE_SECONDS", default=60)
REMINDER_RETRY_MAX_SECONDS = env.int("REMINDER_RETRY_MAX_SECONDS", default=1800)
# Due times pushed out of quiet hours land this long before they begin, so a reminder due at
# "the last minute" is not sent a sweep later, inside them.
REMINDER_QUIET_MARGIN_MINUTES = env.int("REMINDER_QUIET_MARGIN_MINUTES", default=15)
# Change notices (reminders/notices.py): changes to visits this many days ahead are told, and a
# notice waits this long after the last edit, so a burst of edits sends one message.
REMINDER_NOTICE_DAYS = env.int("REMINDER_NOTICE_DAYS", default=14)
REMINDER_NOTICE_DEBOUNCE_SECONDS = env.int("REMINDER_NOTICE_DEBOUNCE_SECONDS", default=180)
# /healthz (and the directors' Today) say "degraded" when the sweeper has not run for this long,
# when a due reminder has waited this long unclaimed, or when more than this many reminders
# failed within this many hours (a provider refusing everything, not one wrong number).
HEALTHZ_SWEEPER_STALE_SECONDS = env.int("HEALTHZ_SWEEPER_STALE_SECONDS", default=180)
HEALTHZ_DUE_LAG_SECONDS = env.int("HEALTHZ_DUE_LAG_SECONDS", default=300)
HEALTHZ_FAILED_REMINDERS_HOURS = env.int("HEALTHZ_FAILED_REMINDERS_HOURS", default=1)
HEALTHZ_FAILED_REMINDERS_LIMIT = env.int("HEALTHZ_FAILED_REMINDERS_LIMIT", default=10)
if HEALTHZ_SWEEPER_STALE_SECONDS <= REMINDER_SWEEP_INTERVAL_SECONDS:
    raise ImproperlyConfigured("HEALTHZ_SWEEPER_STALE_SECONDS must be longer than "
                               "REMINDER_SWEEP_INTERVAL_SECONDS, or every pause between two "
                               "sweeps would read as a stall.")
for _name in ("HEALTHZ_DUE_LAG_SECONDS", "HEALTHZ_FAILED_REMINDERS_HOURS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1.")
if HEALTHZ_FAILED_REMINDERS_LIMIT < 0:
    raise ImproperlyConfigured("HEALTHZ_FAILED_REMINDERS_LIMIT must be 0 or more.")
CELERY_IMPORTS = ["reminders.tasks"]
CELERY_BEAT_SCHEDULE.update({
    "reminders-sweep": {
        "task": "reminders.sweep",
        "schedule": timedelta(seconds=REMINDER_SWEEP_INTERVAL_SECONDS),
    },
    "reminders-plan": {
        "task": "reminders.plan_all",
        "schedule": timedelta(seconds=REMINDER_PLAN_INTERVAL_SECONDS),
    },
})

# --- Product settings --------------------------------------------------------------------
# How far ahead a rolling track's schedule is kept generated.
ROLLING_SCHEDULE_HORIZON_WEEKS = env.int("ROLLING_SCHEDULE_HORIZON_WEEKS", default=6)
# Participant portal: how long an emailed invitation and a sign-in link stay usable.
PORTAL_INVITATION_DAYS = env.int("PORTAL_INVITATION_DAYS", default=7)
PORTAL_SIGN_IN_LINK_MINUTES = env.int("PORTAL_SIGN_IN_LINK_MINUTES", default=30)
# "Email me a sign-in link": at most this many requests an hour for one address and from one
# client (beyond them nothing is sent; the answer is the same). Counted in the cache.
PORTAL_SIGN_IN_LINKS_PER_ADDRESS_HOUR = env.int("PORTAL_SIGN_IN_LINKS_PER_ADDRESS_HOUR", default=3)
PORTAL_SIGN_IN_LINKS_PER_CLIENT_HOUR = env.int("PORTAL_SIGN_IN_LINKS_PER_CLIENT_HOUR", default=10)

# Reports (reports/selectors.py; README "Reports"). Billing rules per service code:
# "day" = one unit per day with at least min_minutes attended at sessions of that code;
# "session" = one unit per attended session (also the rule for codes not listed). A clinic sets
# its own as JSON, e.g. REPORT_BILLING_RULES='{"H0015": {"unit": "day", "min_minutes": 180}}'.
REPORT_BILLING_RULES: dict = env.json("REPORT_BILLING_RULES", default={
    "H0015": {"unit": "day", "min_minutes": 180},
})
for _code, _rule in REPORT_BILLING_RULES.items():
    if _rule.get("unit") not in ("day", "session") or int(_rule.get("min_minutes", 0)) < 0:
        raise ImproperlyConfigured(f"REPORT_BILLING_RULES[{_code!r}] needs unit day or session.")
# Exports: files prepared in the background live here (never under static or media) and are
# deleted, with their download link, this many hours after they are ready.
REPORT_EXPORT_DIR = Path(env.str("REPORT_EXPORT_DIR", default=str(VAR_DIR / "exports")))
REPORT_EXPORT_RETENTION_HOURS = env.int("REPORT_EXPORT_RETENTION_HOURS", default=24)
# A date range longer than this many days is exported in the background, not in the request.
REPORT_EXPORT_INLINE_MAX_DAYS = env.int("REPORT_EXPORT_INLINE_MAX_DAYS", default=93)

# Retention: reminder text and provider payloads are emptied this many days after the row was
# made (audit/retention.py; the row itself stays). Each RETENTION_PURGE entry is
# (model, the timestamp that ages a row, fields to empty); a model not installed yet is logged
# as a warning and skipped.
REMINDER_RETENTION_DAYS = env.int("REMINDER_RETENTION_DAYS", default=30)
if REMINDER_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("REMINDER_RETENTION_DAYS must be at least 1.")
RETENTION_PURGE: list[tuple[str, str, list[str]]] = [
    ("reminders.Reminder", "created_at", ["body", "detail"]),
]

# Every handler carries the redaction filter (the security.E002 check insists), and Django's
# own loggers are pointed at it, so no email address or phone number reaches a log line.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_contacts": {"()": "iop_clinic.security.logging.RedactContactDetailsFilter"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain",
                    "filters": ["redact_contacts"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Replace Django's defaults (which include mail_admins, a copy of the request by email).
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Sentry's SDK gives its own logger a bare stderr handler unless it has one already.
        "sentry_sdk.errors": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
# Celery workers log through the configuration above instead of replacing the root logger.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Security: headers, cookies, sessions -------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# django-csp 4: no inline script or style; a page that needs a script block uses the nonce
# ({{ request.csp_nonce }} / {{ CSP_NONCE }}). Bootstrap's JS sets styles through the CSSOM,
# which CSP allows; inline style="" attributes in our templates are refused, so use classes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Powerful browser features nobody in a clinic web app needs (PermissionsPolicyMiddleware).
PERMISSIONS_POLICY = {
    feature: [] for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media",
        "fullscreen", "geolocation", "gyroscope", "magnetometer", "microphone", "midi",
        "payment", "picture-in-picture", "publickey-credentials-get", "screen-wake-lock",
        "serial", "usb", "xr-spatial-tracking",
    )
}

# Automatic log-off (HIPAA 164.312(a)(2)(iii)).
STAFF_IDLE_TIMEOUT_MINUTES = env.int("STAFF_IDLE_TIMEOUT_MINUTES", default=30)
STAFF_ABSOLUTE_TIMEOUT_HOURS = env.int("STAFF_ABSOLUTE_TIMEOUT_HOURS", default=12)
PARTICIPANT_IDLE_TIMEOUT_MINUTES = env.int("PARTICIPANT_IDLE_TIMEOUT_MINUTES", default=60)
PARTICIPANT_ABSOLUTE_TIMEOUT_HOURS = env.int("PARTICIPANT_ABSOLUTE_TIMEOUT_HOURS", default=12)
# The longer absolute limit; SessionTimeoutMiddleware enforces each kind's own limits.
SESSION_COOKIE_AGE = max(STAFF_ABSOLUTE_TIMEOUT_HOURS, PARTICIPANT_ABSOLUTE_TIMEOUT_HOURS) * 3600

# --- Lockout (django-axes) ----------------------------------------------------------------
# By username whatever the address: a password guesser rotating IPs still locks the account.
# Not by address as well: a clinic's staff share one NAT address, and five typos among them
# would lock everyone out (hence axes.W006 is silenced).
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
# Don't put the username or address of every attempt into the log lines.
AXES_VERBOSE = False
# Cuts a username to the 255 characters axes stores, so an overlong one is a plain failed
# sign-in instead of a database error.
AXES_USERNAME_CALLABLE = "accounts.lockout.axes_username"

# --- Two-factor (django-otp) ----------------------------------------------------------------
# The issuer shows in the staff member's authenticator app; kept neutral on purpose.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Clinic staff")
OTP_STATIC_THROTTLE_FACTOR = 1
# The admin never shows a device's secret key (our TOTPDeviceAdmin drops the QR views too).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
TWO_FACTOR_RECOVERY_CODE_COUNT = 10

# --- Audit (django-auditlog) ----------------------------------------------------------------
# Which models are audited lives in audit/registry.py, next to the helpers.
AUDITLOG_DISABLE_REMOTE_ADDR = False

# --- Branding and formats (the clinic's face) -------------------------------------------------
# The clinic's name on sign-in, the portal, emails and the admin: neutral by default, because a
# page a passer-by can see must not say "addiction treatment" (42 CFR Part 2). A logo is a
# static path (e.g. "img/logo.svg" under static/); a colour is a #rrggbb that white text
# reads on at 4.5:1, used for the navigation bar (iop_clinic/branding.py refuses others).
CLINIC_NAME = env.str("CLINIC_NAME", default="Clinic").strip() or "Clinic"
CLINIC_LOGO = env.str("CLINIC_LOGO", default="")
CLINIC_COLOR = env.str("CLINIC_COLOR", default="")
if CLINIC_COLOR and not re.fullmatch(r"#[0-9a-fA-F]{6}", CLINIC_COLOR):
    raise ImproperlyConfigured("CLINIC_COLOR must be a colour like #0a3d6e.")
if CLINIC_COLOR and contrast_with_white(CLINIC_COLOR) < 4.5:
    raise ImproperlyConfigured("CLINIC_COLOR is too light: white text on it must reach 4.5:1.")
# Phone numbers people type without a country code are read as this region's (ISO 3166).
FORMAT_MODULE_PATH = ["iop_clinic.formats"]
PHONENUMBER_DEFAULT_REGION = env.str("PHONE_REGION", default="US").upper()
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "NATIONAL"
