"""Helpers for rows a page prepares once (staff/*_rows.py, portal/schedule_rows.py).

- `RowUrl`: a URL reversed once with a placeholder for its last argument and completed per row
  by string joining; reversing a URL per row cost about 13 µs a row. The reversed halves are
  kept per process when the URL has no leading arguments (`fixed_urls.reverse_once`: URL
  patterns, never data; leading arguments are row keys, reversed every time). A Today page
  reversed 6 to 8 of them (~0.1 ms).
- `EscapedOnce`: each distinct text of a page escaped once.
- `template_text`: `{{ value }}` as a template writes it (localized, then escaped), for rows
  written in Python in place of a template.
- `choice_labels`: a choice field's labels, read once a process and language;
  `get_FOO_display()` rebuilds and hashes the field's whole choice list on every call.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from html import escape
from types import MappingProxyType

from django.template.base import render_value_in_context
from django.template.context import Context
from django.urls import reverse
from django.utils.translation import get_language

from iop_clinic.fixed_urls import PLACEHOLDER_CODE, PLACEHOLDER_PK, url_halves

__all__ = ["PLACEHOLDER_CODE", "PLACEHOLDER_PK", "EscapedOnce", "RowUrl", "choice_labels",
           "template_text"]


class RowUrl:
    """`reverse(name, args=[*args, value])` for many values, reversed once."""

    def __init__(self, name: str, *, args: tuple = (), placeholder=PLACEHOLDER_PK) -> None:
        # Leading arguments are data (a session, a track): reversed every time, never kept.
        if args:
            url = reverse(name, args=[*args, placeholder])
            self._head, self._tail = url.rsplit(str(placeholder), 1)
        else:
            self._head, self._tail = url_halves(name, placeholder)

    def __call__(self, value) -> str:
        return f"{self._head}{value}{self._tail}"

    @property
    def html_safe(self) -> bool:
        """Whether the reversed halves hold nothing HTML escapes (& < > " '): a URL filled in
        with an id or a UUID, which hold none either, is then written as it is."""
        return escape(self._head) == self._head and escape(self._tail) == self._tail


class EscapedOnce(dict):
    """`html.escape` of each distinct text, once a page: `escaped[text]`. A page's rows repeat
    their days, titles, labels, rooms and sites (escape is ~0.4 µs a call, hundreds a page).
    Plain `str` texts only, made for one page and dropped with it."""

    def __missing__(self, text: str) -> str:
        escaped = self[text] = escape(text)
        return escaped


# What {{ value }} renders with in a template: autoescape on, localization and time zones as
# the settings have them. Read, never written, so one is shared.
_AUTOESCAPED = Context()


def template_text(value) -> str:
    """`{{ value }}` written as a template writes it: localized, then escaped."""
    return render_value_in_context(value, _AUTOESCAPED)


def choice_labels(model, name: str) -> Mapping[str, str]:
    """A choice field's labels in the current language, as `get_<name>_display` shows them."""
    return _choice_labels(model, name, get_language())


# Kept per process and language: the words of the code's choices, nothing about anyone. A
# chart read six of them, each ~50 µs of flattening choices and translating lazy labels.
@lru_cache(maxsize=256)
def _choice_labels(model, name: str, language: str | None) -> Mapping[str, str]:
    return MappingProxyType({value: str(label)
                             for value, label in model._meta.get_field(name).flatchoices})
