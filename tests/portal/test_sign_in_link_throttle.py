"""Nobody can mail-bomb a participant through "email me a sign-in link", nor keep voiding the
link they are about to use: a few requests an hour per address and per client, the same
answer either way, and a new link never voids an earlier one."""
import os
import re
import uuid

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from participants.models import PortalLink
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/portal/sign-in-link/"


@pytest.fixture(autouse=True)
def _emails_sent_in_process(eager_celery):
    """The emails go out from Celery tasks queued after commit; here they run in-process."""


@pytest.fixture
def dana(site):
    return factories.ParticipantFactory(home_site=site, first_name="Dana",
                                        email="dana@mail.example.com",
                                        user=factories.UserFactory())


def ask(client, django_capture_on_commit_callbacks, email, address="192.0.2.10"):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(URL, {"email": email}, REMOTE_ADDR=address)


def link_path(message) -> str:
    return re.sub(r"^https?://[^/]+", "", re.search(r"https?://\S+", message.body).group(0))


def test_it_sends_at_most_three_links_an_hour_to_one_address(client, dana,
                                                             django_capture_on_commit_callbacks):
    answers = [ask(client, django_capture_on_commit_callbacks, dana.email, f"192.0.2.{n}")
               for n in range(20)]

    assert len(mail.outbox) == 3
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1


def test_it_counts_an_address_however_it_is_written(client, dana,
                                                    django_capture_on_commit_callbacks):
    for n, spelling in enumerate(["dana@mail.example.com", "DANA@mail.example.com",
                                  " Dana@Mail.Example.com ", "dana@MAIL.example.com"]):
        ask(client, django_capture_on_commit_callbacks, spelling, f"192.0.2.{n}")

    assert len(mail.outbox) == 3


def test_it_answers_the_same_past_the_limit_for_strangers_and_participants(
        client, dana, django_capture_on_commit_callbacks):
    known = [ask(client, django_capture_on_commit_callbacks, dana.email, f"192.0.2.{n}")
             for n in range(5)]
    unknown = [ask(client, django_capture_on_commit_callbacks, "nobody@mail.example.com",
                   f"192.0.2.{n}") for n in range(5)]

    assert {a.content for a in known + unknown} == {known[0].content}
    assert {a.status_code for a in known + unknown} == {200}


def test_it_sends_at_most_ten_requests_an_hour_from_one_client(site,
                                                               django_capture_on_commit_callbacks):
    people = [factories.ParticipantFactory(home_site=site, email=f"p{n}@mail.example.com",
                                           user=factories.UserFactory()) for n in range(15)]
    answers = [ask(Client(), django_capture_on_commit_callbacks, person.email)
               for person in people]

    assert len(mail.outbox) == 10
    assert {a.status_code for a in answers} == {200}


def test_it_keeps_the_first_link_working_through_later_requests(
        client, dana, django_capture_on_commit_callbacks):
    ask(client, django_capture_on_commit_callbacks, dana.email)
    first = link_path(mail.outbox[0])
    for n in range(20):
        ask(client, django_capture_on_commit_callbacks, dana.email, f"198.51.100.{n}")

    response = client.post(first)

    assert response.status_code == 302 and response.url == reverse("portal-home")
    assert len(mail.outbox) == 3 == PortalLink.objects.count()
    # Signed in: the other links still in the mailbox stop working.
    client.logout()
    for message in mail.outbox[1:]:
        assert client.post(link_path(message)).status_code == 410


@pytest.mark.redis
def test_it_counts_in_redis_when_there_is_one(client, dana, settings,
                                             django_capture_on_commit_callbacks):
    import redis

    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": os.environ["REDIS_URL"], "KEY_PREFIX": prefix}}

    for n in range(6):
        ask(client, django_capture_on_commit_callbacks, dana.email, f"192.0.2.{n}")

    assert len(mail.outbox) == 3
    keys = redis.Redis.from_url(os.environ["REDIS_URL"]).keys(f"{prefix}:*")
    assert len([k for k in keys if b":address:" in k]) == 1
    assert len([k for k in keys if b":client:" in k]) == 6
    assert not [k for k in keys if b"dana" in k.lower() or b"192.0.2" in k]
    cache.delete_many([k.decode().split(":", 2)[2] for k in keys])
