"""Today's authorization box: the first alerts of `authorization_alerts`, made cheaply."""
import datetime as dt

import pytest

from authorizations.models import Coverage, Payer
from authorizations.selectors import authorization_alerts, authorization_alerts_first
from authorizations.services import authorization_usage_refresh
from tests.authorizations.world import MONDAY, TODAY, build_world

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.mark.parametrize("people", [3, 12])
def test_it_gives_the_first_alerts_in_the_same_order_and_counts_them_all(
        people, django_assert_max_num_queries):
    w = build_world(alert_units=3, review_days=7)
    worlds = [w] + [build_world(site=w.site) for _ in range(people - 1)]
    strict, _ = Payer.objects.get_or_create(name="Strict Plan (invented)",
                                            defaults={"requires_authorization": True})
    for number, world in enumerate(worlds):
        # Same names and dates in turn, so ties keep the order authorization_alerts keeps.
        if number % 3 == 0:
            world.authorize(units_authorized=2, next_review_date=TODAY)  # low units, review
        elif number % 3 == 1:
            world.authorize(end_date=TODAY - dt.timedelta(days=1))  # expired
        else:
            world.authorize(next_review_date=TODAY + dt.timedelta(days=3),
                            end_date=MONDAY + dt.timedelta(days=20))
            Coverage.objects.filter(enrollment=world.enrollment).delete()
            Coverage.objects.create(enrollment=world.enrollment, payer=strict)  # none for it
    authorization_usage_refresh(today=TODAY)
    every = authorization_alerts(site_ids=[w.site.pk], today=TODAY)

    with django_assert_max_num_queries(2):
        first, count = authorization_alerts_first(site_ids=[w.site.pk], today=TODAY, shown=3)

    assert count == len(every) and count > 3
    assert first == every[:3]
    assert [a.message for a in first] == [a.message for a in every[:3]]
    assert authorization_alerts_first(site_ids=[], today=TODAY, shown=3) == ([], 0)
