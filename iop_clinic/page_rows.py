"""Helpers for rows a page prepares once (staff/*_rows.py, portal/schedule_rows.py).

- `RowUrl`: a URL reversed once with a placeholder for its last argument and completed per row
  by string joining; reversing a URL per row cost about 13 µs a row. The reversed halves are
  kept per process when the URL has no leading arguments, keyed by everything `reverse` reads
  (URL name, placeholder, script prefix, URLconf): they come from the URL patterns, never from
  data, so nothing clinical is cached (leading arguments are row keys: not kept, so the cache
  stays as small as the set of URL names); forgotten when a test swaps the URL configuration (as
  `{% fixed_url %}` does). A Today page reversed 6 to 8 of them (~0.1 ms).
- `choice_labels`: a choice field's labels read once a page; `get_FOO_display()` rebuilds and
  hashes the field's whole choice list on every call.
"""
from __future__ import annotations

import uuid

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse

PLACEHOLDER_PK = 987654321
PLACEHOLDER_CODE = uuid.UUID(int=0)


class RowUrl:
    """`reverse(name, args=[*args, value])` for many values, reversed once."""

    # (name, placeholder, script prefix, urlconf) -> (head, tail), for URLs without leading
    # arguments: bounded by the URL names the code uses times the prefixes a site is served at.
    _halves: dict[tuple, tuple[str, str]] = {}

    def __init__(self, name: str, *, args: tuple = (), placeholder=PLACEHOLDER_PK) -> None:
        if args:  # leading arguments are data (a session, a track): reversed every time
            self._head, self._tail = _reverse_halves(name, args, placeholder)
            return
        key = (name, placeholder, get_script_prefix(), get_urlconf())
        halves = self._halves.get(key)
        if halves is None:
            halves = self._halves[key] = _reverse_halves(name, args, placeholder)
        self._head, self._tail = halves

    def __call__(self, value) -> str:
        return f"{self._head}{value}{self._tail}"


def _reverse_halves(name: str, args: tuple, placeholder) -> tuple[str, str]:
    head, tail = reverse(name, args=[*args, placeholder]).rsplit(str(placeholder), 1)
    return head, tail


@receiver(setting_changed)
def _forget_halves(*, setting, **kwargs) -> None:
    if setting in {"ROOT_URLCONF", "FORCE_SCRIPT_NAME"}:
        RowUrl._halves.clear()


def choice_labels(model, name: str) -> dict[str, str]:
    """A choice field's labels in the current language, as `get_<name>_display` shows them."""
    return {value: str(label) for value, label in model._meta.get_field(name).flatchoices}
