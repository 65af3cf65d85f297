"""The dates in authorization alerts are written as the page's language writes them, each
language its own words, however many pages asked before."""
import datetime as dt

from django.utils import translation
from django.utils.formats import date_format

from authorizations.selectors import _d


def test_alert_dates_keep_each_language_its_own_words():
    first = dt.date(2026, 3, 1)
    with translation.override("en"):
        english = _d(first), _d(first)
    with translation.override("es"):
        spanish = _d(first)
        assert spanish == date_format(first, "DATE_FORMAT")
    with translation.override("en"):
        assert _d(first) == english[0]
    assert english == ("Mar 1, 2026", "Mar 1, 2026") and spanish != english[0]

