"""Portal invitations go through the outbox: a notice row, claimed and sent once, shown on the
chart, and holding no token: the set-password link is minted when the email is sent, the row
keeps the text with the link left out, and only the last invitation sent works."""
import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from participants.models import PortalLink
from participants.portal_accounts import portal_invite, token_hash
from reminders.channels import PermanentChannelError
from reminders.delivery import LINK_LEFT_OUT, reminder_deliver
from reminders.models import Reminder
from reminders.sweeper import reminders_sweep
from tests import factories

from .conftest import local

pytestmark = pytest.mark.django_db
NY = "America/New_York"


@pytest.fixture
def dana(site):
    # SMS only, no consent: an invitation is an email the person asked for, not a reminder.
    return factories.ParticipantFactory(home_site=site, first_name="Dana", reminder_channels="sms",
                                        email="dana@mail.example.com")


def _invite(participant, by, capture):
    with capture(execute=True):
        portal_invite(participant=participant, by=by)


def _token(message) -> str:
    return re.search(r"/portal/invitation/([^/\s]+)/", message.body).group(1)


def test_it_sends_an_invitation_once_and_keeps_no_token(dana, front_desk, eager_celery,
                                                         django_capture_on_commit_callbacks):
    _invite(dana, front_desk, django_capture_on_commit_callbacks)

    row = Reminder.objects.get(participant=dana)
    assert (row.kind, row.channel, row.status) == ("invitation", "email", "sent")
    assert row.requested_by == front_desk and row.attempts == 1
    [message] = mail.outbox
    token = _token(message)
    # Nowhere in the outbox: the row keeps the text, with the link left out.
    assert not Reminder.objects.filter(body__contains=token).exists()
    assert LINK_LEFT_OUT in row.body and "/portal/invitation/" not in row.body
    assert row.body.startswith(f"{message.subject}\n\n")
    link = PortalLink.objects.get()
    assert link.token_hash == token_hash(token) and link.created_by == front_desk
    # Swept and delivered again (a duplicate task, a second beat): nothing more goes out.
    with django_capture_on_commit_callbacks(execute=True):
        reminders_sweep()
    assert reminder_deliver(reminder_id=row.pk) == "not_claimed"
    assert len(mail.outbox) == 1 and PortalLink.objects.count() == 1


def test_it_shows_the_invitation_on_the_chart(client, dana, front_desk, eager_celery,
                                              django_capture_on_commit_callbacks):
    client.force_login(front_desk)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal_invite", args=[dana.code]))

    page = client.get(reverse("participant_chart", args=[dana.code])).content.decode()

    assert "Portal invitation, Email" in page and "Sent" in page


def test_it_joins_a_second_click_while_one_waits_and_lets_only_the_last_sent_work(
        client, dana, front_desk, django_capture_on_commit_callbacks, eager_celery):
    portal_invite(participant=dana, by=front_desk)  # not committed: waits, unsent
    portal_invite(participant=dana, by=front_desk)
    assert Reminder.objects.filter(participant=dana, status="pending").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        reminders_sweep()
    _invite(dana, front_desk, django_capture_on_commit_callbacks)

    assert Reminder.objects.filter(participant=dana, kind="invitation", status="sent").count() == 2
    first, second = (_token(m) for m in mail.outbox)
    assert client.get(reverse("portal-invitation", args=[first])).status_code == 410
    assert client.get(reverse("portal-invitation", args=[second])).status_code == 200


def test_it_keeps_the_last_invitation_working_when_a_resend_is_refused(
        client, dana, front_desk, monkeypatch, django_capture_on_commit_callbacks, eager_celery):
    _invite(dana, front_desk, django_capture_on_commit_callbacks)
    working = _token(mail.outbox[0])

    def refuse(**kwargs):
        raise PermanentChannelError("mailbox unavailable")

    monkeypatch.setattr("reminders.delivery.send_email_message", refuse)
    _invite(dana, front_desk, django_capture_on_commit_callbacks)

    resent = Reminder.objects.filter(participant=dana).order_by("pk").last()
    assert (resent.status, resent.reason) == ("failed", "permanent_error")
    assert PortalLink.objects.count() == 2  # the refused one was minted, then voided
    assert client.get(reverse("portal-invitation", args=[working])).status_code == 200


def test_it_skips_an_invitation_whose_login_was_turned_off(dana, front_desk, eager_celery,
                                                          django_capture_on_commit_callbacks):
    portal_invite(participant=dana, by=front_desk)
    dana.user.is_active = False
    dana.user.save(update_fields=["is_active"])
    with django_capture_on_commit_callbacks(execute=True):
        reminders_sweep()

    row = Reminder.objects.get(participant=dana)
    assert (row.status, row.reason) == ("skipped", "no_portal_login")
    assert mail.outbox == [] and not PortalLink.objects.exists()


def test_it_sends_an_invitation_at_once_even_in_quiet_hours(site, dana, front_desk, eager_celery,
                                                           django_capture_on_commit_callbacks):
    site.time_zone = NY
    site.save(update_fields=["time_zone"])
    with time_machine.travel(local(NY, 2026, 2, 2, 21, 30), tick=False):
        _invite(dana, front_desk, django_capture_on_commit_callbacks)
    assert Reminder.objects.get(participant=dana).status == "sent" and len(mail.outbox) == 1


def test_it_lets_an_unsent_invitation_expire_with_its_link_lifetime(
        settings, dana, front_desk, django_capture_on_commit_callbacks, eager_celery):
    settings.PORTAL_INVITATION_DAYS = 2
    portal_invite(participant=dana, by=front_desk)  # workers down: never sent
    row = Reminder.objects.get(participant=dana)
    assert row.send_before - row.due_at == dt.timedelta(days=2)
    with time_machine.travel(row.send_before + dt.timedelta(minutes=1), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        reminders_sweep()
    row.refresh_from_db()
    assert row.status == "expired" and mail.outbox == []
