"""Today's open follow-up count: the follow-ups a site holds through the person's home site or
through the session they are about, counted in SQL, equal what a plain reading of the rows says."""
import datetime as dt
import itertools

import pytest
from django.utils import timezone

from sessions.models import FollowUp, FollowUpStatus
from sessions.selectors.pages import open_followup_count
from tests import factories

pytestmark = pytest.mark.django_db


def _belongs(followup: FollowUp, site_ids: list[int]) -> bool:
    return (followup.participant.home_site_id in site_ids
            or (followup.session is not None and followup.session.site_id in site_ids))


def test_it_counts_open_follow_ups_by_home_site_or_session_site():
    sites = [factories.SiteFactory(name=f"Site {n}") for n in range(3)]
    sessions = [factories.TherapySessionFactory(track=factories.TrackFactory(site=site))
                for site in sites]
    missed = itertools.count()
    # Every pairing of a home site with a session (or none), open and resolved.
    for home, session, status in itertools.product(sites, [None, *sessions],
                                                   [FollowUpStatus.OPEN, FollowUpStatus.RESOLVED]):
        FollowUp.objects.create(
            participant=factories.ParticipantFactory(home_site=home), session=session,
            kind="unexcused_absence", status=status,
            missed_on=dt.date(2026, 1, 1) + dt.timedelta(days=next(missed)),
            resolved_at=timezone.now() if status == FollowUpStatus.RESOLVED else None)
    followups = list(FollowUp.objects.select_related("participant", "session"))

    for chosen in ([], [sites[0]], [sites[1]], [sites[0], sites[2]], [sites[2], sites[1]], sites):
        site_ids = [site.pk for site in chosen]
        expected = sum(1 for f in followups
                       if f.status == FollowUpStatus.OPEN and _belongs(f, site_ids))
        assert open_followup_count(site_ids=site_ids) == expected
    # One site: 3 homes x 4 session choices open; its own homes (4) plus others' at its session (2).
    assert open_followup_count(site_ids=[sites[0].pk]) == 6
