"""The admin's clock (programs.middleware.admin_time_zone) reads the sites' zones through a
statement compiled once a process: the same answer as the ORM's query, for a superuser and
for staff, whether their sites share one zone or not."""
import zoneinfo

import pytest
from django.db import connection

from programs.middleware import _zones_queryset, _zones_statement, admin_time_zone
from tests import factories

pytestmark = pytest.mark.django_db


def _orm_zone(user):
    zones = list(_zones_queryset(all_sites=user.is_superuser, user_id=user.pk,
                                 alias="default"))
    return zoneinfo.ZoneInfo(zones[0]) if len(zones) == 1 else None


@pytest.mark.parametrize("sites", [1, 6])
@pytest.mark.parametrize("mixed", [False, True])
def test_it_finds_the_zone_the_orm_finds(sites, mixed, django_user_model):
    mine = factories.SiteFactory.create_batch(sites, time_zone="America/Chicago")
    if mixed:
        mine.append(factories.SiteFactory(time_zone="America/Denver"))
    factories.SiteFactory(time_zone="Asia/Tokyo")  # someone else's site
    staff = factories.StaffFactory(role="director", sites=mine, is_staff=True)
    superuser = django_user_model.objects.create_superuser("root", "root@example.com", "x" * 12)
    loner = factories.StaffFactory(role="clinician", sites=[])

    for user in (staff, superuser, loner):
        assert admin_time_zone(user) == _orm_zone(user)
    assert admin_time_zone(staff) == (None if mixed else zoneinfo.ZoneInfo("America/Chicago"))
    assert admin_time_zone(superuser) is None  # every site: Chicago, Tokyo (and Denver)
    assert admin_time_zone(loner) is None


@pytest.mark.parametrize("all_sites", [False, True])
def test_the_statement_is_the_orms(all_sites):
    statement = _zones_statement("default", connection.vendor, all_sites=all_sites)
    sql, params = _zones_queryset(all_sites=all_sites, user_id=42, alias="default").query \
        .sql_with_params()
    assert statement.sql == sql
    assert [42 if slot == "user" else param
            for param, slot in zip(statement.params, statement.slots, strict=True)] == list(params)
