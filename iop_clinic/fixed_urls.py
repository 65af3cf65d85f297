"""`{% fixed_url 'name' %}`: `{% url 'name' %}` for a URL without arguments, reversed once per
process. Layouts reverse the same dozen names on every page (navigation, sign-out, footer),
and reversing one costs about 13 µs.

A URL depends only on its name and arguments, the URL configuration and the script prefix (the
path the site is mounted at), none of which changes while a process serves requests when the
arguments are constants: `reverse_once` keeps the answer per (name, arguments, script prefix,
URLconf), and forgets it when a test swaps the configuration. Only for constant arguments (no
row keys), so the cache stays as small as the set of URL names the code uses.
"""
from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()

_urls: dict[tuple, str] = {}


@receiver(setting_changed)
def _forget_urls(*, setting, **kwargs) -> None:
    if setting in {"ROOT_URLCONF", "FORCE_SCRIPT_NAME"}:
        _urls.clear()


def reverse_once(name: str, args: tuple = ()) -> str:
    """`reverse(name, args=args)`, kept per process; `args` must be constants, never data."""
    key = (name, args, get_script_prefix(), get_urlconf())
    url = _urls.get(key)
    if url is None:
        url = _urls[key] = reverse(name, args=args)
    return url


@register.simple_tag
def fixed_url(name: str) -> str:
    return reverse_once(name)
