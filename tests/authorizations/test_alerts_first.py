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

    with django_assert_max_num_queries(1):
        first, count = authorization_alerts_first(site_ids=[w.site.pk], today=TODAY, shown=3)

    assert count == len(every) and count > 3
    assert first == every[:3]
    assert [a.message for a in first] == [a.message for a in every[:3]]
    assert authorization_alerts_first(site_ids=[], today=TODAY, shown=3) == ([], 0)


def test_it_orders_every_kind_of_alert_as_the_whole_list_does(django_assert_max_num_queries):
    w = build_world(alert_units=0, review_days=7)
    worlds = [w] + [build_world(site=w.site) for _ in range(4)]
    # Names a dictionary collation sorts otherwise than Python does: case and accents.
    for world, name in zip(worlds, ["avery", "Zoë", "Émile", "Avery", "zoe"]):
        world.enrollment.participant.first_name = name
        world.enrollment.participant.save()
    over_and_after_end = worlds[0].authorize(units_authorized=1,
                                             end_date=MONDAY + dt.timedelta(days=9))
    for n in (0, 7, 8, 9, 14):
        worlds[0].attend(MONDAY + dt.timedelta(days=n), "present" if n == 0 else "expected")
    worlds[1].authorize(end_date=TODAY - dt.timedelta(days=1))  # expired
    worlds[2].authorize(end_date=TODAY - dt.timedelta(days=1))  # expired, but renewed:
    worlds[2].authorize(number="RENEWAL-2", start_date=TODAY,
                        end_date=TODAY + dt.timedelta(days=30),
                        next_review_date=TODAY + dt.timedelta(days=2))
    worlds[3].authorize(units_authorized=1, next_review_date=TODAY - dt.timedelta(days=1))
    worlds[4].authorize(next_review_date=TODAY + dt.timedelta(days=2))
    authorization_usage_refresh(today=TODAY)
    every = authorization_alerts(site_ids=[w.site.pk], today=TODAY)
    assert {a.kind for a in every} >= {"over_units", "after_end", "expired", "review_due",
                                       "low_units"}
    assert over_and_after_end.pk in {a.authorization_id for a in every}

    for shown in (1, 3, len(every)):
        with django_assert_max_num_queries(1):
            first, count = authorization_alerts_first(site_ids=[w.site.pk], today=TODAY,
                                                      shown=shown)
        assert count == len(every)
        assert first == every[:shown]
        assert [a.message for a in first] == [a.message for a in every[:shown]]


def test_missing_authorizations_take_their_place_among_ties(django_assert_max_num_queries):
    """Same date, same name: an authorization's alert before a missing one, missing ones by last
    name then person, as `authorization_alerts` (two queries, a stable sort) orders them."""
    w = build_world(review_days=7)
    worlds = [w] + [build_world(site=w.site) for _ in range(4)]  # all "Avery Adams", Monday
    strict, _ = Payer.objects.get_or_create(name="Strict Plan (invented)",
                                            defaults={"requires_authorization": True})
    # One name, split two ways: the later person's last name sorts first.
    for world, (first, last) in zip(worlds[3:], [("Avery", "Lee Adams"), ("Avery Lee", "Adams")]):
        world.participant.first_name, world.participant.last_name = first, last
        world.participant.save()
    worlds[0].authorize(next_review_date=MONDAY)  # review due on the admission day
    for world in worlds:
        Coverage.objects.filter(enrollment=world.enrollment).delete()
        Coverage.objects.create(enrollment=world.enrollment, payer=strict)  # none for it
    authorization_usage_refresh(today=TODAY)
    every = authorization_alerts(site_ids=[w.site.pk], today=TODAY)
    assert [a.kind for a in every].count("missing") == 5 and len(every) == 6
    assert len({(a.on_date, a.participant) for a in every}) == 2  # ties, two groups

    for shown in range(1, len(every) + 1):
        with django_assert_max_num_queries(1):
            first, count = authorization_alerts_first(site_ids=[w.site.pk], today=TODAY,
                                                      shown=shown)
        assert count == len(every)
        assert first == every[:shown]
        assert [a.message for a in first] == [a.message for a in every[:shown]]
