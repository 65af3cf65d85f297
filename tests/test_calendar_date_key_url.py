"""|calendar_date writes what Django's |date writes, and {% key_url %} what {% url %} does."""
import datetime as dt
import uuid
import zoneinfo

import pytest
from django.template import engines
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from iop_clinic.fixed_urls import key_url

ZONE = zoneinfo.ZoneInfo("America/New_York")
VALUES = [dt.date(2026, 3, 8), dt.date(2026, 12, 31), None, "",
          dt.datetime(2026, 3, 8, 1, 30, tzinfo=ZONE),  # the night clocks go forward
          dt.datetime(2026, 11, 1, 1, 30, tzinfo=ZONE, fold=1),
          dt.datetime(2026, 1, 1, 3, 0, tzinfo=dt.timezone.utc),  # Dec 31 in New York
          dt.datetime(2026, 5, 4, 23, 59)]
FORMATS = ["", ':"MONTH_DAY_FORMAT"', ':"DATETIME_FORMAT"', ':"M j"', ':"Y-m-d H:i"',
           ':"D, N jS \\\\a\\\\t o"']


def _outcome(template, value):
    """The text, or the error (a date given a format with the time refuses it)."""
    try:
        return template.render({"value": value})
    except TypeError as error:
        return type(error), str(error)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("use_tz", [True, False])
def test_calendar_date_writes_what_date_writes(language, use_tz, settings):
    settings.USE_TZ = use_tz
    engine = engines["django"]
    for arg in FORMATS:
        ours = engine.from_string("{{ value|calendar_date%s }}" % arg)
        django = engine.from_string("{{ value|date%s }}" % arg)
        with translation.override(language), timezone.override(ZONE):
            for value in VALUES * 2:  # the second round comes from the kept texts
                if not use_tz and isinstance(value, dt.datetime) and value.tzinfo:
                    continue
                assert _outcome(ours, value) == _outcome(django, value), (arg, value)


@pytest.mark.urls("iop_clinic.urls")
def test_key_url_writes_what_url_writes():
    code = uuid.uuid4()
    assert key_url("participant_chart", code) == reverse("participant_chart", args=[code])
    assert key_url("participant_chart", uuid.UUID(int=0)) == reverse(
        "participant_chart", args=[uuid.UUID(int=0)])
    for pk in (1, 42, 987654321, 10**12):
        assert key_url("enrollment_hold", pk) == reverse("enrollment_hold", args=[pk])
    assert key_url("participant_chart", str(code)) == reverse("participant_chart", args=[code])
    with pytest.raises(NoReverseMatch):
        key_url("enrollment_hold", -1)
    with pytest.raises(NoReverseMatch):
        key_url("enrollment_hold", "x/y")
    template = engines["django"].from_string(
        "{% load fixed_urls %}{% key_url 'enrollment_hold' pk %}|{% url 'enrollment_hold' pk %}")
    ours, django = template.render({"pk": 7}).split("|")
    assert ours == django
