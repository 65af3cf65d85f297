"""Issue 13, item 11: one PUBLIC_BASE_URL for every absolute link in every email."""
import datetime as dt
import re
import subprocess

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from participants.portal_accounts import portal_invite, portal_sign_in_link_request
from sessions.services.attendance import attendance_mark
from tests import factories
from tests.auth import sign_in
from tests.staff.conftest import make_group_session

pytestmark = pytest.mark.django_db

BASE = "https://clinic.example.org:8443"


def _links(message) -> list[str]:
    return re.findall(r"https?://\S+", message.body)


@pytest.fixture(autouse=True)
def _public_base(settings, eager_celery):
    # Portal emails go out from Celery tasks queued after commit; here they run in-process.
    settings.PUBLIC_BASE_URL = BASE


def test_it_links_every_email_to_the_public_base_url(site, clinician, front_desk,
                                                     django_capture_on_commit_callbacks):
    track = factories.TrackFactory(site=site, lead_clinician=clinician)
    _session, (row,) = make_group_session(track, size=1, day=dt.date(2025, 12, 1))
    carol = factories.ParticipantFactory(home_site=site, email="carol@mail.example.com")
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(attendance=row, status="absent", by=front_desk)  # staff notice
        portal_invite(participant=carol, by=clinician)
    with django_capture_on_commit_callbacks(execute=True):
        portal_sign_in_link_request(email="carol@mail.example.com", client="192.0.2.1")

    links = [link for message in mail.outbox for link in _links(message)]
    assert len(mail.outbox) == 3 and len(links) == 3
    assert all(link.startswith(BASE + "/") for link in links), links


def test_it_ignores_the_host_a_request_came_in_on(site, clinician,
                                                  django_capture_on_commit_callbacks):
    carol = factories.ParticipantFactory(home_site=site, email="carol@mail.example.com")
    staff = sign_in(Client(), clinician)
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("portal_invite", args=[carol.code]), HTTP_HOST="localhost:9999")
    assert len(mail.outbox) == 1
    assert _links(mail.outbox[0])[0].startswith(BASE + "/portal/")


def test_make_run_sets_it_from_the_port():
    dry = subprocess.run(["make", "-n", "run", "PORT=8123"], capture_output=True, text=True,
                         check=False, timeout=60)
    assert 'PUBLIC_BASE_URL="http://127.0.0.1:8123"' in dry.stdout
