"""`|hours` and `|day_date` (portal/templatetags/portal_words.py) write what `|floatformat` and
`|date` write, in each language, for the values the progress card shows, from the first call
and from the kept texts alike."""
import datetime as dt
from decimal import Decimal

import pytest
from django.template import engines
from django.utils import translation

from portal.templatetags import portal_words

_HOURS = [Decimal(0), Decimal("0.00"), Decimal("9"), Decimal("9.00"), Decimal("9.5"),
          Decimal("9.50"), Decimal("12.25"), Decimal("12.35"), Decimal("1234.56"),
          Decimal("0.05"), 9, 9.5, None, "", "n/a"]
_DAYS = [dt.date(2026, 12, 7), dt.date(2027, 1, 1), dt.date(2026, 3, 8), None, ""]


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_writes_what_floatformat_and_date_write(language):
    ours = engines["django"].from_string(
        "{% load portal_words %}{{ v|hours:1 }}|{{ v|hours:'-1' }}|{{ v|hours }}|{{ d|day_date }}"
        "|{{ d|day_date:'MONTH_DAY_FORMAT' }}|{{ t|day_date:'DATETIME_FORMAT' }}")
    django = engines["django"].from_string(
        "{{ v|floatformat:1 }}|{{ v|floatformat:'-1' }}|{{ v|floatformat }}|{{ d|date }}"
        "|{{ d|date:'MONTH_DAY_FORMAT' }}|{{ t|date:'DATETIME_FORMAT' }}")
    moment = dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)  # 1:30 AM in New York
    portal_words._forget()
    with translation.override(language):
        for _twice in range(2):
            for value in _HOURS:
                for day in _DAYS:
                    context = {"v": value, "d": day, "t": moment}
                    assert ours.render(context) == django.render(context), (value, day)


@pytest.mark.parametrize("number", ["+15555550123", "+442071838750", "+1555", "not a number",
                                    "", None])
def test_a_sites_number_reads_as_the_phone_filter_writes_it(number):
    from iop_clinic.formatting import phone

    portal_words._forget()
    assert portal_words.site_phone(number) == portal_words.site_phone(number) == phone(number)
