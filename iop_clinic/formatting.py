"""Template filters for dates and times in the current language's formats (iop_clinic/formats).

Loaded as a template builtin, so every template has them: |day ("Mon, Nov 30"), |long_day
("Monday, November 30, 2026"), |when ("Mon, Nov 30, 6:00 PM"), |clock ("6:00 PM", for a time
or a datetime), and |phone: a stored E.164 number the way people in the clinic's region write it. Like Django's |date, an aware datetime is shown in the current time zone unless
|timezone:... came first, so a page shows the site's zone by wrapping in {% timezone %}.
"""
import datetime as dt
import re
from decimal import Decimal
from functools import lru_cache

import phonenumbers
from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.defaultfilters import date as django_date
from django.utils import dateformat, formats
from django.utils.translation import get_language

register = template.Library()

# (language, format name) -> format string. Looking the modules up imports them on every call,
# which cost a chart of 90 dates about 10 ms; Django caches its own get_format the same way.
_format_cache: dict[tuple[str, str], str] = {}


@receiver(setting_changed)
def _reset_format_cache(*, setting, **kwargs) -> None:
    if setting in {"FORMAT_MODULE_PATH", "LANGUAGE_CODE", "LANGUAGES", "USE_L10N"}:
        _format_cache.clear()
    if setting in {"FORMAT_MODULE_PATH", "LANGUAGE_CODE", "LANGUAGES", "USE_L10N",
                   "LOCALE_PATHS"}:
        _date_text.cache_clear()
        _time_text.cache_clear()


# A date's or a wall-clock time's text in a format and language, kept per process: Django's
# dateformat took 25-40 µs a value (it translates the month and weekday names, "a.m." and
# "noon" on every call), and pages write the same few days and hours again and again (the
# week calendar some thirty a page). The text is a function of these three alone, never of
# anything about anyone; a datetime's also depends on its zone, so it is not kept.
@lru_cache(maxsize=2048)
def _date_text(value: dt.date, format_string: str, language: str | None) -> str:
    return dateformat.format(value, format_string)


@lru_cache(maxsize=2048)
def _time_text(value: dt.time, format_string: str, language: str | None) -> str:
    return dateformat.time_format(value, format_string)


# A number's localized text per type, text and language, kept per process: formats.localize
# looks up the language's separators and grouping and formats digit by digit, ~10 µs a number,
# and the chart's hours ledger writes some twenty (hours and minutes, the same few again and
# again). By its text, not its value: Decimal("9.0") == Decimal("9.00") but they print apart.
# Every change of settings forgets them (separators, grouping and formats are settings).
_number_texts: dict[tuple, str] = {}
_NUMBER_TYPES = (int, Decimal, float)
_MAX_NUMBER_TEXTS = 4096


@receiver(setting_changed)
def _forget_number_texts(**kwargs) -> None:
    _number_texts.clear()


def number_text(value) -> str:
    """formats.localize(value): what {{ value }} writes for a number."""
    kind = type(value)
    if kind not in _NUMBER_TYPES:
        return formats.localize(value)
    key = (kind, str(value), get_language())
    text = _number_texts.get(key)
    if text is None:
        text = formats.localize(value)
        if len(_number_texts) < _MAX_NUMBER_TEXTS:
            _number_texts[key] = text
    return text


# Format characters of Django's DateFormat/TimeFormat that read more of a datetime than its
# calendar day (its time, zone, DST or timestamp). A format with none of them (escaped or not:
# an escaped one just takes Django's path) writes a datetime as it writes its local date.
_MORE_THAN_THE_DAY = frozenset("aAefgGhHiIOPsTuUZcr")


@register.filter(expects_localtime=True, is_safe=False)
def calendar_date(value, arg=None) -> str:
    """Django's |date, a calendar day's text kept per process (`_date_text`): |date formats
    every value afresh (~25 µs: month names translated, format characters dispatched), and the
    chart writes a dozen dates. An aware datetime arrives in the current time zone
    (expects_localtime), as with |date; a format reading its time, or any other value, gets
    |date itself."""
    kind = type(value)
    if kind is dt.date or kind is dt.datetime:
        format_string = formats.get_format(arg or "DATE_FORMAT")
        if kind is dt.date:
            return _date_text(value, format_string, get_language())
        if not _MORE_THAN_THE_DAY.intersection(format_string):
            return _date_text(value.date(), format_string, get_language())
    return django_date(value, arg)


def clinic_format(name: str) -> str:
    """The named format for the current language, from our format modules or Django's."""
    language = get_language() or settings.LANGUAGE_CODE
    try:
        return _format_cache[language, name]
    except KeyError:
        pass
    for module in formats.iter_format_modules(language, settings.FORMAT_MODULE_PATH):
        if hasattr(module, name):
            value = getattr(module, name)
            break
    else:
        value = formats.get_format(name)
    _format_cache[language, name] = value
    return value


def _format(value, name: str) -> str:
    if value in (None, ""):
        return ""
    try:
        if type(value) is dt.date:
            return _date_text(value, clinic_format(name), get_language())
        return dateformat.format(value, clinic_format(name))
    except (AttributeError, TypeError):
        return ""


@register.filter(expects_localtime=True, is_safe=False)
def day(value) -> str:
    return _format(value, "DAY_FORMAT")


@register.filter(expects_localtime=True, is_safe=False)
def long_day(value) -> str:
    return _format(value, "LONG_DAY_FORMAT")


@register.filter(expects_localtime=True, is_safe=False)
def when(value) -> str:
    return _format(value, "WHEN_FORMAT")


@register.filter(expects_localtime=True, is_safe=False)
def clock(value) -> str:
    if isinstance(value, dt.time):
        try:
            if type(value) is dt.time and value.tzinfo is None:
                return _time_text(value, clinic_format("TIME_FORMAT"), get_language())
            return dateformat.time_format(value, clinic_format("TIME_FORMAT"))
        except (AttributeError, TypeError):
            return ""
    return _format(value, "TIME_FORMAT")


# A ten-digit North American number in E.164 whose area code starts 2-9: in the US region,
# phonenumbers parses it as written (no national prefix to strip) and writes it nationally as
# "(NPA) NXX-XXXX", the only pattern of ten digits it has for the region; parsing and
# formatting it took ~30 µs a number. Anything else goes through phonenumbers
# (tests/test_phone_format.py compares the two over many numbers).
_NANP_E164 = re.compile(r"\+1([2-9]\d{2})(\d{3})(\d{4})", re.ASCII)


@register.filter(is_safe=False)
def phone(value) -> str:
    """"+15555550123" -> "(555) 555-0123"; a foreign number in international form."""
    if not value:
        return ""
    if type(value) is str and settings.PHONENUMBER_DEFAULT_REGION == "US":
        found = _NANP_E164.fullmatch(value)
        if found is not None:
            return "({}) {}-{}".format(*found.groups())
    try:
        number = phonenumbers.parse(str(value), settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return str(value)
    local = phonenumbers.region_code_for_country_code(number.country_code)
    style = (phonenumbers.PhoneNumberFormat.NATIONAL
             if local == settings.PHONENUMBER_DEFAULT_REGION
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, style)
