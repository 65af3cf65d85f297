"""Helpers for rows a page prepares once (staff/*_rows.py, portal/schedule_rows.py).

- `RowUrl`: a URL reversed once a page with a placeholder for its last argument and completed
  per row by string joining; reversing a URL per row cost about 13 µs a row.
- `choice_labels`: a choice field's labels read once a page; `get_FOO_display()` rebuilds and
  hashes the field's whole choice list on every call.
"""
from __future__ import annotations

import uuid

from django.urls import reverse

PLACEHOLDER_PK = 987654321
PLACEHOLDER_CODE = uuid.UUID(int=0)


class RowUrl:
    """`reverse(name, args=[*args, value])` for many values, reversed once."""

    def __init__(self, name: str, *, args: tuple = (), placeholder=PLACEHOLDER_PK) -> None:
        self._head, self._tail = reverse(name, args=[*args, placeholder]).rsplit(
            str(placeholder), 1)

    def __call__(self, value) -> str:
        return f"{self._head}{value}{self._tail}"


def choice_labels(model, name: str) -> dict[str, str]:
    """A choice field's labels in the current language, as `get_<name>_display` shows them."""
    return {value: str(label) for value, label in model._meta.get_field(name).flatchoices}
