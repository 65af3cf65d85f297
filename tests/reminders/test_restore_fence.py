"""The restore fence, in process: after a restore from an earlier dump, nothing the lost database
may have sent goes out again, and what was due later still goes out once.

The restore is imitated here by writing the rows back as they were at the "dump"; the real
pg_dump / pg_restore drill is tests/test_restore_drill.py."""
import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command

from reminders.channels import sms
from reminders.fence import reminders_fence_after_restore
from reminders.models import Reminder
from reminders.planner import reminders_plan
from reminders.sweeper import reminders_sweep

from .conftest import local, make_enrolled, make_visit

pytestmark = pytest.mark.django_db

NY = "America/New_York"
PLAN_AT = local(NY, 2026, 2, 2, 9, 0)
VISIT = local(NY, 2026, 2, 4, 18, 0)
DAY_BEFORE = local(NY, 2026, 2, 3, 18, 0)  # due time of the day-before reminders
SAME_DAY = local(NY, 2026, 2, 4, 16, 0)    # due time of the same-day text
DUMP_AT = DAY_BEFORE - dt.timedelta(minutes=30)
OLD_SYSTEM_STOPPED = DAY_BEFORE + dt.timedelta(minutes=30)
RESTORED_AT = DAY_BEFORE + dt.timedelta(hours=1)

DUMPED_FIELDS = ["status", "reason", "detail", "due_at", "claimed_at", "sent_at", "attempts",
                 "provider_message_id", "body"]


def sweep_and_send(at, capture):
    with time_machine.travel(at, tick=False), capture(execute=True):
        reminders_sweep()


def dump():
    return {row["pk"]: row for row in Reminder.objects.values("pk", *DUMPED_FIELDS)}


def restore(snapshot):
    """The outbox as the dump had it: rows written since are gone, changed rows go back."""
    Reminder.objects.exclude(pk__in=snapshot).delete()
    for pk, row in snapshot.items():
        Reminder.objects.filter(pk=pk).update(**{f: row[f] for f in DUMPED_FIELDS})


def messages():
    return [("sms", m.to) for m in sms.outbox] + [("email", m.to[0]) for m in mail.outbox]


@pytest.fixture
def clinic(site):
    with time_machine.travel(PLAN_AT, tick=False):
        people = [make_enrolled(site)[0] for _ in range(3)]
        for participant in people:
            make_visit(participant, VISIT)
        reminders_plan()
    return people


def test_it_sends_nothing_twice_after_a_restore_from_a_dump_taken_an_hour_earlier(
        clinic, django_capture_on_commit_callbacks, eager_celery):
    with time_machine.travel(DUMP_AT, tick=False):
        snapshot = dump()
    # The old system sends the day-before reminders, then the database is lost.
    sweep_and_send(DAY_BEFORE, django_capture_on_commit_callbacks)
    before_restore = messages()
    assert sorted(before_restore) == sorted(
        [("email", p.email) for p in clinic] + [("sms", p.phone) for p in clinic])
    restore(snapshot)
    # Without the fence the next sweep would send the day-before reminders again.
    assert Reminder.objects.filter(kind="day_before", status="pending",
                                   due_at__lte=RESTORED_AT).count() == 2 * len(clinic)

    with time_machine.travel(RESTORED_AT, tick=False):
        result = reminders_fence_after_restore()
    assert result.fenced == 2 * len(clinic)
    sweep_and_send(RESTORED_AT + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert messages() == before_restore  # nothing sent again
    assert set(Reminder.objects.filter(kind="day_before").values_list("status", "reason")) == {
        ("failed", "restored")}

    # The outbox resumes: the same-day texts, due after the restore, go out once each.
    sweep_and_send(SAME_DAY, django_capture_on_commit_callbacks)
    sweep_and_send(SAME_DAY + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert sorted(messages()) == sorted(before_restore + [("sms", p.phone) for p in clinic])


def test_it_holds_claimed_and_sending_rows_and_leaves_sent_and_later_rows_alone(
        clinic, django_capture_on_commit_callbacks):
    first, second, third = clinic
    rows = Reminder.objects.filter(kind="day_before", channel="email")
    rows.filter(participant=first).update(status="claimed", claimed_at=DUMP_AT)
    rows.filter(participant=second).update(status="sending", claimed_at=DUMP_AT)
    rows.filter(participant=third).update(status="sent", sent_at=DUMP_AT)
    later = Reminder.objects.filter(kind="same_day")
    later_ids = set(later.values_list("pk", flat=True))

    # The operator knows the old system stopped half an hour after the day-before reminders.
    with time_machine.travel(RESTORED_AT, tick=False):
        result = reminders_fence_after_restore(until=OLD_SYSTEM_STOPPED)
    # Two claimed or sending, and the three day-before texts due before the old system stopped.
    assert result.fenced == 2 + 3 and result.waiting == len(later_ids)
    assert set(rows.filter(participant__in=[first, second]).values_list("status", "reason")) \
        == {("failed", "restored")}
    assert rows.get(participant=third).status == "sent"
    assert set(Reminder.objects.filter(status="pending").values_list("pk", flat=True)) == later_ids
    assert "restore fence at" in rows.get(participant=first).detail


def test_it_fences_rows_the_planner_writes_again_from_the_restored_data(
        clinic, django_capture_on_commit_callbacks, eager_celery):
    """A row the old planner wrote after the dump and sent is missing from the dump; the
    fence plans first, so the re-planned row is held too, not sent by the first sweep."""
    participant = clinic[0]
    Reminder.objects.filter(participant=participant).delete()  # written after the dump
    with time_machine.travel(RESTORED_AT, tick=False):
        result = reminders_fence_after_restore()
    assert result.planned >= 1
    sweep_and_send(RESTORED_AT + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert ("email", participant.email) not in messages()
    assert Reminder.objects.get(participant=participant, kind="day_before",
                                channel="email").reason == "restored"


def test_it_refuses_a_fence_in_the_future(clinic):
    with time_machine.travel(RESTORED_AT, tick=False):
        with pytest.raises(ValueError):
            reminders_fence_after_restore(until=RESTORED_AT + dt.timedelta(minutes=1))
        with pytest.raises(CommandError, match="future"):
            call_command("restore_fence", until="2026-02-04T00:30:00+00:00")
        with pytest.raises(CommandError, match="ISO 8601"):
            call_command("restore_fence", until="yesterday")
    assert not Reminder.objects.filter(status="failed").exists()


def test_it_says_what_it_held_back(clinic):
    out = StringIO()
    with time_machine.travel(RESTORED_AT, tick=False):
        call_command("restore_fence", until="2026-02-03T23:00:00Z", stdout=out)
    assert "Restore fence at 2026-02-03 23:00:00 UTC: 6 reminders may have gone out" in \
        out.getvalue()
    assert "held for review" in out.getvalue()


def test_it_holds_the_notice_of_a_seat_offer_the_old_database_had_already_passed_on(
        site, django_capture_on_commit_callbacks, eager_celery):
    """Ann's offer expired before the restore: the old database passed the seat to Bo and
    told him. The restored one still shows Ann's offer open; the fence passes it on again
    (the same choice from the same data) but Bo is not told a second time."""
    from participants.models import Enrollment
    from sessions.services.enrollment import enrollment_withdraw

    from tests import factories

    from .conftest import make_participant

    with time_machine.travel(PLAN_AT, tick=False):
        track = factories.TrackFactory(site=site, mode="rolling", capacity=1,
                                       start_date=PLAN_AT.date() - dt.timedelta(days=30))
        ann, bo = (make_participant(site, channels="sms", first_name=name)
                   for name in ("Ann", "Bo"))
        for i, person in enumerate((ann, bo)):
            factories.EnrollmentFactory(participant=person, track=track, status="waitlisted",
                                        waitlisted_at=PLAN_AT - dt.timedelta(days=9 - i))
        leaving = factories.EnrollmentFactory(track=track)
        Enrollment.objects.filter(pk=leaving.pk).update(
            admission_date=PLAN_AT.date() + dt.timedelta(days=3))
        enrollment_withdraw(enrollment=leaving)  # Ann is offered the seat, for 48 hours
    sweep_and_send(PLAN_AT + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert messages() == [("sms", ann.phone)]

    # Restored two days later, from a dump taken before the old system passed the offer on
    # and told Bo (that message is not in this database's outbox, but Bo has it).
    restored_at = PLAN_AT + dt.timedelta(hours=49)
    with time_machine.travel(restored_at, tick=True):  # the clock moves while it works
        result = reminders_fence_after_restore()
    assert result.offers_passed_on == 1
    sweep_and_send(restored_at + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert messages() == [("sms", ann.phone)]
    assert Reminder.objects.get(kind="offer", participant=bo).reason == "restored"
