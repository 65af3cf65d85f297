"""Gunicorn's master warms what every worker would otherwise build on its first requests."""
import pytest
from django.template import engines
from django.urls import clear_url_caches, get_resolver, reverse
from django.urls.resolvers import URLResolver
from django.utils import translation

from iop_clinic import warmup


def cached_loader():
    engine = engines["django"].engine
    (loader,) = [loader for loader in engine.template_loaders
                 if hasattr(loader, "get_template_cache")]
    return loader


@pytest.fixture
def cold():
    """A process as a new worker would find it: no reverse lookups, no compiled templates."""
    clear_url_caches()
    cached_loader().reset()
    yield
    clear_url_caches()


# No django_db mark: the warm-up runs in gunicorn's master, which must not open a database
# connection its forked workers would share; pytest-django fails any test that touches one.
def test_it_compiles_every_page_template_before_any_request(cold):
    loader = cached_loader()
    assert "staff/today/board.html" not in loader.get_template_cache

    warmup.warm()

    compiled = loader.get_template_cache
    for name in ("base.html", "staff/today/board.html", "portal/home.html",
                 "admin/change_list.html", "registration/login.html"):
        assert not isinstance(compiled.get(name), type), name  # a Template, not a miss
        assert compiled.get(name) is not None, name


def test_it_builds_every_namespaces_reverse_lookup_in_each_language(cold, monkeypatch):
    warmup.warm()
    built = []
    populate = URLResolver._populate
    monkeypatch.setattr(URLResolver, "_populate",
                        lambda self: built.append(self) or populate(self))

    for language in ("en", "es"):
        with translation.override(language):
            reverse("admin:index")
            reverse("webhooks:sms_inbound")
            reverse("portal-home")
            reverse("home")

    assert built == []


def test_without_it_the_first_reverse_builds_the_lookup(cold, monkeypatch):
    """The counterpart of the test above: what a worker pays when nothing warmed it."""
    built = []
    populate = URLResolver._populate
    monkeypatch.setattr(URLResolver, "_populate",
                        lambda self: built.append(self) or populate(self))

    with translation.override("es"):
        reverse("admin:index")

    assert built


def test_it_finds_every_namespace():
    assert sorted(warmup.namespaces(get_resolver())) == ["admin", "webhooks"]
