"""Each follow-up keeps its session's site (FollowUp.session_site), kept by the database's
triggers on every write path: created one by one or in bulk, by the services or in plain SQL,
its session changed, its session's site moved, its session deleted (SET NULL: no session, no
site), or the column written wrong by hand. After each, the kept sites equal the live ones."""
import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from sessions.models import FollowUp
from sessions.services.attendance import attendance_mark
from sessions.services.followups import followup_resolve
from tests import factories

pytestmark = pytest.mark.django_db

MISSED = dt.date(2026, 1, 5)


def _stored() -> dict[int, int | None]:
    return dict(FollowUp.objects.values_list("pk", "session_site_id"))


def _live() -> dict[int, int | None]:
    """What each follow-up's session site must be, read from its session."""
    return dict(FollowUp.objects.values_list("pk", "session__site_id"))


@pytest.fixture
def sites():
    return [factories.SiteFactory(name=f"Site {n}") for n in range(3)]


def _session_at(site):
    return factories.TherapySessionFactory(track=factories.TrackFactory(site=site))


def _followup(session, *, home, day=0, **fields) -> FollowUp:
    return FollowUp.objects.create(
        participant=factories.ParticipantFactory(home_site=home), session=session,
        kind="unexcused_absence", missed_on=MISSED + dt.timedelta(days=day), **fields)


def test_it_is_the_sessions_site_from_every_way_of_creating_one(sites):
    north, south, _ = sites
    at_south = _session_at(south)
    created = _followup(at_south, home=north)
    assert created.session_site_id is None  # the database holds it, not the saved instance
    created.refresh_from_db()
    assert created.session_site_id == south.pk

    without = _followup(None, home=north, day=1)
    bulk = FollowUp.objects.bulk_create([
        FollowUp(participant=factories.ParticipantFactory(home_site=south), session=session,
                 kind="below_minimum_hours", week_start=MISSED)
        for session in (_session_at(north), at_south, None)])
    with connection.cursor() as cursor:  # as bench/clinic.py and imports write them
        cursor.execute(
            "INSERT INTO iop_sessions_followup (participant_id, kind, status, outcome_note,"
            " session_id, created_at) VALUES (%s, 'cant_come', 'open', '', %s, %s)",
            [factories.ParticipantFactory(home_site=north).pk, at_south.pk, timezone.now()])

    stored = _stored()
    assert stored == _live()
    assert stored[without.pk] is None
    assert [stored[f.pk] for f in bulk] == [north.pk, south.pk, None]
    assert sorted(stored.values(), key=str) == sorted(
        [south.pk, None, north.pk, south.pk, None, south.pk], key=str)


def test_a_service_raised_absence_takes_its_sessions_site(site, other_site, front_desk,
                                                         clinician):
    track = factories.TrackFactory(site=other_site)
    session = factories.TherapySessionFactory(track=track, site=other_site)
    enrollment = factories.EnrollmentFactory(
        track=track, participant=factories.ParticipantFactory(home_site=site))
    attendance = factories.AttendanceFactory(session=session, participant=enrollment.participant,
                                             enrollment=enrollment)
    attendance_mark(attendance=attendance, status="absent", by=front_desk)

    raised = list(FollowUp.objects.filter(participant=enrollment.participant))
    assert raised and {f.session_site_id for f in raised} == {other_site.pk}
    # Resolving rewrites other columns only; the site stays.
    followup_resolve(followup=raised[0], outcome_note="Reached.", by=clinician)
    assert _stored() == _live()


def test_it_follows_its_session_and_the_sessions_site(sites):
    north, south, east = sites
    at_north, at_south = _session_at(north), _session_at(south)
    moved = _followup(at_north, home=east)
    staying = _followup(at_south, home=east, day=1)

    moved.session = at_south  # a full save, with the stale site the instance holds
    moved.save()
    assert FollowUp.objects.get(pk=moved.pk).session_site_id == south.pk
    FollowUp.objects.filter(pk=moved.pk).update(session=None)
    assert FollowUp.objects.get(pk=moved.pk).session_site_id is None
    FollowUp.objects.filter(pk=moved.pk).update(session=at_north)
    assert _stored() == _live()

    # No page or service moves a session to another site; written anyway, its follow-ups move.
    from sessions.models import TherapySession
    TherapySession.objects.filter(pk=at_south.pk).update(site=east)
    assert _stored() == _live()
    assert FollowUp.objects.get(pk=staying.pk).session_site_id == east.pk
    at_north.site = south
    at_north.save()
    assert FollowUp.objects.get(pk=moved.pk).session_site_id == south.pk


def test_a_site_written_by_hand_is_put_right(sites):
    north, south, _ = sites
    followup = _followup(_session_at(north), home=south)
    FollowUp.objects.filter(pk=followup.pk).update(session_site=south)
    assert FollowUp.objects.get(pk=followup.pk).session_site_id == north.pk
    without = _followup(None, home=south, day=1)
    FollowUp.objects.filter(pk=without.pk).update(session_site=north)
    assert FollowUp.objects.get(pk=without.pk).session_site_id is None


def test_deleting_the_session_empties_the_site_as_the_session(sites):
    north, south, _ = sites
    session = _session_at(north)
    followup = _followup(session, home=south)
    session.delete()
    followup.refresh_from_db()
    assert (followup.session_id, followup.session_site_id) == (None, None)
    assert _stored() == _live()


def test_the_audit_trail_leaves_it_out_on_both_paths(sites):
    """The database keeps it from the session; a save's instance does not even hold it."""
    from auditlog.models import LogEntry

    from sessions.services.audited import rows_create

    north, south, _ = sites
    one = _followup(_session_at(north), home=south)
    [bulk] = rows_create(model=FollowUp, objects=[FollowUp(
        participant=factories.ParticipantFactory(home_site=south), session=_session_at(north),
        kind="below_minimum_hours", week_start=MISSED)])
    for followup in (one, bulk):
        entry = LogEntry.objects.get_for_object(followup).get()
        assert "session" in entry.changes_dict and "session_site" not in entry.changes_dict
