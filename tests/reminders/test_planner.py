"""The planner: what rows it writes, and how it follows changes to sessions and people."""
import datetime as dt

import pytest
import time_machine

from participants.models import Enrollment
from sessions.models import TherapySession
from reminders.models import Reminder, ReminderPolicy
from reminders.planner import reminders_plan
from reminders.replan import reminders_replan_on_commit

from .. import factories
from .conftest import cancel, local, make_enrolled, make_visit

NOW = local("America/New_York", 2026, 2, 2, 9, 0)


@pytest.fixture
def planned(site):
    with time_machine.travel(NOW, tick=False):
        participant, enrollment = make_enrolled(site)
        session = make_visit(participant, local("America/New_York", 2026, 2, 4, 18, 0))
        reminders_plan(participant_ids=[participant.pk])
    return participant, enrollment, session


def rows(participant):
    return {(r.kind, r.channel): r for r in Reminder.objects.filter(participant=participant)}


@pytest.mark.django_db
def test_it_plans_day_before_on_both_channels_and_same_day_by_sms(planned):
    participant, _, session = planned
    reminders = rows(participant)
    assert set(reminders) == {("day_before", "email"), ("day_before", "sms"), ("same_day", "sms")}
    assert reminders["day_before", "sms"].due_at == local("America/New_York", 2026, 2, 3, 18, 0)
    assert reminders["same_day", "sms"].due_at == local("America/New_York", 2026, 2, 4, 16, 0)
    assert all(r.send_before == session.starts_at and r.status == "pending"
               for r in reminders.values())
    assert ReminderPolicy.objects.filter(site=participant.home_site).exists()


@pytest.mark.django_db
def test_it_plans_one_reminder_per_visit_day_whatever_the_number_of_sessions(planned):
    participant, _, session = planned
    with time_machine.travel(NOW, tick=False):
        earlier = make_visit(participant, local("America/New_York", 2026, 2, 4, 13, 0))
        result = reminders_plan(participant_ids=[participant.pk])
    assert Reminder.objects.filter(participant=participant).count() == 3
    assert result.moved == 3
    assert all(r.send_before == earlier.starts_at for r in rows(participant).values())


@pytest.mark.django_db
def test_it_changes_nothing_when_planned_twice(planned):
    participant, _, _ = planned
    with time_machine.travel(NOW, tick=False):
        again = reminders_plan(participant_ids=[participant.pk])
        everyone = reminders_plan()
    assert (again.moved, again.withdrawn, again.revived) == (0, 0, 0)
    assert everyone.participants == 1
    assert Reminder.objects.count() == 3


@pytest.mark.django_db
def test_it_moves_pending_reminders_with_a_moved_session(planned):
    participant, _, session = planned
    new_start = local("America/New_York", 2026, 2, 4, 17, 0)
    TherapySession.objects.filter(pk=session.pk).update(starts_at=new_start,
                                                        ends_at=new_start + dt.timedelta(hours=3))
    with time_machine.travel(NOW, tick=False):
        reminders_plan(participant_ids=[participant.pk])
    reminders = rows(participant)
    assert reminders["day_before", "email"].due_at == local("America/New_York", 2026, 2, 3, 17, 0)
    assert {r.send_before for r in reminders.values()} == {new_start}


@pytest.mark.django_db
def test_it_withdraws_reminders_of_a_cancelled_visit_and_revives_them_if_it_returns(planned):
    participant, _, session = planned
    cancel(session)
    with time_machine.travel(NOW, tick=False):
        reminders_plan(participant_ids=[participant.pk])
    assert {(r.status, r.reason) for r in rows(participant).values()} == {
        ("skipped", "session_cancelled")}
    TherapySession.objects.filter(pk=session.pk).update(status="scheduled", cancel_reason="")
    with time_machine.travel(NOW, tick=False):
        reminders_plan(participant_ids=[participant.pk])
    assert {r.status for r in rows(participant).values()} == {"pending"}


@pytest.mark.django_db
def test_it_withdraws_reminders_after_discharge_but_keeps_care_plan_follow_ups(planned, site):
    participant, enrollment, _ = planned
    Enrollment.objects.filter(pk=enrollment.pk).update(
        status="discharged", discharge_date=dt.date(2026, 2, 2), discharge_reason="completed")
    plan = factories.ContinuingCarePlanFactory(enrollment=enrollment)
    follow_up = factories.TherapySessionFactory(
        track=None, site=site, participant=participant, care_plan=plan,
        session_type=factories.SessionTypeFactory(kind="individual"),
        starts_at=local("America/New_York", 2026, 2, 6, 10, 0))
    with time_machine.travel(NOW, tick=False):
        reminders_plan()
    by_day = {(r.visit_date, r.kind, r.channel): (r.status, r.reason)
              for r in Reminder.objects.filter(participant=participant)}
    assert by_day[dt.date(2026, 2, 4), "day_before", "email"] == ("skipped", "not_enrolled")
    assert by_day[dt.date(2026, 2, 6), "day_before", "email"] == ("pending", "")
    assert Reminder.objects.get(visit_date=dt.date(2026, 2, 6), kind="same_day").send_before == \
        follow_up.starts_at


@pytest.mark.django_db
def test_it_follows_the_participants_channels_and_consent(site):
    with time_machine.travel(NOW, tick=False):
        email_only, _ = make_enrolled(site, channels="email")
        no_consent, _ = make_enrolled(site, channels="sms", consent=False)
        nothing, _ = make_enrolled(site, channels="none")
        no_address, _ = make_enrolled(site, channels="email", email="")
        for participant in (email_only, no_consent, nothing, no_address):
            make_visit(participant, local("America/New_York", 2026, 2, 4, 18, 0))
        reminders_plan()
    assert set(rows(email_only)) == {("day_before", "email")}
    assert not Reminder.objects.exclude(participant=email_only).exists()


@pytest.mark.django_db
def test_it_moves_reminders_out_of_quiet_hours(site):
    with time_machine.travel(NOW, tick=False):
        participant, _ = make_enrolled(site, channels="sms")
        make_visit(participant, local("America/New_York", 2026, 2, 4, 7, 0))   # due 07:00 / 05:00
        make_visit(participant, local("America/New_York", 2026, 2, 5, 9, 0))   # due 09:00 / 07:00
        make_visit(participant, local("America/New_York", 2026, 2, 6, 22, 30))  # due 22:30 / 20:30
        reminders_plan()
    due = {(r.visit_date.day, r.kind): r.due_at for r in Reminder.objects.all()}
    ny = "America/New_York"
    assert due[4, "day_before"] == local(ny, 2026, 2, 2, 20, 45)  # the evening before quiet hours
    assert (5, "same_day") in due and due[5, "same_day"] == local(ny, 2026, 2, 5, 8, 0)
    assert (4, "same_day") not in due  # 08:00 is too late and the eve is the day before's job
    assert due[6, "day_before"] == local(ny, 2026, 2, 5, 20, 45)
    assert due[6, "same_day"] == local(ny, 2026, 2, 6, 20, 30)


@pytest.mark.django_db
def test_it_plans_late_reminders_for_now_only_while_they_are_useful(site):
    participant, _ = make_enrolled(site, channels="sms")
    make_visit(participant, local("America/New_York", 2026, 2, 3, 10, 0))
    with time_machine.travel(local("America/New_York", 2026, 2, 2, 19, 0), tick=False):
        reminders_plan()
        day_before = Reminder.objects.get(kind="day_before")
        assert day_before.due_at == local("America/New_York", 2026, 2, 2, 19, 0)
    with time_machine.travel(local("America/New_York", 2026, 2, 3, 8, 30), tick=False):
        Reminder.objects.all().delete()
        reminders_plan()
    assert list(Reminder.objects.values_list("kind", flat=True)) == ["same_day"]


@pytest.mark.django_db
def test_it_uses_the_sites_policy(planned):
    participant, _, _ = planned
    ReminderPolicy.objects.filter(site=participant.home_site).update(
        same_day_enabled=False, day_before_hours=48)
    with time_machine.travel(NOW, tick=False):
        reminders_plan(participant_ids=[participant.pk])
    reminders = rows(participant)
    assert (reminders["same_day", "sms"].status, reminders["same_day", "sms"].reason) == (
        "skipped", "kind_disabled")
    assert reminders["day_before", "sms"].due_at == local("America/New_York", 2026, 2, 2, 18, 0)


@pytest.mark.django_db(transaction=True)
def test_it_replans_after_commit_through_a_task(site, eager_celery):
    from django.db import transaction

    with time_machine.travel(NOW, tick=False):
        participant, _ = make_enrolled(site)
        make_visit(participant, local("America/New_York", 2026, 2, 4, 18, 0))
        with transaction.atomic():
            reminders_replan_on_commit(participant_ids=[participant.pk, participant.pk])
            assert not Reminder.objects.exists()  # nothing before commit
        assert Reminder.objects.filter(participant=participant).count() == 3
        with transaction.atomic():
            reminders_replan_on_commit(participant_ids=[participant.pk])
            transaction.set_rollback(True)


@pytest.mark.django_db
def test_it_sends_at_most_one_sms_of_a_kind_a_day(site):
    with time_machine.travel(NOW, tick=False):
        participant, _ = make_enrolled(site, channels="sms")
        make_visit(participant, local("America/New_York", 2026, 2, 4, 18, 0))  # due Tue 18:00
        make_visit(participant, local("America/New_York", 2026, 2, 5, 7, 0))   # due Tue 20:45
        reminders_plan()
    day_before = {r.visit_date.day: (r.status, r.reason)
                  for r in Reminder.objects.filter(kind="day_before")}
    assert day_before == {4: ("pending", "")}


@pytest.mark.django_db
def test_it_does_not_plan_a_late_reminder_into_quiet_hours(site):
    participant, _ = make_enrolled(site, channels="sms")
    make_visit(participant, local("America/New_York", 2026, 2, 3, 10, 0))
    with time_machine.travel(local("America/New_York", 2026, 2, 2, 23, 0), tick=False):
        reminders_plan()  # enrolled late at night: the same-day SMS waits for 08:00
    assert {r.kind: r.due_at for r in Reminder.objects.all()} == {
        "same_day": local("America/New_York", 2026, 2, 3, 8, 0)}


# PostgreSQL only: SQLite's limit on query parameters splits the bulk insert by data size.
@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("people", [2, 20])
def test_it_plans_in_a_fixed_number_of_queries(site, people, django_assert_max_num_queries):
    with time_machine.travel(NOW, tick=False):
        track = factories.TrackFactory(site=site)
        for _ in range(people):
            participant, _ = make_enrolled(site, track=track)
            make_visit(participant, local("America/New_York", 2026, 2, 4, 18, 0), track=track)
            make_visit(participant, local("America/New_York", 2026, 2, 5, 18, 0), track=track)
        # +1: texts already out count toward the caps; +1: are there family contacts to tell
        with django_assert_max_num_queries(17):
            reminders_plan()
        with django_assert_max_num_queries(14):
            reminders_plan()  # nothing to change
    assert Reminder.objects.count() == people * 6
