"""Every logger in the process writes through the contact-details redaction filter, and a
request that crashes leaves no email address or phone number in the log."""
import ast
import io
import logging
from pathlib import Path

import pytest
from django.conf import settings

from iop_clinic.security.logging import RedactContactDetailsFilter

OUR_PACKAGES = ("iop_clinic", "accounts", "audit", "programs", "participants", "sessions",
                "reminders", "staff", "portal")


def logger_names_in_our_code() -> set[str]:
    """Names passed to logging.getLogger in our code (`__name__` becomes the module path)."""
    names = set()
    for package in OUR_PACKAGES:
        for path in (Path(settings.BASE_DIR) / package).rglob("*.py"):
            module = ".".join(path.relative_to(settings.BASE_DIR).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "getLogger"
                        and node.args):
                    arg = node.args[0]
                    if isinstance(arg, ast.Name) and arg.id == "__name__":
                        names.add(module)
                    elif isinstance(arg, ast.Constant):
                        names.add(arg.value)
    return names


def writing_handlers(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers a record from `logger` reaches, as logging.Logger.callHandlers walks them.

    Handlers that write nothing (NullHandler) and pytest's own capture are left out."""
    found, current = [], logger
    while current:
        found += [h for h in current.handlers
                  if not isinstance(h, logging.NullHandler)
                  and not type(h).__module__.startswith("_pytest")]
        current = current.parent if current.propagate else None
    return found


def redacts(handler: logging.Handler) -> bool:
    return any(isinstance(f, RedactContactDetailsFilter) for f in handler.filters)


def test_it_finds_the_loggers_our_code_uses():
    names = logger_names_in_our_code()

    assert {"reminders.channels.sms", "reminders.webhooks", "iop_clinic.health"} <= names


def test_it_sends_every_logger_in_the_process_through_the_redaction_filter():
    # Our own loggers, and every logger a library has made by now (django, celery, axes...).
    import celery.app.log  # noqa: F401  (make sure celery's loggers exist too)

    names = logger_names_in_our_code() | set(logging.root.manager.loggerDict) | {
        "django.request", "django.security.csrf", "django.db.backends", "celery.task"}
    unfiltered, silent = [], []
    for name in sorted(names):
        logger = logging.getLogger(name)
        handlers = writing_handlers(logger)
        if not handlers:
            silent.append(name)
        unfiltered += [f"{name} -> {handler!r}" for handler in handlers if not redacts(handler)]

    assert not unfiltered, "handlers without the redaction filter:\n" + "\n".join(unfiltered)
    assert not [n for n in silent if n in logger_names_in_our_code()], silent


@pytest.fixture
def log_output():
    """What the configured handlers (with their configured filters) write, in one buffer."""
    handlers = {id(h): h for name in ("django.request", "django", "")
                for h in writing_handlers(logging.getLogger(name))}.values()
    assert handlers
    buffer = io.StringIO()
    previous = [(h, h.setStream(buffer)) for h in handlers if isinstance(h, logging.StreamHandler)]
    yield buffer
    for handler, stream in previous:
        handler.setStream(stream)


@pytest.mark.django_db
@pytest.mark.urls("tests.security.urls")
def test_it_logs_a_crashing_request_without_contact_details(client, log_output):
    client.raise_request_exception = False

    response = client.get("/test/crash/pat.doe@example.com,(555) 555-0199/",
                          {"phone": "+15555550199"})

    output = log_output.getvalue()
    assert response.status_code == 500
    assert "Internal Server Error" in output and "RuntimeError" in output
    assert "[email]" in output and "[phone]" in output
    for secret in ("pat.doe@example.com", "555-0199", "5555550199"):
        assert secret not in output, output


def token_url_patterns() -> list[str]:
    """Every URL pattern of the project whose path takes a `token`, as a route string."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and "token" in entry.pattern.converters:
                found.append(route)

    walk(get_resolver().url_patterns, "/")
    return found


def test_it_masks_the_token_of_every_link_path_the_project_has():
    routes = token_url_patterns()
    token = "Zq3-" + "x_Y9" * 10

    assert any("feed" in route for route in routes), routes
    for route in routes:
        path = route.replace("<str:token>", token).replace("^", "").replace("$", "")
        masked = RedactContactDetailsFilter()
        record = logging.LogRecord("django.request", logging.WARNING, __file__, 1,
                                   "Not Found: %s", (path,), None)
        masked.filter(record)

        assert token not in record.getMessage(), route
        assert "[token]" in record.getMessage()


@pytest.mark.django_db
def test_it_logs_a_revoked_feed_address_without_its_token(client, log_output):
    token = "Revoked" + "a1_B" * 9

    response = client.get(f"/portal/feed/{token}.ics")

    output = log_output.getvalue()
    assert response.status_code == 404
    assert "/portal/feed/[token]" in output
    assert token not in output
