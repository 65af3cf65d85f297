"""Change notices in process: who is told, once, by which channel, when, and in what words."""
import datetime as dt

import pytest
import time_machine
from django.core import mail

from reminders.channels import sms
from reminders.models import Reminder
from reminders.sweeper import reminders_sweep
from sessions.services.schedule import closure_add, session_cancel
from sessions.services.session_change import session_change

from .conftest import local, make_enrolled, make_participant, make_visit

NY = "America/New_York"
EDIT_AT = local(NY, 2026, 2, 2, 10, 0)  # Monday morning
VISIT = local(NY, 2026, 2, 4, 18, 0)  # Wednesday 6 PM


def notices(**filters):
    return Reminder.objects.filter(kind="change", **filters)


def sweep_and_send(at, django_capture_on_commit_callbacks):
    with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
        reminders_sweep()


def after_debounce(settings, at=EDIT_AT):
    return at + dt.timedelta(seconds=settings.REMINDER_NOTICE_DEBOUNCE_SECONDS)


@pytest.fixture
def day(site):
    """Two participants expected at two sessions on one day; one wants SMS only."""
    with time_machine.travel(EDIT_AT - dt.timedelta(days=1), tick=False):
        both, enrollment = make_enrolled(site, first_name="Ann")
        sms_only = make_participant(site, channels="sms", first_name="Bo")
        from tests import factories
        factories.EnrollmentFactory(participant=sms_only, track=enrollment.track)
        first = make_visit(both, VISIT, track=enrollment.track)
        second = make_visit(both, VISIT + dt.timedelta(hours=3), track=enrollment.track)
        from sessions.models import Attendance
        for session in (first, second):
            Attendance.objects.create(session=session, participant=sms_only, status="expected")
    return both, sms_only, first, second


@pytest.mark.django_db
def test_it_tells_each_person_once_per_day_and_channel_when_a_site_closes(
        site, day, settings, django_capture_on_commit_callbacks, eager_celery):
    both, sms_only, _, _ = day
    with time_machine.travel(EDIT_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        closure_add(site=site, date=VISIT.date(), reason="Snow")
    assert sorted(notices().values_list("participant__first_name", "channel")) == [
        ("Ann", "email"), ("Ann", "sms"), ("Bo", "sms")]
    sweep_and_send(EDIT_AT + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert sms.outbox == [] and mail.outbox == []  # waiting out the debounce
    sweep_and_send(after_debounce(settings), django_capture_on_commit_callbacks)
    sweep_and_send(after_debounce(settings) + dt.timedelta(minutes=5),
                   django_capture_on_commit_callbacks)
    assert sorted(m.to for m in sms.outbox) == sorted([both.phone, sms_only.phone])
    assert [m.to for m in mail.outbox] == [[both.email]]
    body = sms.outbox[0].body
    assert "on Wed Feb 4 at 6:00 PM is cancelled" in body and "Reply STOP" in body
    assert "Snow" not in body and mail.outbox[0].subject == "Change to your appointment on Wed Feb 4"
    assert set(notices().values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_it_sends_one_message_for_a_burst_of_edits_with_the_last_time(
        site, day, settings, django_capture_on_commit_callbacks, eager_celery):
    both, _, first, _ = day
    for minutes, hour in [(0, 15), (1, 14), (2, 16)]:
        with time_machine.travel(EDIT_AT + dt.timedelta(minutes=minutes), tick=False), \
                django_capture_on_commit_callbacks(execute=True):
            session_change(session=first, starts_at_local=dt.datetime(2026, 2, 4, hour, 0))
    sweep_and_send(after_debounce(settings, EDIT_AT + dt.timedelta(minutes=2)),
                   django_capture_on_commit_callbacks)
    mine = [m.body for m in sms.outbox if m.to == both.phone]
    assert len(mine) == 1 and "on Wed Feb 4 at 6:00 PM is now on Wed Feb 4 at 4:00 PM" in mine[0]
    assert notices(participant=both, channel="sms").count() == 1


@pytest.mark.django_db
def test_it_says_nothing_when_a_change_is_undone_before_the_notice_goes(
        site, day, settings, django_capture_on_commit_callbacks, eager_celery):
    _, _, first, _ = day
    for minutes, hour in [(0, 17), (1, 18)]:
        with time_machine.travel(EDIT_AT + dt.timedelta(minutes=minutes), tick=False):
            session_change(session=first, starts_at_local=dt.datetime(2026, 2, 4, hour, 0))
    sweep_and_send(after_debounce(settings, EDIT_AT + dt.timedelta(minutes=1)),
                   django_capture_on_commit_callbacks)
    assert sms.outbox == [] and mail.outbox == []
    assert set(notices().values_list("status", "reason")) == {("skipped", "unchanged")}


@pytest.mark.django_db
def test_it_tells_nobody_when_staff_choose_not_to_notify(site, day):
    _, _, first, second = day
    with time_machine.travel(EDIT_AT, tick=False):
        session_change(session=second, starts_at_local=dt.datetime(2026, 2, 4, 22, 0),
                       notify=False)
        session_cancel(session=first, reason="Staff training", notify=False)
        closure_add(site=site, date=VISIT.date(), notify=False)
    assert not notices().exists()


@pytest.mark.django_db
def test_it_follows_a_session_moved_to_another_day(site, django_capture_on_commit_callbacks,
                                                  settings, eager_celery):
    with time_machine.travel(EDIT_AT - dt.timedelta(days=1), tick=False):
        participant, enrollment = make_enrolled(site, channels="sms")
        session = make_visit(participant, VISIT)
    with time_machine.travel(EDIT_AT, tick=False):
        session_change(session=session, starts_at_local=dt.datetime(2026, 2, 5, 9, 30))
    sweep_and_send(after_debounce(settings), django_capture_on_commit_callbacks)
    assert len(sms.outbox) == 1
    assert "on Wed Feb 4 at 6:00 PM is now on Thu Feb 5 at 9:30 AM" in sms.outbox[0].body


@pytest.mark.django_db
def test_it_holds_a_notice_for_a_later_day_till_morning_but_not_one_for_today(
        site, django_capture_on_commit_callbacks, settings, eager_celery):
    late = local(NY, 2026, 2, 3, 22, 30)  # quiet hours (9 PM to 8 AM)
    with time_machine.travel(EDIT_AT, tick=False):
        later_day, _ = make_enrolled(site, channels="sms")
        later_session = make_visit(later_day, VISIT)
        today, _ = make_enrolled(site, channels="sms")
        tonight = make_visit(today, local(NY, 2026, 2, 3, 23, 30))
    with time_machine.travel(late, tick=False):
        session_cancel(session=later_session, reason="Ill")
        session_cancel(session=tonight, reason="Ill")
    sweep_and_send(after_debounce(settings, late), django_capture_on_commit_callbacks)
    assert [m.to for m in sms.outbox] == [today.phone]
    held = notices(participant=later_day).get()
    assert held.status == "pending" and held.due_at.astimezone(held.participant.zone).hour == 8
    sweep_and_send(local(NY, 2026, 2, 4, 8, 0), django_capture_on_commit_callbacks)
    assert [m.to for m in sms.outbox] == [today.phone, later_day.phone]


@pytest.mark.django_db
def test_it_tells_nobody_about_changes_beyond_the_notice_window_or_without_consent(site, settings):
    with time_machine.travel(EDIT_AT, tick=False):
        participant, _ = make_enrolled(site, channels="sms", consent=False)
        near = make_visit(participant, VISIT)
        other, _ = make_enrolled(site, channels="sms")
        far = make_visit(other, EDIT_AT + dt.timedelta(days=settings.REMINDER_NOTICE_DAYS + 1))
        session_cancel(session=near, reason="Ill")
        session_cancel(session=far, reason="Ill")
    assert not notices().exists()


@pytest.mark.django_db
def test_it_keeps_day_reminders_and_their_caps_apart_from_notices(
        site, django_capture_on_commit_callbacks, settings, eager_celery):
    from reminders.planner import reminders_plan

    with time_machine.travel(EDIT_AT, tick=False):
        participant, _ = make_enrolled(site, channels="sms")
        make_visit(participant, VISIT)
        moved = make_visit(participant, VISIT + dt.timedelta(days=1))
        reminders_plan(participant_ids=[participant.pk])
        session_change(session=moved, starts_at_local=dt.datetime(2026, 2, 5, 19, 0))
        reminders_plan(participant_ids=[participant.pk])
    assert notices(participant=participant).get().status == "pending"
    assert set(Reminder.objects.filter(participant=participant, kind="same_day")
               .values_list("status", flat=True)) == {"pending"}


@pytest.mark.django_db
@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_it_tells_the_participant_there_is_an_answer_but_not_which(
        site, decision, django_capture_on_commit_callbacks, eager_celery):
    from sessions.models import ExcusedAbsenceRequest
    from sessions.services.excuses import excuse_approve, excuse_decline
    from tests import factories

    with time_machine.travel(EDIT_AT, tick=False):
        participant, _ = make_enrolled(site, first_name="Ann")
        session = make_visit(participant, VISIT)
        request = ExcusedAbsenceRequest.objects.create(
            attendance=session.attendances.get(), reason="Doctor", requested_at=EDIT_AT)
        staff = factories.StaffFactory(sites=[site])
        if decision == "approve":
            excuse_approve(request=request, by=staff)
        else:
            excuse_decline(request=request, by=staff, note="Please come")
    sweep_and_send(EDIT_AT + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    sweep_and_send(EDIT_AT + dt.timedelta(minutes=2), django_capture_on_commit_callbacks)
    assert [m.to for m in sms.outbox] == [participant.phone]
    assert [m.to for m in mail.outbox] == [[participant.email]]
    texts = [sms.outbox[0].body, mail.outbox[0].subject, mail.outbox[0].body]
    assert "an answer to your request for Wed Feb 4 at 6:00 PM" in texts[0]
    for text in texts:
        for word in ("excus", "approv", "declin", "doctor", "please come"):
            assert word not in text.lower(), text
    assert set(notices().values_list("status", flat=True)) == set()  # kind "excuse", not change
    assert set(Reminder.objects.filter(kind="excuse").values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_it_sends_a_seat_offer_and_its_successor_when_it_expires(
        site, settings, django_capture_on_commit_callbacks, eager_celery):
    from participants.models import Enrollment
    from sessions.services.enrollment import enrollment_offers_expire
    from tests import factories

    with time_machine.travel(EDIT_AT, tick=False):
        track = factories.TrackFactory(site=site, mode="rolling", capacity=1,
                                       start_date=EDIT_AT.date() - dt.timedelta(days=30))
        people = [make_participant(site, channels="sms", first_name=name)
                  for name in ("Ann", "Bo")]
        first, second = (factories.EnrollmentFactory(
            participant=person, track=track, status="waitlisted",
            waitlisted_at=EDIT_AT - dt.timedelta(days=9 - i)) for i, person in enumerate(people))
        # The one seat frees up: the first person waiting is offered it, and told.
        active = factories.EnrollmentFactory(track=track)
        from sessions.services.enrollment import enrollment_withdraw
        Enrollment.objects.filter(pk=active.pk).update(
            admission_date=EDIT_AT.date() + dt.timedelta(days=3))
        enrollment_withdraw(enrollment=active)
    sweep_and_send(EDIT_AT + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert [m.to for m in sms.outbox] == [people[0].phone]
    # The one-time answer link leaves no room for the name in one segment.
    assert "place is open for you. Answer by Wed Feb 4 10:00 AM at http" in sms.outbox[0].body
    later = EDIT_AT + dt.timedelta(hours=48, minutes=1)
    with time_machine.travel(later, tick=False):
        assert enrollment_offers_expire() == 1
    sweep_and_send(later + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert [m.to for m in sms.outbox] == [people[0].phone, people[1].phone]
    assert list(Reminder.objects.filter(kind="offer").order_by("pk").values_list(
        "enrollment_id", "status")) == [(first.pk, "sent"), (second.pk, "sent")]


@pytest.fixture
def slotted(site):
    """A Wednesday 6 PM timetable line with this week's session, where Ann (SMS) is expected."""
    from tests import factories

    with time_machine.travel(EDIT_AT - dt.timedelta(days=1), tick=False):
        participant, enrollment = make_enrolled(site, channels="sms", first_name="Ann")
        slot = factories.WeeklySlotFactory(track=enrollment.track, weekday=2,
                                           start_time=dt.time(18, 0))
        session = make_visit(participant, VISIT, track=enrollment.track, weekly_slot=slot)
    return participant, slot, session


@pytest.mark.django_db
def test_it_tells_the_people_expected_when_the_timetable_moves_their_session(
        slotted, settings, django_capture_on_commit_callbacks, eager_celery):
    from sessions.services.schedule import weekly_slot_update

    participant, slot, _ = slotted
    with time_machine.travel(EDIT_AT, tick=False):
        weekly_slot_update(slot=slot, start_time=dt.time(19, 0))
    sweep_and_send(after_debounce(settings), django_capture_on_commit_callbacks)
    assert [m.to for m in sms.outbox] == [participant.phone]
    assert "on Wed Feb 4 at 6:00 PM is now on Wed Feb 4 at 7:00 PM" in sms.outbox[0].body


@pytest.mark.django_db
def test_it_tells_the_people_expected_when_a_timetable_line_goes(
        slotted, settings, django_capture_on_commit_callbacks, eager_celery):
    from sessions.services.schedule import weekly_slot_delete

    participant, slot, _ = slotted
    with time_machine.travel(EDIT_AT, tick=False):
        weekly_slot_delete(slot=slot)
    sweep_and_send(after_debounce(settings), django_capture_on_commit_callbacks)
    assert [m.to for m in sms.outbox] == [participant.phone]
    assert "on Wed Feb 4 at 6:00 PM is cancelled" in sms.outbox[0].body


@pytest.mark.django_db
def test_it_tells_nobody_of_a_timetable_edit_that_moves_nothing_or_when_told_not_to(
        slotted, site):
    from sessions.services.schedule import weekly_slot_delete, weekly_slot_update
    from tests import factories

    _, slot, _ = slotted
    with time_machine.travel(EDIT_AT, tick=False):
        weekly_slot_update(slot=slot, title="Evening", room=factories.RoomFactory(site=site))
        weekly_slot_update(slot=slot, start_time=dt.time(19, 0), notify=False)
        weekly_slot_delete(slot=slot, notify=False)
    assert not notices().exists()


@pytest.mark.django_db
def test_it_waits_for_morning_with_a_change_to_this_evening_made_after_midnight(
        site, django_capture_on_commit_callbacks, settings, eager_celery):
    after_midnight = local(NY, 2026, 2, 4, 0, 30)  # quiet hours; the visit is at 6 PM today
    with time_machine.travel(EDIT_AT, tick=False):
        participant, _ = make_enrolled(site, channels="sms")
        session = make_visit(participant, VISIT)
    with time_machine.travel(after_midnight, tick=False):
        session_cancel(session=session, reason="Ill")
    sweep_and_send(after_debounce(settings, after_midnight), django_capture_on_commit_callbacks)
    assert sms.outbox == []  # nobody woken at half past midnight about this evening
    sweep_and_send(local(NY, 2026, 2, 4, 8, 0), django_capture_on_commit_callbacks)
    assert [m.to for m in sms.outbox] == [participant.phone]


@pytest.mark.django_db
def test_it_tells_at_once_of_a_change_to_a_visit_before_quiet_hours_end(
        site, django_capture_on_commit_callbacks, settings, eager_celery):
    late = local(NY, 2026, 2, 3, 22, 30)  # the visit is at 7 AM, before quiet hours end (8 AM)
    with time_machine.travel(EDIT_AT, tick=False):
        participant, _ = make_enrolled(site, channels="sms")
        session = make_visit(participant, local(NY, 2026, 2, 4, 7, 0))
    with time_machine.travel(late, tick=False):
        session_cancel(session=session, reason="Ill")
    sweep_and_send(after_debounce(settings, late), django_capture_on_commit_callbacks)
    assert [m.to for m in sms.outbox] == [participant.phone]  # rather than never
    assert "on Wed Feb 4 at 7:00 AM is cancelled" in sms.outbox[0].body
    assert notices(participant=participant).get().status == "sent"


@pytest.mark.django_db
def test_it_gives_the_new_time_and_address_when_the_day_now_starts_elsewhere(
        site, settings, django_capture_on_commit_callbacks, eager_celery):
    """Cancelling the day's first session, at one site, leaves a later one at another site: the
    person is told the new start and where it is."""
    from tests import factories

    site.address = "12 Elm Road"
    site.save(update_fields=["address"])
    other = factories.SiteFactory(time_zone=NY, address="40 Oak Avenue", public_alias="Oak Health")
    with time_machine.travel(EDIT_AT - dt.timedelta(days=1), tick=False):
        participant, enrollment = make_enrolled(site, channels="both")
        first = make_visit(participant, VISIT, track=enrollment.track)
        make_visit(participant, VISIT + dt.timedelta(hours=2), track=enrollment.track, site=other)
    with time_machine.travel(EDIT_AT, tick=False):
        session_cancel(session=first, reason="Ill")
    sweep_and_send(after_debounce(settings), django_capture_on_commit_callbacks)
    [text], [email] = sms.outbox, mail.outbox
    assert "on Wed Feb 4 at 6:00 PM is now on Wed Feb 4 at 8:00 PM, 40 Oak Avenue" in text.body
    assert "40 Oak Avenue" in email.body and "12 Elm Road" not in email.body + text.body


@pytest.mark.django_db
def test_it_tells_the_people_expected_when_the_site_moves_to_a_new_address(
        site, settings, django_capture_on_commit_callbacks, eager_celery):
    from programs.services import site_save

    site.address = "12 Elm Road"
    site.save(update_fields=["address"])
    with time_machine.travel(EDIT_AT - dt.timedelta(days=1), tick=False):
        participant, enrollment = make_enrolled(site, channels="both")
        make_visit(participant, VISIT, track=enrollment.track)
        far, _ = make_enrolled(site, channels="sms")
        make_visit(far, EDIT_AT + dt.timedelta(days=settings.REMINDER_NOTICE_DAYS + 2))
    with time_machine.travel(EDIT_AT, tick=False):
        site.address = "40 Oak Avenue"
        site_save(site=site)
    sweep_and_send(after_debounce(settings), django_capture_on_commit_callbacks)
    [text], [email] = sms.outbox, mail.outbox
    assert text.to == participant.phone  # not the person expected beyond the notice window
    assert "on Wed Feb 4 at 6:00 PM is now at 40 Oak Avenue." in text.body
    assert "40 Oak Avenue" in email.body and "12 Elm Road" not in email.body


@pytest.mark.django_db
def test_it_says_nothing_when_the_address_is_changed_back_or_staff_choose_not_to_tell(
        site, settings, django_capture_on_commit_callbacks, eager_celery):
    from programs.services import site_save

    site.address = "12 Elm Road"
    site.save(update_fields=["address"])
    with time_machine.travel(EDIT_AT - dt.timedelta(days=1), tick=False):
        participant, enrollment = make_enrolled(site, channels="sms")
        make_visit(participant, VISIT, track=enrollment.track)
    with time_machine.travel(EDIT_AT, tick=False):
        site.address = "40 Oak Avenue"
        site_save(site=site, notify=False)
        assert not notices().exists()
        site.address = "40 Oak Avenue, Suite 2"
        site_save(site=site)  # noted as 40 Oak Avenue ...
        site.address = "40 Oak Avenue"
        site_save(site=site, notify=False)  # ... and back to it
    sweep_and_send(after_debounce(settings), django_capture_on_commit_callbacks)
    assert sms.outbox == []
    assert set(notices().values_list("status", "reason")) == {("skipped", "unchanged")}


@pytest.mark.django_db
def test_it_says_a_new_address_in_spanish_too(site):
    from reminders.notice_messages import render_notice
    from tests import factories

    site.address = "40 Oak Avenue"
    participant = factories.ParticipantFactory(home_site=site, language="es", first_name="Ana")
    text = render_notice(channel="sms", participant=participant, site=site,
                         previous_start=VISIT, new_start=VISIT, now=EDIT_AT, place_changed=True)
    assert "ahora es en 40 Oak Avenue." in text.body and len(text.body) <= 160


@pytest.mark.django_db
@pytest.mark.parametrize("tell", [True, False])
def test_the_site_admin_tells_people_of_a_new_address_unless_unticked(site, admin_user,
                                                                      admin_client, tell):
    from tests.test_admin_phones import admin_form
    from django.contrib import admin
    from django.test import RequestFactory
    from django.urls import reverse

    from programs.models import Site

    with time_machine.travel(EDIT_AT - dt.timedelta(days=1), tick=False):
        participant, enrollment = make_enrolled(site, channels="sms")
        make_visit(participant, VISIT, track=enrollment.track)
    page = admin_client.get(reverse("admin:programs_site_change", args=[site.pk])).content.decode()
    assert 'name="tell_people"' in page and "Tell the people affected" in page
    with time_machine.travel(EDIT_AT, tick=False):
        form = admin_form(Site, site, {"address": "40 Oak Avenue", "tell_people": tell,
                                       "staff": []}, admin_user)
        assert form.is_valid(), form.errors
        request = RequestFactory().post("/")
        request.user = admin_user
        admin.site._registry[Site].save_model(request, form.save(commit=False), form, True)
    site.refresh_from_db()
    assert site.address == "40 Oak Avenue"
    assert notices(participant=participant).count() == (1 if tell else 0)
