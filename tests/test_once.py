"""{% once %}: a layout's stretch rendered once per process for each combination of its values
(the layouts that use it: tests/staff/test_access.py, tests/portal/test_layout.py)."""
import pytest
from django.template import TemplateSyntaxError, engines
from django.utils import translation

from iop_clinic import once


def template(source: str):
    return engines["django"].from_string("{% load once %}" + source)


def test_it_renders_what_the_stretch_renders_and_keeps_it_per_value():
    page = template("{% once name=name %}<b>{{ name|upper }}</b>{% endonce %}")
    assert page.render({"name": "home"}) == "<b>HOME</b>"
    assert page.render({"name": "calendar"}) == "<b>CALENDAR</b>"
    assert page.render({"name": "home"}) == "<b>HOME</b>"


def test_it_shows_the_stretch_nothing_but_its_declared_values():
    page = template("{% once kind=kind %}[{{ kind }}|{{ name }}]{% endonce %}")
    assert page.render({"kind": "staff", "name": "Dana Reyes"}) == "[staff|]"
    # Another person with the same values gets the same text, never the first one's data.
    assert page.render({"kind": "staff", "name": "Sam Ortiz"}) == "[staff|]"


def test_it_keeps_a_text_per_language():
    page = template('{% once %}{% translate "Sign out" %}{% endonce %}')
    with translation.override("en"):
        assert page.render({}) == "Sign out"
    with translation.override("es"):
        spanish = page.render({})
    assert spanish != "Sign out"
    with translation.override("en"):
        assert page.render({}) == "Sign out"


def test_it_forgets_what_it_kept_when_settings_change(settings):
    page = template("{% once %}x{% endonce %}")
    page.render({})
    (node,) = [n for n in page.template.nodelist if isinstance(n, once.OnceNode)]
    assert node.kept
    settings.CLINIC_NAME = "Another name"
    assert not node.kept


@pytest.mark.parametrize("inside", ["{% block title %}x{% endblock %}", "{% csrf_token %}"])
def test_it_refuses_what_differs_per_page(inside):
    with pytest.raises(TemplateSyntaxError):
        template("{% once %}" + inside + "{% endonce %}")


def test_it_takes_only_named_values():
    with pytest.raises(TemplateSyntaxError):
        template("{% once name %}x{% endonce %}")


def test_it_renders_without_keeping_beyond_its_limit(monkeypatch):
    monkeypatch.setattr(once, "MAX_KEPT", 2)
    page = template("{% once n=n %}{{ n }}{% endonce %}")
    assert [page.render({"n": n}) for n in range(5)] == ["0", "1", "2", "3", "4"]
    (node,) = [n for n in page.template.nodelist if isinstance(n, once.OnceNode)]
    assert len(node.kept) == 2
