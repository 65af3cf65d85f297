"""Each follow-up keeps its participant's home site (FollowUp.home_site), kept by the database's
triggers on every write path: created one by one or in bulk, by the services or in plain SQL,
its participant changed, the participant's home moved, or the column written wrong by hand.
After each, the kept home sites equal the live ones."""
import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from participants.models import Participant
from sessions.models import FollowUp
from sessions.services.followups import followup_resolve
from tests import factories

pytestmark = pytest.mark.django_db

MISSED = dt.date(2026, 1, 5)


def _stored() -> dict[int, int | None]:
    return dict(FollowUp.objects.values_list("pk", "home_site_id"))


def _live() -> dict[int, int | None]:
    """What each follow-up's home site must be, read from its participant."""
    return dict(FollowUp.objects.values_list("pk", "participant__home_site_id"))


@pytest.fixture
def sites():
    return [factories.SiteFactory(name=f"Site {n}") for n in range(3)]


def _followup(person, *, day=0, **fields) -> FollowUp:
    return FollowUp.objects.create(participant=person, kind="unexcused_absence",
                                   missed_on=MISSED + dt.timedelta(days=day), **fields)


def test_it_is_the_persons_home_site_from_every_way_of_creating_one(sites):
    north, south, _ = sites
    created = _followup(factories.ParticipantFactory(home_site=north))
    assert created.home_site_id is None  # the database holds it, not the saved instance
    created.refresh_from_db()
    assert created.home_site_id == north.pk

    bulk = FollowUp.objects.bulk_create([
        FollowUp(participant=factories.ParticipantFactory(home_site=site), kind="cant_come")
        for site in (south, north)])
    with connection.cursor() as cursor:  # as bench/clinic.py and imports write them
        cursor.execute(
            "INSERT INTO iop_sessions_followup (participant_id, kind, status, outcome_note,"
            " created_at) VALUES (%s, 'cant_come', 'open', '', %s)",
            [factories.ParticipantFactory(home_site=south).pk, timezone.now()])

    stored = _stored()
    assert stored == _live()
    assert [stored[f.pk] for f in bulk] == [south.pk, north.pk]
    assert sorted(stored.values()) == sorted([north.pk, south.pk, north.pk, south.pk])


def test_it_moves_with_the_persons_home_open_and_resolved(sites, clinician):
    north, south, east = sites
    person = factories.ParticipantFactory(home_site=north)
    someone_else = _followup(factories.ParticipantFactory(home_site=north), day=3)
    first, second = _followup(person), _followup(person, day=1)
    followup_resolve(followup=first, outcome_note="Reached.", by=clinician)

    person.home_site = south  # as the participant form and the admin save it
    person.save()
    assert {_stored()[f.pk] for f in (first, second)} == {south.pk}
    Participant.objects.filter(pk=person.pk).update(home_site=east)
    assert _stored() == _live()
    assert _stored()[someone_else.pk] == north.pk


def test_it_follows_its_participant(sites):
    north, south, _ = sites
    followup = _followup(factories.ParticipantFactory(home_site=north))
    followup.participant = factories.ParticipantFactory(home_site=south)
    followup.save()  # a full save, with the stale home site the instance holds
    assert FollowUp.objects.get(pk=followup.pk).home_site_id == south.pk
    FollowUp.objects.filter(pk=followup.pk).update(
        participant=factories.ParticipantFactory(home_site=north))
    assert _stored() == _live()


def test_a_home_site_written_by_hand_is_put_right(sites):
    north, south, _ = sites
    followup = _followup(factories.ParticipantFactory(home_site=north))
    FollowUp.objects.filter(pk=followup.pk).update(home_site=south)
    assert FollowUp.objects.get(pk=followup.pk).home_site_id == north.pk


def test_the_audit_trail_leaves_it_out(sites):
    """The database keeps it from the participant; a save's instance does not even hold it."""
    from auditlog.models import LogEntry

    followup = _followup(factories.ParticipantFactory(home_site=sites[0]))
    entry = LogEntry.objects.get_for_object(followup).get()
    assert "participant" in entry.changes_dict and "home_site" not in entry.changes_dict
