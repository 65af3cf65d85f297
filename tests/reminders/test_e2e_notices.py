"""Change notices end to end: the change made in its own process, a real worker and beat on a
private Redis, PostgreSQL, and messages counted as files written by the SMS FileBackend."""
import datetime as dt
import json
from collections import Counter

import pytest

from reminders.models import Reminder

from .processes import expected_group, sms_files, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]

FINAL = ("sent", "expired", "skipped", "failed")


def expected_at_a_session(count: int, *, starts_in=dt.timedelta(hours=3)) -> int:
    """`count` SMS-consenting participants expected at one session; returns the session's id."""
    session, _participants = expected_group(count, first_name="Robin", starts_in=starts_in)
    return session.pk


def notices():
    return Reminder.objects.filter(kind="change")


def per_phone(sms_dir) -> Counter:
    return Counter(json.loads(path.read_text())["to"] for path in sms_files(sms_dir))


def more_sweeps(processes, n=3):
    """Wait until beat has enqueued `n` more sweeps (so anything left to send would have gone)."""
    sweeps = processes.log("beat").count(b"reminders.sweep")
    wait_for(lambda: processes.log("beat").count(b"reminders.sweep") >= sweeps + n, timeout=20,
             what=f"{n} more sweeps")


CANCEL = ("from sessions.models import TherapySession\n"
          "from sessions.services.schedule import session_cancel\n"
          "session_cancel(session=TherapySession.objects.get(pk={pk}), reason='Staff ill')\n")


def test_it_tells_each_participant_of_a_cancellation_exactly_once(stack):
    processes, sms_dir = stack
    session_id = expected_at_a_session(30)
    processes.run(CANCEL.format(pk=session_id), REMINDER_NOTICE_DEBOUNCE_SECONDS="1")
    assert notices().filter(status="pending").count() == 30
    processes.worker("worker")
    processes.beat("beat", REMINDER_SWEEP_INTERVAL_SECONDS="1")
    wait_for(lambda: notices().filter(status="sent").count() == 30, timeout=45,
             what="30 notices sent", interval=0.3)
    more_sweeps(processes)
    processes.kill_all()
    phones = per_phone(sms_dir)
    assert len(phones) == 30 and set(phones.values()) == {1}
    body = json.loads(sms_files(sms_dir)[0].read_text())["body"]
    assert "is cancelled" in body and "Staff ill" not in body
    logs = processes.logs()
    assert "Robin" not in logs and "+1555" not in logs


def test_it_tells_each_participant_once_when_a_worker_dies_mid_send_and_redis_is_flushed(
        stack, redis_server):
    processes, sms_dir = stack
    session_id = expected_at_a_session(40)
    processes.run(CANCEL.format(pk=session_id), REMINDER_NOTICE_DEBOUNCE_SECONDS="1")
    # Batches of 10 at 150 ms a message: the kill finds a batch in the worker's hands.
    env = {"SMS_FILE_LATENCY_MS": "150", "REMINDER_SEND_BATCH_SIZE": "10",
           "REMINDER_CLAIM_TIMEOUT_SECONDS": "2"}
    doomed = processes.worker("doomed", prefork=1, **env)
    processes.beat("beat", REMINDER_SWEEP_INTERVAL_SECONDS="1")
    wait_for(lambda: 3 <= notices().filter(status="sent").count() < 30, timeout=30,
             what="delivery under way", interval=0.05)
    processes.kill(doomed)  # SIGKILL to the worker and its pool process
    redis_server.client().flushall()  # and every queued batch with it
    processes.worker("rescuer", prefork=1, **env)
    wait_for(lambda: notices().filter(status__in=FINAL).count() == 40, timeout=50,
             what="every notice settled", interval=0.3)
    processes.kill_all()
    rows = list(notices().select_related("participant"))
    phones = per_phone(sms_dir)
    assert not {phone: n for phone, n in phones.items() if n > 1}  # nobody told twice
    sent = [row for row in rows if row.status == "sent"]
    assert all(phones[row.participant.phone] == 1 for row in sent)  # nobody recorded but untold
    # Only a message the killed worker had handed to the provider is left unknown (not resent).
    unknown = [row for row in rows if row.status != "sent"]
    assert all(row.reason == "outcome_unknown" for row in unknown) and len(unknown) <= 1
    # ... and staff see it on Today's "could not be sent" list, to call that person.
    from django.utils import timezone

    from reminders.selectors import failed_reminders

    listed = failed_reminders(site_ids=[rows[0].site_id], today=timezone.localdate())
    assert {row.pk for row in unknown} <= {row.pk for row in listed}
    print(f"40 notices; {len(sent)} sent, {len(unknown)} outcome_unknown after the kill")


def test_it_sends_one_message_for_a_burst_of_three_edits(stack):
    processes, sms_dir = stack
    session_id = expected_at_a_session(3)
    processes.worker("worker")
    processes.beat("beat", REMINDER_SWEEP_INTERVAL_SECONDS="1")
    # A person editing: three saves a second apart while beat sweeps every second. Without the
    # debounce the first save's notice would already be out before the second save.
    edits = "\ntime.sleep(1)\n".join(
        "session_change(session=TherapySession.objects.get(pk={pk}), "
        f"starts_at_local=now() + timedelta(hours={hours}))" for hours in (4, 5, 6))
    processes.run(("import time\n"
                   "from datetime import timedelta\n"
                   "from django.utils.timezone import now\n"
                   "from sessions.models import TherapySession\n"
                   "from sessions.services.session_change import session_change\n"
                   + edits).format(pk=session_id), REMINDER_NOTICE_DEBOUNCE_SECONDS="4")
    wait_for(lambda: notices().filter(status="sent").count() == 3, timeout=45,
             what="3 notices sent", interval=0.3)
    more_sweeps(processes)
    processes.kill_all()
    assert notices().count() == 3  # one per participant: the later edits joined it
    phones = per_phone(sms_dir)
    assert len(phones) == 3 and set(phones.values()) == {1}
    from sessions.models import TherapySession

    new_start = TherapySession.objects.get(pk=session_id).starts_at
    row = notices().select_related("participant").first()
    local = new_start.astimezone(row.participant.zone)
    hour = local.hour % 12 or 12
    assert f"at {hour}:{local:%M}" in row.body.split("is now")[1]  # the last edit's time
