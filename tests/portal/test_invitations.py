import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from participants.models import Participant, PortalLink
from participants.portal_accounts import portal_invite
from tests import factories

from .conftest import PROGRAM_NAME

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _emails_sent_in_process(eager_celery):
    """The emails go out from Celery tasks queued after commit; here they run in-process."""


@pytest.fixture
def carol(site, track):
    participant = factories.ParticipantFactory(home_site=site, first_name="Carol",
                                               last_name="Wexley", email="carol@mail.example.com")
    factories.EnrollmentFactory(participant=participant, track=track)
    return participant


def _link(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def _path(message) -> str:
    return re.sub(r"^https?://[^/]+", "", _link(message))


def test_it_invites_with_an_opaque_login_and_a_neutral_email(carol, clinician, site,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        portal_invite(participant=carol, by=clinician)

    carol.refresh_from_db()
    assert carol.user is not None and not carol.user.has_usable_password()
    username = carol.user.username.lower()
    assert "carol" not in username and "wexley" not in username
    [message] = mail.outbox
    assert message.to == ["carol@mail.example.com"]
    assert message.subject == f"Your account at {site.public_alias}"
    assert site.public_alias in message.from_email
    text = message.subject + message.body + message.from_email
    for secret in ("Wexley", PROGRAM_NAME, "IOP", "group", "therapy", "treatment", "clinician"):
        assert secret.lower() not in text.lower()
    assert "Hello Carol" in message.body


def test_it_refuses_to_invite_without_an_email(site, clinician):
    participant = factories.ParticipantFactory(home_site=site, email="")

    with pytest.raises(Exception) as error:
        portal_invite(participant=participant, by=clinician)

    assert error.value.code == "no_email"
    participant.refresh_from_db()
    assert participant.user is None and not PortalLink.objects.exists()


def test_it_sets_a_password_and_signs_in_once(client, carol, clinician,
                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        portal_invite(participant=carol, by=clinician)
    path = _path(mail.outbox[0])

    assert client.get(path).status_code == 200
    response = client.post(path, {"new_password1": "violet-harbour-lantern",
                                  "new_password2": "violet-harbour-lantern"})

    assert response.status_code == 302 and response.url == reverse("portal-home")
    assert client.get(reverse("portal-home")).status_code == 200
    carol.user.refresh_from_db()
    assert carol.user.check_password("violet-harbour-lantern")
    client.logout()
    again = client.get(path)
    assert again.status_code == 410
    assert "no longer works" in again.content.decode()


def test_it_shows_a_clear_page_for_an_expired_invitation(client, carol, clinician,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        portal_invite(participant=carol, by=clinician)
    path = _path(mail.outbox[0])

    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=7, minutes=1)):
        response = client.post(path, {"new_password1": "violet-harbour-lantern",
                                      "new_password2": "violet-harbour-lantern"})

    assert response.status_code == 410
    carol.user.refresh_from_db()
    assert not carol.user.has_usable_password()


def test_it_shows_a_clear_page_for_a_made_up_token(client):
    assert client.get(reverse("portal-invitation", args=["not-a-real-token"])).status_code == 410
    assert client.get(reverse("portal-sign-in", args=["not-a-real-token"])).status_code == 410


def test_it_keeps_a_weak_password_out_and_the_link_alive(client, carol, clinician,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        portal_invite(participant=carol, by=clinician)
    path = _path(mail.outbox[0])

    response = client.post(path, {"new_password1": "12345", "new_password2": "12345"})

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    carol.user.refresh_from_db()
    assert not carol.user.has_usable_password()
    assert PortalLink.objects.get().used_at is None


def test_it_honours_the_invitation_lifetime_setting(settings, carol, clinician,
                                                   django_capture_on_commit_callbacks):
    settings.PORTAL_INVITATION_DAYS = 2

    with django_capture_on_commit_callbacks(execute=True):
        portal_invite(participant=carol, by=clinician)

    link = PortalLink.objects.get()
    assert link.expires_at - link.created_at == dt.timedelta(days=2)


def test_it_lets_only_the_newest_invitation_work(client, carol, clinician,
                                                 django_capture_on_commit_callbacks):
    # Each invitation goes out before the next is asked for (a second click while one waits
    # to go out joins it: tests/reminders/test_invitation_notices.py).
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            portal_invite(participant=carol, by=clinician)
    first, second = (_path(m) for m in mail.outbox)

    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_it_answers_the_sign_in_link_form_the_same_whoever_asks(client, carol, clinician,
                                                                django_capture_on_commit_callbacks):
    portal_invite(participant=carol, by=clinician)
    mail.outbox.clear()
    url = reverse("portal-sign-in-link")

    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(url, {"email": "CAROL@mail.example.com"})
        unknown = client.post(url, {"email": "nobody@mail.example.com"})

    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    [message] = mail.outbox
    assert "Wexley" not in message.subject + message.body


def test_it_rejects_a_malformed_email_with_a_field_error(client):
    response = client.post(reverse("portal-sign-in-link"), {"email": "not an email"})

    assert response.status_code == 200
    assert response.context["form"].errors["email"]


def test_it_signs_in_once_with_a_sign_in_link(client, carol, clinician,
                                              django_capture_on_commit_callbacks):
    portal_invite(participant=carol, by=clinician)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal-sign-in-link"), {"email": carol.email})
    path = _path(mail.outbox[0])

    assert client.get(path).status_code == 200  # shows a button; a mail scanner spends nothing
    response = client.post(path)

    assert response.status_code == 302 and response.url == reverse("portal-home")
    client.logout()
    assert client.post(path).status_code == 410


def test_it_expires_a_sign_in_link_within_the_hour(client, carol, clinician,
                                                   django_capture_on_commit_callbacks):
    portal_invite(participant=carol, by=clinician)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal-sign-in-link"), {"email": carol.email})
    path = _path(mail.outbox[0])

    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31)):
        assert client.post(path).status_code == 410


def test_it_lets_site_staff_send_the_invitation_from_the_chart(client, carol, front_desk,
                                                              django_capture_on_commit_callbacks):
    client.force_login(front_desk)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal_invite", args=[carol.code]))

    assert response.status_code == 302
    assert response.url == f"/participants/{carol.code}/"
    assert len(mail.outbox) == 1
    assert Participant.objects.get(pk=carol.pk).user_id is not None


def test_it_hides_other_sites_participants_from_staff(client, carol, outsider_clinician):
    client.force_login(outsider_clinician)

    assert client.post(reverse("portal_invite", args=[carol.code])).status_code == 404
    assert not PortalLink.objects.exists()


def test_it_refuses_a_get_and_anonymous_invites(client, carol, front_desk):
    assert client.post(reverse("portal_invite", args=[carol.code])).status_code == 302
    client.force_login(front_desk)
    assert client.get(reverse("portal_invite", args=[carol.code])).status_code == 405
