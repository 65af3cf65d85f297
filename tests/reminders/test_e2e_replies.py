"""Two-way SMS end to end: a real worker and beat send reminders that ask for a reply; replies
come in through the signed webhook; "1" marks the confirmation and "STOP" still wins."""
import json

import pytest

from participants.models import ContactConsent
from reminders.models import Reminder, ReminderPolicy
from sessions.models import Attendance

from .channels.test_sms_webhook import TOKEN, text_in
from .processes import due_reminders, sms_files, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]


def test_it_marks_a_reply_1_and_lets_stop_win(stack, client, settings, eager_celery):
    settings.SMS_AUTH_TOKEN, settings.SMS_WEBHOOK_BASE_URL = TOKEN, ""
    processes, sms_dir = stack
    ids = due_reminders(3)
    rows = list(Reminder.objects.filter(pk__in=ids).select_related("participant").order_by("pk"))
    ReminderPolicy.objects.create(site=rows[0].site, sms_ask_reply=True)
    processes.worker("worker")
    processes.beat("beat", REMINDER_SWEEP_INTERVAL_SECONDS="1")
    wait_for(lambda: Reminder.objects.filter(pk__in=ids, status="sent").count() == 3,
             timeout=45, what="3 reminders sent", interval=0.3)
    processes.kill_all()
    bodies = [json.loads(path.read_text())["body"] for path in sms_files(sms_dir)]
    assert len(bodies) == 3 and all("Reply 1 to confirm, 2 if you can't come" in b for b in bodies)
    assert all(len(b) <= 160 for b in bodies)

    confirmer, stopper, both = (row.participant for row in rows)
    assert text_in(client, " 1 ", sender=confirmer.phone).status_code == 200
    assert text_in(client, "STOP", sender=stopper.phone).status_code == 200
    assert text_in(client, "1 stop", sender=both.phone).status_code == 200

    answers = dict(Attendance.objects.filter(participant__in=[confirmer, stopper, both])
                   .values_list("participant_id", "confirmation"))
    assert answers == {confirmer.pk: "confirmed", stopper.pk: "", both.pk: ""}
    standing = set(ContactConsent.objects.filter(revoked_at__isnull=True, channel="sms")
                   .values_list("participant_id", flat=True))
    assert confirmer.pk in standing and not {stopper.pk, both.pk} & standing
