"""The send task when things go wrong in process: late claims in quiet hours (every channel), an
exception in one row of a batch, a discharge after planning, and what outcome_unknown means."""
import datetime as dt

import pytest
import time_machine
from django.core import mail

from participants.models import Participant
from reminders.channels import sms
from reminders.delivery import reminder_deliver
from reminders.models import Reminder, ReminderPolicy
from reminders.planner import reminders_plan
from reminders.sweeper import reminders_sweep
from reminders.tasks import reminders_send
from sessions.services.enrollment import enrollment_discharge

from .conftest import local, make_enrolled, make_visit

NY = "America/New_York"
PLAN_AT = local(NY, 2026, 2, 2, 9, 0)
VISIT = local(NY, 2026, 2, 4, 18, 0)
DAY_BEFORE = local(NY, 2026, 2, 3, 18, 0)
LATE = local(NY, 2026, 2, 3, 22, 0)  # workers were down until after 21:00


def plan(site, *, track=None, **kwargs):
    with time_machine.travel(PLAN_AT, tick=False):
        participant, enrollment = make_enrolled(site, track=track, **kwargs)
        make_visit(participant, VISIT, enrollment=enrollment)
        reminders_plan(participant_ids=[participant.pk])
    return participant, enrollment


def day_before(participant, channel):
    return Reminder.objects.get(participant=participant, kind="day_before", channel=channel)


class ExplodingForOneBackend:
    """An SMS provider that breaks (not a channel error: a bug) for one number."""
    broken_number = ""

    def send(self, message):
        if message.to == self.broken_number:
            raise RuntimeError("provider client bug")
        sms.outbox.append(message)
        return f"SM{len(sms.outbox)}"


@pytest.mark.django_db
def test_it_keeps_late_claimed_email_out_of_quiet_hours(site):
    participant, _ = plan(site, channels="email")
    row = day_before(participant, "email")
    Reminder.objects.filter(pk=row.pk).update(status="claimed", claimed_at=LATE)

    with time_machine.travel(LATE, tick=False):
        assert reminder_deliver(reminder_id=row.pk) == "deferred:quiet_hours"

    row.refresh_from_db()
    assert (row.status, row.due_at, row.attempts) == ("pending", local(NY, 2026, 2, 4, 8, 0), 0)
    assert not mail.outbox
    with time_machine.travel(local(NY, 2026, 2, 4, 8, 0), tick=False):
        reminders_sweep()
        assert reminder_deliver(reminder_id=row.pk) == "sent"
    assert [m.to for m in mail.outbox] == [[participant.email]]


@pytest.mark.django_db
def test_it_skips_late_email_when_quiet_hours_last_until_the_visit(site):
    participant, _ = plan(site, channels="email")
    row = day_before(participant, "email")
    Reminder.objects.filter(pk=row.pk).update(status="claimed", claimed_at=LATE)
    with time_machine.travel(local(NY, 2026, 2, 4, 7, 0), tick=False):
        ReminderPolicy.objects.filter(site=site).update(quiet_end=dt.time(19, 0))
        assert reminder_deliver(reminder_id=row.pk) == "skipped:quiet_hours"
    assert not mail.outbox


@pytest.mark.django_db
def test_it_keeps_one_rows_exception_to_that_row(site, settings):
    settings.SMS_BACKEND = f"{__name__}.ExplodingForOneBackend"
    track = None
    people = []
    for _ in range(4):
        participant, enrollment = plan(site, channels="sms", track=track)
        track = enrollment.track
        people.append(participant)
    broken_data, broken_provider, *fine = people
    # Bad data (a zone that does not exist) breaks the re-checks, before any hand-off.
    Participant.objects.filter(pk=broken_data.pk).update(time_zone="Mars/Olympus_Mons")
    ExplodingForOneBackend.broken_number = broken_provider.phone
    with time_machine.travel(DAY_BEFORE, tick=False):
        reminders_sweep()
        ids = list(Reminder.objects.filter(status="claimed", kind="day_before")
                   .order_by("participant_id").values_list("pk", flat=True))
        assert len(ids) == 4
        reminders_send.apply(args=[ids])

    assert sorted(m.to for m in sms.outbox) == sorted(p.phone for p in fine)
    assert {p.pk: day_before(p, "sms").status for p in fine} == {p.pk: "sent" for p in fine}
    # Never handed to the channel: back to pending a minute later, attempts unchanged.
    retried = day_before(broken_data, "sms")
    assert (retried.status, retried.attempts) == ("pending", 0)
    assert retried.due_at == DAY_BEFORE + dt.timedelta(seconds=settings.REMINDER_RETRY_BASE_SECONDS)
    # Handed to the channel, which blew up: the answer is unknown, so never sent again.
    assert day_before(broken_provider, "sms").status == "sending"
    later = DAY_BEFORE + dt.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS + 1)
    reminders_sweep(now=later, max_batches=0)
    unknown = day_before(broken_provider, "sms")
    assert (unknown.status, unknown.reason) == ("failed", "outcome_unknown")


@pytest.mark.django_db
def test_it_skips_a_discharged_participants_reminders_as_not_enrolled(site):
    participant, enrollment = plan(site, channels="sms")
    with time_machine.travel(DAY_BEFORE, tick=False):
        reminders_sweep()  # claimed before the discharge: the send task must re-check
        row = day_before(participant, "sms")
        assert row.status == "claimed"
        # The service deletes the future expected attendance, so no session is left that day.
        enrollment_discharge(enrollment=enrollment, discharge_date=DAY_BEFORE.date(),
                             reason="against_advice")
        assert reminder_deliver(reminder_id=row.pk) == "skipped:not_enrolled"
        reminders_plan(participant_ids=[participant.pk])  # and the planner withdraws the rest
    assert not sms.outbox
    same_day = Reminder.objects.get(participant=participant, kind="same_day")
    assert (same_day.status, same_day.reason) == ("skipped", "not_enrolled")


@pytest.mark.django_db
def test_it_leaves_a_claim_alone_when_deciding_not_to_send(site):
    """Skips are written from `claimed`: a row nobody handed to a channel never becomes
    `sending`, so it can never end as outcome_unknown."""
    participant, _ = plan(site, channels="sms")
    with time_machine.travel(DAY_BEFORE, tick=False):
        reminders_sweep()
    row = day_before(participant, "sms")
    Participant.objects.filter(pk=participant.pk).update(phone="")
    with time_machine.travel(DAY_BEFORE, tick=False):
        assert reminder_deliver(reminder_id=row.pk) == "skipped:no_address"
        assert reminder_deliver(reminder_id=row.pk) == "not_claimed"
    row.refresh_from_db()
    assert (row.status, row.reason, row.attempts) == ("skipped", "no_address", 0)
