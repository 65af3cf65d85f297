"""Today's open follow-up count: the follow-ups a site holds through the person's home site or
through the session they are about, counted in SQL, equal what a plain reading of the rows says
and what the ORM's definition joined with the person and the session counts."""
import datetime as dt
import itertools

import pytest
from django.db.models import Q
from django.utils import timezone

from sessions.models import FollowUp, FollowUpStatus
from sessions.selectors import pages
from sessions.selectors.pages import open_followup_count
from tests import factories

pytestmark = pytest.mark.django_db


def _belongs(followup: FollowUp, site_ids: list[int]) -> bool:
    return (followup.participant.home_site_id in site_ids
            or (followup.session is not None and followup.session.site_id in site_ids))


def _every_pairing(sites):
    """Every pairing of a home site with a session (at each site, or none), open and resolved."""
    sessions = [factories.TherapySessionFactory(track=factories.TrackFactory(site=site))
                for site in sites]
    missed = itertools.count()
    for home, session, status in itertools.product(sites, [None, *sessions],
                                                   [FollowUpStatus.OPEN, FollowUpStatus.RESOLVED]):
        FollowUp.objects.create(
            participant=factories.ParticipantFactory(home_site=home), session=session,
            kind="unexcused_absence", status=status,
            missed_on=dt.date(2026, 1, 1) + dt.timedelta(days=next(missed)),
            resolved_at=timezone.now() if status == FollowUpStatus.RESOLVED else None)


def _choices(sites):
    return ([], [sites[0]], [sites[1]], [sites[0], sites[2]], [sites[2], sites[1]], sites)


def test_it_counts_open_follow_ups_by_home_site_or_session_site():
    sites = [factories.SiteFactory(name=f"Site {n}") for n in range(3)]
    _every_pairing(sites)
    followups = list(FollowUp.objects.select_related("participant", "session"))

    for chosen in _choices(sites):
        site_ids = [site.pk for site in chosen]
        expected = sum(1 for f in followups
                       if f.status == FollowUpStatus.OPEN and _belongs(f, site_ids))
        assert open_followup_count(site_ids=site_ids) == expected
    # One site: 3 homes x 4 session choices open; its own homes (4) plus others' at its session (2).
    assert open_followup_count(site_ids=[sites[0].pk]) == 6


def test_the_count_equals_the_orm_definition_on_its_own_and_beside_todays_list():
    """The count reads the session's site kept on each follow-up (so it does not grow with the
    sites' history of sessions); the ORM's definition here joins the person and the session.
    Both, and Today's count read beside its list (mine or everyone's), agree for every choice
    of sites, including follow-ups without a session and sessions held elsewhere."""
    sites = [factories.SiteFactory(name=f"Site {n}") for n in range(3)]
    _every_pairing(sites)
    clinician = factories.UserFactory()
    # Some assigned, so the clinician's list is not empty and the count rides on it.
    every_third = list(FollowUp.objects.order_by("pk").values_list("pk", flat=True))[::3]
    FollowUp.objects.filter(pk__in=every_third).update(assignee=clinician)

    for chosen in _choices(sites):
        site_ids = [site.pk for site in chosen]
        orm = (FollowUp.objects.filter(status=FollowUpStatus.OPEN)
               .filter(Q(participant__home_site_id__in=site_ids)
                       | Q(session__site_id__in=site_ids)).count())
        assert open_followup_count(site_ids=site_ids) == orm
        for assignee in (None, clinician):
            assert pages.open_followups_and_count(site_ids=site_ids, assignee=assignee)[1] == orm


def test_todays_follow_up_statements_do_not_read_the_sessions():
    """A join with the sessions, a list of the sites' sessions or a look-up of each one reads
    sessions the clinic held, more as its history grows: Today's count and lists read the
    session's site kept on the follow-up, and the count the person's home site kept there too,
    nothing of the participants."""
    count = pages._open_followup_count_statement("default", "postgresql", 2).sql
    assert '"home_site_id" IN' in count and '"session_site_id" IN' in count
    assert "participants_participant" not in count
    for mine in (True, False):
        listed = pages._open_followups_counted_statement("default", "postgresql", 2, mine, 100).sql
        for statement in (count, listed):
            assert "iop_sessions_therapysession" not in statement
