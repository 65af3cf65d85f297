"""`{% fixed_url 'name' %}`: `{% url 'name' %}` for a URL without arguments, reversed once per
process. Layouts reverse the same dozen names on every page (navigation, sign-out, footer),
and reversing one costs about 13 µs.

A URL depends only on its name and arguments, the URL configuration and the script prefix (the
path the site is mounted at), none of which changes while a process serves requests when the
arguments are constants: `reverse_once` keeps the answer per (name, arguments, script prefix,
URLconf), and forgets it when a test swaps the configuration. Only for constant arguments (no
row keys), so the cache stays as small as the set of URL names the code uses.
"""
import uuid

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


# What a URL taking one row key is reversed with, once a process: a key no row has (an id, or a
# UUID code), so that the URL's halves around it can be completed with any row's key.
PLACEHOLDER_PK = 987654321
PLACEHOLDER_CODE = uuid.UUID(int=0)
_PLACEHOLDERS = {int: PLACEHOLDER_PK, uuid.UUID: PLACEHOLDER_CODE}


def url_halves(name: str, placeholder=PLACEHOLDER_PK) -> tuple[str, str]:
    """The URL `name` takes with one key, as the text before and after that key (`reverse_once`
    with the placeholder): a row's URL is `head + key + tail` (page_rows.RowUrl, key_url)."""
    head, tail = reverse_once(name, (placeholder,)).rsplit(str(placeholder), 1)
    return head, tail


# `{% key_url 'name' key %}`: `{% url 'name' key %}` for a URL whose one argument is a row's key
# (an id or a UUID code), completed from `url_halves`: the chart reversed a dozen such URLs a
# page, ~12 µs each. Only the URL pattern is kept, never the key. An id or UUID is written into
# a path as reverse() writes it (digits, hex and hyphens need no quoting); any other value, or a
# negative id no pattern takes, is reversed as {% url %} would.
@register.simple_tag
def key_url(name: str, key) -> str:
    placeholder = _PLACEHOLDERS.get(type(key))
    if placeholder is None or (placeholder is PLACEHOLDER_PK and key < 0):
        return reverse(name, args=(key,))
    head, tail = url_halves(name, placeholder)
    return f"{head}{key}{tail}"
