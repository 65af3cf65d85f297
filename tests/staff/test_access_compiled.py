"""`get_participant_or_404` and `get_session_or_404` run statements compiled once per process:
for every user (no site, one, two, a superuser) and every object (mine by home site, mine by
enrollment only, another site's, missing), they must find exactly what the ORM query finds,
with the same related objects loaded, and answer 404 where it finds nothing."""
import uuid

import pytest
from django.db.models import Model
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.roles import Role
from participants.models import Participant
from sessions.models import TherapySession
from staff.access import (
    _load_access,
    get_participant_or_404,
    get_session_or_404,
    participants_for,
    sessions_for,
    site_ids_for,
)
from tests import factories

pytestmark = pytest.mark.django_db


def _fields(obj: Model | None) -> dict | None:
    if obj is None:
        return None
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def _loaded(obj: Model, path: str):
    """The related object at `path` as loaded, without a query (None when empty)."""
    for name in path.split("__"):
        if obj is None:
            return None
        field = obj._meta.get_field(name)
        assert field.is_cached(obj), f"{path} was not loaded with the object"
        obj = field.get_cached_value(obj)
    return obj


@pytest.fixture
def clinic(site, other_site):
    here_track = factories.TrackFactory(site=site)
    there_track = factories.TrackFactory(site=other_site)
    clinician = factories.StaffFactory(role=Role.CLINICIAN, sites=[site])
    at_home = factories.ParticipantFactory(home_site=site, primary_clinician=clinician)
    enrolled_here = factories.ParticipantFactory(home_site=other_site, primary_clinician=None)
    factories.EnrollmentFactory(participant=enrolled_here, track=here_track)
    elsewhere = factories.ParticipantFactory(home_site=other_site)
    factories.EnrollmentFactory(participant=elsewhere, track=there_track)
    sessions = [
        factories.TherapySessionFactory(track=here_track, site=site, facilitator=clinician,
                                        room=factories.RoomFactory(site=site)),
        factories.TherapySessionFactory(track=there_track, site=other_site),
        factories.TherapySessionFactory(track=None, site=site, participant=at_home,
                                        kind="individual", facilitator=None, room=None),
    ]
    users = [
        clinician,
        factories.StaffFactory(role=Role.CLINICIAN, sites=[other_site]),
        factories.StaffFactory(role=Role.DIRECTOR, sites=[site, other_site]),
        factories.StaffFactory(role=Role.CLINICIAN, sites=[]),
        factories.UserFactory(is_staff=True, is_superuser=True),
    ]
    return users, [at_home, enrolled_here, elsewhere], sessions


def _orm(queryset, **key):
    try:
        return get_object_or_404(queryset, **key)
    except Http404:
        return None


def _compiled(get, user, key):
    try:
        return get(user, key)
    except Http404:
        return None


def test_each_user_finds_the_participants_the_orm_query_finds(clinic,
                                                              django_assert_num_queries):
    users, participants, _sessions = clinic
    found = 0
    for user in users:
        _load_access(user)
        for code in [p.code for p in participants] + [uuid.uuid4()]:
            expected = _orm(participants_for(user).select_related(
                "home_site", "primary_clinician"), code=code)
            with django_assert_num_queries(1 if site_ids_for(user) else 0):
                got = _compiled(get_participant_or_404, user, code)
            assert _fields(got) == _fields(expected)
            if got is not None:
                found += 1
                assert isinstance(got, Participant) and not got._state.adding
                assert _fields(_loaded(got, "home_site")) == _fields(expected.home_site)
                assert _fields(_loaded(got, "primary_clinician")) == _fields(
                    expected.primary_clinician)
    assert found == 2 + 2 + 3 + 0 + 3  # clinician, outsider, director, no site, superuser


def test_each_user_finds_the_sessions_the_orm_query_finds(clinic, django_assert_num_queries):
    users, _participants, sessions = clinic
    related = ["site", "room", "facilitator", "track", "track__program", "session_type",
               "participant"]
    found = 0
    for user in users:
        _load_access(user)
        for pk in [s.pk for s in sessions] + [max(s.pk for s in sessions) + 1, 10**30]:
            expected = _orm(sessions_for(user).select_related(*related), pk=pk)
            with django_assert_num_queries(1 if site_ids_for(user) and pk < 10**30 else 0):
                got = _compiled(get_session_or_404, user, pk)
            assert _fields(got) == _fields(expected)
            if got is not None:
                found += 1
                assert isinstance(got, TherapySession) and not got._state.adding
                for path in related:
                    assert _fields(_loaded(got, path)) == _fields(_loaded(expected, path))
    assert found == 2 + 1 + 3 + 0 + 3


def test_a_code_that_is_no_uuid_fails_as_the_orm_fails(clinic):
    users, _participants, _sessions = clinic
    with pytest.raises(Exception) as orm_error:
        participants_for(users[0]).get(code="not-a-code")
    with pytest.raises(type(orm_error.value)):
        get_participant_or_404(users[0], "not-a-code")
