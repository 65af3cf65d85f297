"""A portal invitation end to end: asked for in its own process, sent by a real worker and beat
on a private Redis, once, with its link minted at send time and kept nowhere in the outbox."""
import re

import pytest

from participants.models import PortalLink
from reminders.delivery import LINK_LEFT_OUT
from reminders.models import Reminder
from tests import factories

from .processes import wait_for
from .test_e2e_notices import more_sweeps

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]

INVITE = ("from accounts.models import User\n"
          "from participants.models import Participant\n"
          "from participants.portal_accounts import portal_invite\n"
          "portal_invite(participant=Participant.objects.get(pk={pk}),\n"
          "              by=User.objects.get(pk={by}))\n")


def test_it_sends_an_invitation_once_through_the_outbox(stack, site, front_desk):
    processes, _ = stack
    participant = factories.ParticipantFactory(home_site=site, first_name="Robin",
                                               email="robin@mail.example.com")
    # Twice, as a double click would: the second joins the first while it waits.
    for _ in range(2):
        processes.run(INVITE.format(pk=participant.pk, by=front_desk.pk))
    assert Reminder.objects.filter(participant=participant, status="pending").count() == 1
    processes.worker("worker")
    processes.beat("beat", REMINDER_SWEEP_INTERVAL_SECONDS="1")
    wait_for(lambda: Reminder.objects.filter(participant=participant, status="sent").exists(),
             timeout=45, what="the invitation sent", interval=0.3)
    more_sweeps(processes)
    processes.kill_all()
    [row] = Reminder.objects.filter(participant=participant)
    assert (row.kind, row.status, row.attempts) == ("invitation", "sent", 1)
    assert LINK_LEFT_OUT in row.body and "/portal/invitation/" not in row.body
    [link] = PortalLink.objects.filter(participant=participant)
    assert link.used_at is None and link.created_by == front_desk
    logs = processes.logs()
    assert "Robin" not in logs and "robin@mail" not in logs and link.token_hash not in logs
    # No set-password link, whole or in part, in the worker's or beat's output.
    assert not re.search(r"/portal/invitation/[A-Za-z0-9_-]{6,}", logs)
