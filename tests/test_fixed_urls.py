"""{% fixed_url %}: the layouts' argument-less URLs, reversed once per process and script prefix."""
from django.template import engines
from django.urls import reverse, set_script_prefix

from iop_clinic import fixed_urls


def render(source: str) -> str:
    return engines["django"].from_string("{% load fixed_urls %}" + source).render({})


def test_it_answers_what_url_answers():
    assert render("{% fixed_url 'logout' %}") == reverse("logout")
    rendered = render("{% fixed_url 'admin:index' as admin %}[{{ admin }}]")
    assert rendered == f"[{reverse('admin:index')}]"


def test_it_follows_the_path_the_site_is_mounted_at():
    try:
        set_script_prefix("/clinic/")
        assert render("{% fixed_url 'logout' %}").startswith("/clinic/")
    finally:
        set_script_prefix("/")
    assert not render("{% fixed_url 'logout' %}").startswith("/clinic/")


def test_it_forgets_its_answers_when_the_url_configuration_changes(settings):
    render("{% fixed_url 'logout' %}")
    assert fixed_urls._urls
    settings.ROOT_URLCONF = "tests.security.urls"
    assert not fixed_urls._urls
