"""The participants changelist reads its date drill-down's first level in one query where it
can (participants/admin.py, PreparedRowsChangeList.date_hierarchy_context): the links and
titles must be Django's own {% date_hierarchy %}, whatever dates the list holds."""
import datetime as dt

import pytest
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from participants.admin import PreparedRowsChangeList
from participants.models import Participant
from tests import factories

pytestmark = pytest.mark.django_db

UTC = dt.UTC
ONE_DAY = [dt.datetime(2026, 3, 4, 15, tzinfo=UTC)]
# 04:30 UTC on the 1st is still February 28th in New York: the days are the clock's days.
IN_ONE_MONTH = [dt.datetime(2026, 3, 1, 4, 30, tzinfo=UTC), dt.datetime(2026, 3, 9, 12, tzinfo=UTC),
                dt.datetime(2026, 3, 9, 13, tzinfo=UTC), dt.datetime(2026, 3, 31, 23, tzinfo=UTC)]
EVERY_DAY_OF_JANUARY = [dt.datetime(2026, 1, d, 17, tzinfo=UTC) for d in range(1, 32)]
FEW_DAYS_IN_ONE_YEAR = [dt.datetime(2026, m, 10, 12, tzinfo=UTC) for m in (2, 5, 11)]
MANY_DAYS_IN_ONE_YEAR = [dt.datetime(2026, 2, 1, 17, tzinfo=UTC) + dt.timedelta(days=2 * i)
                         for i in range(40)]
FEW_DAYS_OVER_YEARS = [dt.datetime(2024, 6, 1, 12, tzinfo=UTC), dt.datetime(2026, 1, 1, 2, tzinfo=UTC)]
MANY_DAYS_OVER_YEARS = [dt.datetime(2025, 12, 1, 17, tzinfo=UTC) + dt.timedelta(days=i)
                        for i in range(45)]
CASES = {"none": [], "one day": ONE_DAY, "one month": IN_ONE_MONTH,
         "31 days": EVERY_DAY_OF_JANUARY, "few days, one year": FEW_DAYS_IN_ONE_YEAR,
         "many days, one year": MANY_DAYS_IN_ONE_YEAR, "few days, years": FEW_DAYS_OVER_YEARS,
         "many days, years": MANY_DAYS_OVER_YEARS}


def _changelist(admin_client, moments, query=None):
    site = factories.SiteFactory()
    for i, moment in enumerate(moments):
        person = factories.ParticipantFactory(first_name="Ann" if i % 2 else "Bea", home_site=site)
        # created_at is auto_now_add: the factory's value would be overwritten.
        Participant.objects.filter(pk=person.pk).update(created_at=moment)
    response = admin_client.get(reverse("admin:participants_participant_changelist"), query or {})
    assert response.status_code == 200
    cl = response.context["cl"]
    assert isinstance(cl, PreparedRowsChangeList)
    return response, cl


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("case", CASES)
def test_its_first_level_is_djangos(admin_client, case, zone):
    moments = CASES[case]
    _, cl = _changelist(admin_client, moments)

    with timezone.override(zone):
        with CaptureQueriesContext(connection) as ours:
            context = PreparedRowsChangeList.date_hierarchy_context.func(cl)
        with CaptureQueriesContext(connection) as djangos:
            expected = date_hierarchy(cl)

    assert context == expected
    assert len(ours.captured_queries) == (2 if case.startswith("many days") else 1)
    assert len(djangos.captured_queries) == 2


@pytest.mark.parametrize("query", [
    {"created_at__year": "2026"}, {"created_at__year": "2026", "created_at__month": "3"},
    {"created_at__year": "2026", "created_at__month": "3", "created_at__day": "9"},
    {"q": "Ann"}, {"q": "nobody"},
])
def test_a_chosen_date_or_a_search_is_djangos_too(admin_client, query):
    _, cl = _changelist(admin_client, IN_ONE_MONTH + FEW_DAYS_IN_ONE_YEAR, query)

    with timezone.override("America/New_York"):
        assert PreparedRowsChangeList.date_hierarchy_context.func(cl) == date_hierarchy(cl)


def test_the_page_shows_the_days_and_drills_down(admin_client):
    response, _ = _changelist(admin_client, IN_ONE_MONTH[1:])
    page = response.content.decode()

    assert '<nav class="toplinks">' in page
    assert 'class="date-back">&lsaquo; 2026</a>' in page
    assert "?created_at__day=9&amp;created_at__month=3&amp;created_at__year=2026" in page
    drilled = admin_client.get(reverse("admin:participants_participant_changelist"),
                               {"created_at__year": "2026", "created_at__month": "3",
                                "created_at__day": "9"})
    assert drilled.context["cl"].result_count == 2
    assert 'class="date-back">&lsaquo; March 2026</a>' in drilled.text


@pytest.mark.parametrize("context", [
    None, {}, {"show": False},
    {"show": True, "back": None, "choices": []},
    {"show": True, "back": {"link": "?a=1&b=<2>", "title": "All dates"},
     "choices": [{"link": "?created_at__year=2026&x=\"y\"", "title": "March <9>"},
                 {"title": "2026"}, {"link": "", "title": 2025}]},
    {"show": True, "back": {"link": "?created_at__year=2026", "title": "2026"},
     "choices": [{"link": "?m=1", "title": "January"}, {"link": "?m=2", "title": "February"}]},
])
def test_the_drill_down_is_written_as_its_template_writes_it(context):
    from django.template.loader import get_template

    from participants.admin import _date_hierarchy_html

    expected = ""
    if context:
        expected = get_template("admin/date_hierarchy.html").render(
            {"show": context.get("show"), "back": context.get("back"),
             "choices": context.get("choices")})
    assert _date_hierarchy_html(context) == expected
