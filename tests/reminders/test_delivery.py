"""The sweeper and the send task, in process: what goes out, what is skipped, and why."""
import datetime as dt
import threading

import pytest
import time_machine
from django.core import mail
from django.db import connection

from participants.models import Enrollment
from participants.services import consent_revoke
from programs.models import Closure
from reminders.channels import PermanentChannelError, TransientChannelError, sms
from sessions.models import TherapySession
from reminders.models import Reminder
from reminders.delivery import reminder_deliver
from reminders.planner import reminders_plan
from reminders.sweeper import reminders_sweep
from reminders.tasks import reminders_send

from .conftest import cancel, local, make_enrolled, make_visit

NY = "America/New_York"
PLAN_AT = local(NY, 2026, 2, 2, 9, 0)
VISIT = local(NY, 2026, 2, 4, 18, 0)
DAY_BEFORE = local(NY, 2026, 2, 3, 18, 0)


def plan(site, **kwargs):
    with time_machine.travel(PLAN_AT, tick=False):
        participant, enrollment = make_enrolled(site, **kwargs)
        session = make_visit(participant, VISIT)
        reminders_plan(participant_ids=[participant.pk])
    return participant, enrollment, session


def sweep_and_send(at, django_capture_on_commit_callbacks):
    """One sweep at `at`; the send tasks it enqueues after commit run eagerly, right here."""
    with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
        reminders_sweep()


def statuses(participant, kind="day_before"):
    return {r.channel: (r.status, r.reason)
            for r in Reminder.objects.filter(participant=participant, kind=kind)}


@pytest.mark.django_db
def test_it_sends_due_reminders_once_and_records_them(site, django_capture_on_commit_callbacks,
                                                     eager_celery):
    participant, _, _ = plan(site)
    sweep_and_send(DAY_BEFORE - dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert not sms.outbox and not mail.outbox  # not due yet
    sweep_and_send(DAY_BEFORE, django_capture_on_commit_callbacks)
    sweep_and_send(DAY_BEFORE + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert statuses(participant) == {"email": ("sent", ""), "sms": ("sent", "")}
    assert [m.to for m in sms.outbox] == [participant.phone]
    assert [m.to for m in mail.outbox] == [[participant.email]]
    sent = Reminder.objects.get(participant=participant, kind="day_before", channel="sms")
    assert sent.body == sms.outbox[0].body and sent.provider_message_id.startswith("SM")
    assert sent.attempts == 1 and sent.sent_at is not None


def _claim(at):
    with time_machine.travel(at, tick=False):
        reminders_sweep()


@pytest.mark.django_db
@pytest.mark.parametrize("change, reason", [
    ("cancel", "session_cancelled"),
    ("closure", "session_cancelled"),
    ("discharge", "not_enrolled"),
    ("revoke", "no_consent"),
    ("stop", "no_consent"),
])
def test_it_sends_nothing_after_a_change_and_says_why(site, change, reason):
    participant, enrollment, session = plan(site, channels="sms")
    _claim(DAY_BEFORE)  # claimed before the change: the send task must re-check
    if change == "cancel":
        cancel(session, "Facilitator ill")
    elif change == "closure":
        Closure.objects.create(site=site, date=session.local_date, reason="Snow")
        TherapySession.objects.filter(site=site, local_date=session.local_date).update(
            status="cancelled", cancel_reason="Site closed")
    elif change == "discharge":
        Enrollment.objects.filter(pk=enrollment.pk).update(
            status="discharged", discharge_date=dt.date(2026, 2, 3),
            discharge_reason="against_advice")
    else:
        consent_revoke(participant=participant, channel="sms",
                       source="sms_keyword" if change == "stop" else "verbal")
    claimed = Reminder.objects.get(participant=participant, kind="day_before")
    assert claimed.status == "claimed"
    with time_machine.travel(DAY_BEFORE, tick=False):
        assert reminder_deliver(reminder_id=claimed.pk) == f"skipped:{reason}"
        reminders_plan(participant_ids=[participant.pk])  # and the planner withdraws the rest
    assert not sms.outbox
    assert statuses(participant) == {"sms": ("skipped", reason)}
    assert statuses(participant, "same_day") == {"sms": ("skipped", reason)}


@pytest.mark.django_db
def test_it_expires_what_workers_could_not_send_before_the_visit(site):
    participant, _, _ = plan(site, channels="sms")
    _claim(local(NY, 2026, 2, 4, 16, 0))  # both claimed; then workers are down for three hours
    same_day = Reminder.objects.get(participant=participant, kind="same_day")
    with time_machine.travel(VISIT + dt.timedelta(minutes=1), tick=False):
        # A queued task that runs late sends nothing: the visit has begun.
        assert reminder_deliver(reminder_id=same_day.pk) == "skipped:past_deadline"
    result = reminders_sweep(now=local(NY, 2026, 2, 4, 19, 0))
    assert result.expired == 1 and result.claimed == 0
    assert statuses(participant) == {"sms": ("expired", "past_deadline")}
    assert statuses(participant, "same_day") == {"sms": ("skipped", "past_deadline")}
    assert not sms.outbox


@pytest.mark.django_db
def test_it_returns_stale_claims_and_gives_up_on_unknown_outcomes(site, settings):
    participant, _, _ = plan(site, channels="sms")
    _claim(DAY_BEFORE)
    row = Reminder.objects.get(participant=participant, kind="day_before")
    stale = DAY_BEFORE + dt.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS + 1)
    assert reminders_sweep(now=stale, max_batches=1).released == 1
    row.refresh_from_db()
    assert row.status == "claimed" and row.claimed_at == stale  # released, then claimed anew
    Reminder.objects.filter(pk=row.pk).update(status="sending")
    later = stale + dt.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS + 1)
    assert reminders_sweep(now=later).abandoned == 1
    assert statuses(participant) == {"sms": ("failed", "outcome_unknown")}


class FlakyBackend:
    errors: list = []

    def send(self, message):
        error = self.errors.pop(0) if self.errors else None
        if error:
            raise error
        sms.outbox.append(message)
        return "SMflaky"


@pytest.mark.django_db
def test_it_retries_transient_errors_until_the_deadline_and_fails_permanent_ones(site, settings):
    settings.SMS_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.errors = [TransientChannelError("http_503"), TransientChannelError("timeout")]
    participant, _, _ = plan(site, channels="sms")
    row = Reminder.objects.get(participant=participant, kind="day_before")
    moment = DAY_BEFORE
    for expected in ("retry", "retry", "sent"):
        _claim(moment)
        with time_machine.travel(moment, tick=False):
            assert reminder_deliver(reminder_id=row.pk) == expected
        row.refresh_from_db()
        moment = max(row.due_at, moment)
    assert (row.status, row.attempts, len(sms.outbox)) == ("sent", 3, 1)
    assert row.due_at == DAY_BEFORE + dt.timedelta(seconds=60 + 120)

    FlakyBackend.errors = [PermanentChannelError("invalid_number")]
    same_day = Reminder.objects.get(participant=participant, kind="same_day")
    _claim(same_day.due_at)
    with time_machine.travel(same_day.due_at, tick=False):
        assert reminder_deliver(reminder_id=same_day.pk) == "failed:permanent_error"
    same_day.refresh_from_db()
    assert (same_day.status, same_day.reason, same_day.detail) == (
        "failed", "permanent_error", "invalid_number")


@pytest.mark.django_db
def test_it_waits_for_the_morning_when_claimed_in_quiet_hours(site):
    participant, _, _ = plan(site, channels="sms")
    row = Reminder.objects.get(participant=participant, kind="day_before")
    late = local(NY, 2026, 2, 3, 22, 0)  # the sweeper was down until after 21:00
    Reminder.objects.filter(pk=row.pk).update(status="claimed", claimed_at=late)
    with time_machine.travel(late, tick=False):
        assert reminder_deliver(reminder_id=row.pk) == "deferred:quiet_hours"
    row.refresh_from_db()
    assert (row.status, row.due_at) == ("pending", local(NY, 2026, 2, 4, 8, 0))
    assert not sms.outbox


@pytest.mark.django_db
def test_it_sends_once_when_the_same_task_runs_twice(site):
    participant, _, _ = plan(site, channels="sms")
    _claim(DAY_BEFORE)
    ids = list(Reminder.objects.filter(status="claimed").values_list("pk", flat=True))
    with time_machine.travel(DAY_BEFORE, tick=False):
        reminders_send.apply(args=[ids])
        reminders_send.apply(args=[ids])
    assert len(sms.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_sends_once_when_the_same_task_runs_concurrently(site):
    participant, _, _ = plan(site, channels="sms")
    _claim(DAY_BEFORE)
    ids = list(Reminder.objects.filter(status="claimed").values_list("pk", flat=True))
    start = threading.Barrier(4)

    def run():
        try:
            start.wait()
            reminders_send.apply(args=[ids])
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    with time_machine.travel(DAY_BEFORE, tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert len(sms.outbox) == 1
    assert Reminder.objects.get(pk=ids[0]).status == "sent"
