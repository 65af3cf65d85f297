"""The portal's layout, parts of which are kept once rendered ({% once %}): each participant
still sees their own site's name and call-back number, and the menu marks the page they are on."""
from django.test import Client
from django.urls import reverse

from tests import factories

from .conftest import portal_participant


def test_each_participant_sees_their_own_site_and_the_page_they_are_on(site, track, schedule,
                                                                        now):
    other_site = factories.SiteFactory(phone="+15555550199")
    other_track = factories.TrackFactory(site=other_site, program=track.program,
                                         start_date=track.start_date)
    alice = portal_participant(site, track, first_name="Alice", last_name="Zyzzyva")
    carol = portal_participant(other_site, other_track, first_name="Carol", last_name="Quince")
    clients = {}
    for participant in (alice, carol):
        clients[participant] = Client()
        clients[participant].force_login(participant.user)
    for _ in range(2):  # the second time from what the first kept
        for participant, other in ((alice, carol), (carol, alice)):
            for name in ("portal-home", "portal-calendar"):
                page = clients[participant].get(reverse(name)).content.decode()
                mine, theirs = participant.home_site, other.home_site
                assert f'href="tel:{mine.phone}"' in page
                assert f'href="tel:{theirs.phone}"' not in page
                assert mine.public_alias in page and theirs.public_alias not in page
                assert f'href="{reverse(name)}" aria-current="page"' in page
                assert page.count('aria-current="page"') == 1
                assert 'name="csrfmiddlewaretoken"' in page
