"""Production: refuses to start with DEBUG on or without a real secret key."""
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import BASE_DIR, DATABASES, SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM_NUMBER, env

SECRET_KEY = env.str("DJANGO_SECRET_KEY")  # no default: ImproperlyConfigured when missing
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure"):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be a random value of 50 or more characters.")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
if DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off in production.")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# Links in emails point here; no default, so a forgotten setting stops the start, not the links.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL").rstrip("/")
if not PUBLIC_BASE_URL.startswith("https://"):
    raise ImproperlyConfigured("PUBLIC_BASE_URL must be the clinic's https:// address, "
                               "e.g. https://clinic.example.org.")

# Keep each worker's database connection for a minute instead of opening one per request
# (connecting costs more than most of our queries); health checks drop a connection the
# server closed meanwhile before a request uses it.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Static files: base.py's storage, WhiteNoise's CompressedManifestStaticFilesStorage (hashed
# names and compressed copies) written by `manage.py collectstatic` into DJANGO_STATIC_ROOT,
# served by WhiteNoise; hashed names are cached by browsers for good.
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# base.py has already read EMAIL_URL; only its console fallback is wrong here, where mail
# without EMAIL_URL goes to the local MTA (and EMAIL_BACKEND alone is not honoured).
if not env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = "localhost"
    EMAIL_PORT = 25

SMS_BACKEND = env.str("SMS_BACKEND", default="reminders.channels.sms.HttpBackend")
if SMS_BACKEND == "reminders.channels.sms.HttpBackend":
    _sms_missing = [name for name, value in [("SMS_ACCOUNT_SID", SMS_ACCOUNT_SID),
                                             ("SMS_AUTH_TOKEN", SMS_AUTH_TOKEN),
                                             ("SMS_FROM_NUMBER", SMS_FROM_NUMBER)] if not value]
    if _sms_missing:
        raise ImproperlyConfigured(
            f"SMS needs {', '.join(_sms_missing)} (or set SMS_BACKEND to another backend).")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
