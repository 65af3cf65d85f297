"""`|hours`, `|day_date` and `|site_phone`: `|floatformat`, `|date` and `|phone` for the hours and
days of a participant's progress and a site's call-back number, each distinct value written
once a process (per language and format).

The progress card (on the home page and the progress page) writes four to six of them on every
view, ~20-30 µs each through Django's filters (Decimal rounding, the language's number and date
formats); the values are few (hours in tenths, the weeks' Mondays), so they are kept. A site's
number took ~35 µs to parse and format on the home page's printed header. What is kept is a
number, a date or a site's public phone number and its text, nothing about anyone: a
participant's own number is never given to `|site_phone`.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.defaultfilters import date as date_filter, floatformat
from django.utils.translation import get_language

from iop_clinic.formatting import phone

register = template.Library()


@lru_cache(maxsize=4096, typed=True)  # an int, a float and a Decimal apart
def _number(language: str | None, value, arg: str) -> str:
    return floatformat(value, arg)


@lru_cache(maxsize=4096)
def _day(language: str | None, value: date, arg: str | None) -> str:
    return date_filter(value, arg)


@lru_cache(maxsize=64)
def _phone(number: str) -> str:
    return phone(number)


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    # Formats, languages, separators...: whatever a test changes, the texts are written afresh.
    _number.cache_clear()
    _day.cache_clear()
    _phone.cache_clear()


@register.filter(is_safe=True)
def hours(value, arg="-1"):
    """`value|floatformat:arg`, kept per language."""
    try:
        return _number(get_language(), value, str(arg))
    except TypeError:  # a value that cannot be a key
        return floatformat(value, arg)


@register.filter(expects_localtime=True, is_safe=False)
def day_date(value, arg=None):
    """`value|date:arg`; a date's text kept per language (a date-time's, which depends on
    the time zone too, written as |date writes it)."""
    if type(value) is not date:
        return date_filter(value, arg)
    return _day(get_language(), value, arg)


@register.filter(is_safe=False)
def site_phone(value) -> str:
    """`value|phone` for a site's call-back number, kept (never a participant's number)."""
    return _phone(str(value)) if value else phone(value)
