"""The portal finds the signed-in participant with a statement compiled once per process
(portal/access.py): the record it hands every page is the one the ORM would load, field for
field, with its home site, and nobody else's."""
import datetime as dt

from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from participants.models import Participant
from portal.access import portal_participant
from tests import factories


def _request(user):
    request = RequestFactory().get("/portal/")
    request.user = user
    return request


def _fields(obj):
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_it_loads_the_same_participant_and_site_as_the_orm(db):
    site = factories.SiteFactory(name="North <&>", public_alias="Wellness Center",
                                 time_zone="America/Chicago", phone="+15555550123")
    other_site = factories.SiteFactory(name="South", time_zone="Europe/Madrid")
    people = []
    for n, (home, zone, language) in enumerate([(site, "", "en"),
                                                 (other_site, "Pacific/Auckland", "es")]):
        people.append(factories.ParticipantFactory(
            home_site=home, time_zone=zone, language=language, first_name=f"Ana{n}",
            user=factories.UserFactory(username=f"p{n}"), date_of_birth=dt.date(1990, 2, 3 + n),
            calendar_shows_address=bool(n)))
    factories.ParticipantFactory(home_site=site)  # someone without a login
    for person in people:
        expected = Participant.objects.select_related("home_site").get(user=person.user)
        found = portal_participant(_request(person.user))
        assert type(found) is Participant and found.pk == person.pk
        assert _fields(found) == _fields(expected)
        assert not found._state.adding and found._state.db == "default"
        with CaptureQueriesContext(connection) as queries:
            assert _fields(found.home_site) == _fields(expected.home_site)
            assert found.zone == expected.zone
        assert len(queries) == 0


def test_it_finds_no_participant_for_staff_or_anonymous(db, site):
    from django.contrib.auth.models import AnonymousUser

    staff = factories.StaffFactory(role=Role.CLINICIAN, sites=[site])
    assert portal_participant(_request(staff)) is None
    assert portal_participant(_request(AnonymousUser())) is None


def test_it_is_one_query_with_the_users_id_as_a_parameter(db, site):
    person = factories.ParticipantFactory(home_site=site, user=factories.UserFactory())
    portal_participant(_request(person.user))
    with CaptureQueriesContext(connection) as queries:
        assert portal_participant(_request(person.user)).pk == person.pk
    assert len(queries) == 1
