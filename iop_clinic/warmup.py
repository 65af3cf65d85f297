"""Work every web worker would otherwise do on its first requests, done once in gunicorn's master.

Gunicorn preloads the app (`preload_app`) and forks its workers from the master, and recycles a
worker after `max_requests` (iop_clinic/gunicorn.conf.py). Without this, each new worker imports
every view module on its first request, compiles each template the first time a page uses it and
reads each language's translation catalogue: about half a second of one core per worker, paid
again at every recycle, and felt as a slow first answer (the p99 of a busy page). Done before the
fork, the workers inherit all of it.

Nothing here reads the database or Redis, nor keeps anything about a clinic: URL patterns,
compiled templates (the cached loader's, which production uses anyway), translation catalogues
and the static files' manifest only.
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
from django.template.backends.django import DjangoTemplates
from django.template.utils import get_app_template_dirs
from django.urls import NoReverseMatch, URLResolver, get_resolver, reverse
from django.utils import translation

TEMPLATE_SUFFIXES = (".html", ".txt", ".ics")
WARM_NAME = "-no-such-view-"


def template_names(directories) -> list[str]:
    """Every template file under the directories, as a name a loader finds it by."""
    names = set()
    for directory in directories:
        root = Path(directory)
        if not root.is_dir():
            continue
        names.update(path.relative_to(root).as_posix() for path in root.rglob("*")
                     if path.suffix in TEMPLATE_SUFFIXES and path.is_file())
    return sorted(names)


def warm_templates() -> int:
    """Compile every template of the Django engines into their cached loaders; returns how many.

    A template that does not compile on its own (a third-party one for a library not installed)
    is skipped: it would fail the same way in a worker, and only if a page used it.
    """
    compiled = 0
    for engine in engines.all():
        if not isinstance(engine, DjangoTemplates):
            continue
        directories = [*engine.engine.dirs]
        if engine.engine.app_dirs:
            directories += get_app_template_dirs("templates")
        for name in template_names(directories):
            try:
                engine.get_template(name)
            except (TemplateDoesNotExist, TemplateSyntaxError):
                continue
            compiled += 1
    return compiled


def warm_translations() -> None:
    """Load each language's catalogue (Django merges every app's .mo once per process)."""
    for code, _name in settings.LANGUAGES:
        translation.trans_real.translation(code)


def namespaces(resolver: URLResolver, prefix: str = "") -> list[str]:
    """Every instance namespace under the resolver, nested ones as "outer:inner"."""
    found = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            if pattern.namespace:
                found.append(inner[:-1])
            found += namespaces(pattern, inner)
    return found


def warm_urls() -> int:
    """Import every view module and build the reverse lookups reverse() and {% url %} use, per
    language (Django keeps them per language, and a namespace's in a resolver of its own that it
    builds on the namespace's first reverse()); returns how many namespaces."""
    resolver = get_resolver()
    found = namespaces(resolver)  # reading url_patterns imports every view module
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            resolver.reverse_dict  # noqa: B018 (the property builds and keeps the lookup)
            for namespace in found:
                # A name no view has: the namespace's resolver is built, then the lookup fails.
                with contextlib.suppress(NoReverseMatch):
                    reverse(f"{namespace}:{WARM_NAME}")
    return len(found)


def warm_static() -> None:
    """Read the static files' manifest (collectstatic's, which {% static %} looks names up in)."""
    staticfiles_storage.base_url  # noqa: B018 (the first attribute read builds the storage)


def warm() -> str:
    """Warm URLs, templates and translations; returns what it did, for the server's log."""
    started = time.perf_counter()
    found = warm_urls()
    templates = warm_templates()
    warm_translations()
    warm_static()
    return (f"URLs ({found} namespaces), {templates} templates and {len(settings.LANGUAGES)} "
            f"languages in {(time.perf_counter() - started) * 1000:.0f} ms")
