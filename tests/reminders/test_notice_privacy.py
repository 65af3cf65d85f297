"""Notices reveal nothing: every notice template (cancelled, moved, excuse answered; SMS, email)
is checked for the canary words planted in everything a session is linked to."""
import datetime as dt
import re
from email.utils import parseaddr

import pytest
import time_machine
from django.core import mail

from reminders.channels import sms
from reminders.models import Reminder
from reminders.sweeper import reminders_sweep
from sessions.models import Attendance, ExcusedAbsenceRequest
from sessions.services.excuses import excuse_decline
from sessions.services.schedule import session_cancel
from sessions.services.session_change import session_change

from .. import factories
from .conftest import local
from .test_messages import MARKERS, TREATMENT_WORDS

NY = "America/New_York"


@pytest.mark.django_db(transaction=True)
def test_it_never_reveals_treatment_in_any_change_notice(eager_celery):
    site = factories.SiteFactory(name="CANARYSITE Addiction Recovery Services",
                                 public_alias="Maple Street Health Center",
                                 address="12 Elm Road, Springfield", time_zone=NY)
    program = factories.ProgramFactory(name="CANARYPROGRAM Substance Use IOP", level_of_care="2.1")
    track = factories.TrackFactory(site=site, program=program, name="CANARYTRACK Evening group")
    clinician = factories.StaffFactory(first_name="CANARYCRED", last_name="Smith, LCSW, CADC")
    session_type = factories.SessionTypeFactory(name="CANARYTYPE Group therapy", kind="group")
    room = factories.RoomFactory(site=site, name="CANARYROOM Detox wing")
    edit_at = local(NY, 2026, 2, 2, 9, 0)
    with time_machine.travel(edit_at, tick=False):
        participant = factories.ParticipantFactory(home_site=site, reminder_channels="both",
                                                   first_name="Dana")
        factories.ContactConsentFactory(participant=participant)
        enrollment = factories.EnrollmentFactory(participant=participant, track=track)
        factories.ContinuingCarePlanFactory(enrollment=enrollment, notes="CANARYDX F10.20")
        other = factories.ParticipantFactory(home_site=site, first_name="CANARYOTHER")
        sessions = []
        for day in (4, 5, 6):
            session = factories.TherapySessionFactory(
                track=track, site=site, starts_at=local(NY, 2026, 2, day, 18, 0),
                session_type=session_type, title="CANARYTOPIC Relapse prevention",
                facilitator=clinician, room=room)
            for person in (participant, other):
                Attendance.objects.create(session=session, participant=person, status="expected")
            sessions.append(session)
        session_cancel(session=sessions[0], reason="CANARYDX facilitator in detox training")
        session_change(session=sessions[1], starts_at_local=dt.datetime(2026, 2, 5, 19, 30))
        request = ExcusedAbsenceRequest.objects.create(
            attendance=sessions[2].attendances.get(participant=participant),
            reason="CANARYDX detox appointment", requested_at=edit_at)
        excuse_decline(request=request, by=clinician, note="CANARYDX see your counselor")
    with time_machine.travel(edit_at + dt.timedelta(minutes=10), tick=False):
        reminders_sweep()
    rows = Reminder.objects.filter(participant=participant, kind="change")
    assert set(rows.values_list("status", flat=True)) == {"sent"} and rows.count() == 4
    assert set(Reminder.objects.filter(participant=participant, kind="excuse")
               .values_list("status", flat=True)) == {"sent"}
    texts = [m.body for m in sms.outbox]
    for message in mail.outbox:
        texts += [message.subject, message.body, parseaddr(message.from_email)[0]]
    texts += list(Reminder.objects.values_list("body", flat=True))
    assert len(sms.outbox) == 3 and len(mail.outbox) == 3
    for text in texts:
        assert not [marker for marker in MARKERS if marker.lower() in text.lower()], text
        assert not TREATMENT_WORDS.findall(text), text
        assert "Smith" not in text
    bodies = " | ".join(m.body for m in sms.outbox)
    assert "on Wed Feb 4 at 6:00 PM is cancelled" in bodies
    assert "on Thu Feb 5 at 6:00 PM is now on Thu Feb 5 at 7:30 PM" in bodies
    assert all(m.body.startswith("Hi D") and m.body.endswith("Reply STOP to opt out.")
               for m in sms.outbox)


@pytest.mark.django_db(transaction=True)
def test_it_never_reveals_treatment_in_a_seat_offer(eager_celery, settings):
    from participants.models import Enrollment
    from sessions.services.enrollment import enrollment_withdraw

    settings.PUBLIC_BASE_URL = "https://portal.example.com"
    site = factories.SiteFactory(name="CANARYSITE Addiction Recovery Services",
                                 public_alias="Maple Street Health Center", time_zone=NY)
    program = factories.ProgramFactory(name="CANARYPROGRAM Substance Use IOP")
    edit_at = local(NY, 2026, 2, 2, 9, 0)
    with time_machine.travel(edit_at, tick=False):
        track = factories.TrackFactory(site=site, program=program, mode="rolling", capacity=1,
                                       name="CANARYTRACK Evening group",
                                       start_date=edit_at.date() - dt.timedelta(days=30))
        with_portal = factories.ParticipantFactory(
            home_site=site, reminder_channels="both", first_name="Dana",
            user=factories.UserFactory())
        factories.ContactConsentFactory(participant=with_portal)
        factories.EnrollmentFactory(participant=with_portal, track=track, status="waitlisted",
                                    waitlisted_at=edit_at - dt.timedelta(days=3))
        active = factories.EnrollmentFactory(track=track)
        Enrollment.objects.filter(pk=active.pk).update(
            admission_date=edit_at.date() + dt.timedelta(days=3))
        enrollment_withdraw(enrollment=active)
    with time_machine.travel(edit_at + dt.timedelta(minutes=1), tick=False):
        reminders_sweep()
    texts = [m.body for m in sms.outbox]
    for message in mail.outbox:
        texts += [message.subject, message.body, parseaddr(message.from_email)[0]]
    assert len(sms.outbox) == 1 and len(mail.outbox) == 1
    for text in texts:
        assert not [marker for marker in MARKERS if marker.lower() in text.lower()], text
        assert not TREATMENT_WORDS.findall(text), text
    # A portal user is sent to the portal's offer page (sign in there): no secret in the link.
    assert "https://portal.example.com/portal/offer/ or call" in sms.outbox[0].body
    assert "https://portal.example.com/portal/offer/" in mail.outbox[0].body


def _canary_world(edit_at):
    """A site, program, track, session type and clinician all named with canary words."""
    site = factories.SiteFactory(name="CANARYSITE Addiction Recovery Services",
                                 public_alias="Maple Street Health Center",
                                 address="12 Elm Road, Springfield", time_zone=NY)
    program = factories.ProgramFactory(name="CANARYPROGRAM Substance Use IOP")
    clinician = factories.StaffFactory(first_name="CANARYCRED", last_name="Smith, LCSW, CADC",
                                       sites=[site])
    track = factories.TrackFactory(site=site, program=program, mode="rolling", capacity=1,
                                   name="CANARYTRACK Evening group", lead_clinician=clinician,
                                   start_date=edit_at.date() - dt.timedelta(days=30))
    factories.TherapySessionFactory(
        track=track, site=site, starts_at=edit_at + dt.timedelta(days=2),
        session_type=factories.SessionTypeFactory(name="CANARYTYPE Group therapy", kind="group"),
        title="CANARYTOPIC Relapse prevention", facilitator=clinician,
        room=factories.RoomFactory(site=site, name="CANARYROOM Detox wing"))
    return site, track, clinician


def _page_text(response) -> str:
    """What a visitor reads: the page's <main> and its <title>, without the markup."""
    html = response.content.decode()
    main = re.search(r"<main\b.*?</main>", html, re.S).group(0)
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", f"{title} {main}").split())


def _assert_neutral(texts):
    for text in texts:
        assert not [marker for marker in MARKERS if marker.lower() in text.lower()], text
        assert not TREATMENT_WORDS.findall(text), text
        assert "Smith" not in text


@pytest.mark.django_db(transaction=True)
def test_it_never_reveals_treatment_in_a_portal_invitation(eager_celery, settings):
    from participants.portal_accounts import portal_invite

    settings.PUBLIC_BASE_URL = "https://portal.example.com"
    edit_at = local(NY, 2026, 2, 2, 9, 0)
    with time_machine.travel(edit_at, tick=False):
        site, track, clinician = _canary_world(edit_at)
        participant = factories.ParticipantFactory(home_site=site, first_name="Dana",
                                                   email="dana@mail.example.com")
        factories.EnrollmentFactory(participant=participant, track=track)
        portal_invite(participant=participant, by=clinician)
        reminders_sweep()
    [message] = mail.outbox
    row = Reminder.objects.get(kind="invitation")
    assert row.status == "sent"
    _assert_neutral([message.subject, message.body, parseaddr(message.from_email)[0], row.body])
    assert "Hello Dana" in message.body and "/portal/invitation/" in message.body


@pytest.mark.django_db(transaction=True)
def test_it_never_reveals_treatment_on_the_seat_offer_pages(eager_celery, settings, client):
    from participants.models import Enrollment
    from sessions.services.enrollment import enrollment_withdraw

    settings.PUBLIC_BASE_URL = "https://portal.example.com"
    edit_at = local(NY, 2026, 2, 2, 9, 0)
    with time_machine.travel(edit_at, tick=False):
        site, track, _clinician = _canary_world(edit_at)
        offered = factories.ParticipantFactory(home_site=site, first_name="Dana",
                                               reminder_channels="both")
        factories.ContactConsentFactory(participant=offered)
        for days, person in ((3, offered), (2, factories.ParticipantFactory(
                home_site=site, first_name="CANARYOTHER", user=factories.UserFactory()))):
            factories.EnrollmentFactory(participant=person, track=track, status="waitlisted",
                                        waitlisted_at=edit_at - dt.timedelta(days=days))
        active = factories.EnrollmentFactory(track=track)
        Enrollment.objects.filter(pk=active.pk).update(
            admission_date=edit_at.date() + dt.timedelta(days=3))
        enrollment_withdraw(enrollment=active)
        reminders_sweep()
        texts = [m.body for m in sms.outbox]
        for message in mail.outbox:
            texts += [message.subject, message.body, parseaddr(message.from_email)[0]]
        path = re.search(r"/portal/o/\S+", mail.outbox[0].body).group(0)
        texts.append(_page_text(client.get(path)))
        texts.append(_page_text(client.post(path, {"answer": "decline"})))
        texts.append(_page_text(client.get(path)))  # spent: "no longer works"
        # The next person (a portal user) is offered the seat: the signed-in page.
        other = Enrollment.objects.get(participant__first_name="CANARYOTHER")
        client.force_login(other.participant.user)
        texts.append(_page_text(client.get("/portal/offer/")))
    assert len(texts) == 8 and "A place is open for you" in texts[-1]
    _assert_neutral(texts)


@pytest.mark.django_db(transaction=True)
def test_it_never_reveals_treatment_in_two_way_texts(eager_celery, settings, client):
    """A reminder that asks for a reply, and every answer to a reply: "1", "2" (follow-up or
    excuse request, per program) and a reply with nothing open."""
    from reminders.models import ReminderPolicy
    from reminders.planner import reminders_plan

    from .channels.test_sms_webhook import TOKEN, text_in

    settings.SMS_AUTH_TOKEN, settings.SMS_WEBHOOK_BASE_URL = TOKEN, ""
    edit_at = local(NY, 2026, 2, 2, 9, 0)
    with time_machine.travel(edit_at, tick=False):
        site, track, _clinician = _canary_world(edit_at)
        ReminderPolicy.objects.create(site=site, sms_ask_reply=True)
        participant = factories.ParticipantFactory(home_site=site, first_name="Dana",
                                                   phone="+15555550142", reminder_channels="sms")
        factories.ContactConsentFactory(participant=participant, channel="sms")
        enrollment = factories.EnrollmentFactory(participant=participant, track=track)
        factories.ContinuingCarePlanFactory(enrollment=enrollment, notes="CANARYDX F10.20")
        for session in track.sessions.all():
            Attendance.objects.create(session=session, participant=participant,
                                      enrollment=enrollment, status="expected")
        reminders_plan()
    with time_machine.travel(edit_at + dt.timedelta(days=1), tick=False):
        reminders_sweep()
        [reminder] = sms.outbox
        assert "Reply 1 to confirm, 2 if you can't come" in reminder.body
        for body in ("1", "2"):
            text_in(client, body)
        track.program.cant_come_reply = "excuse"
        track.program.save(update_fields=["cant_come_reply"])
        text_in(client, "2")
    with time_machine.travel(edit_at + dt.timedelta(days=3), tick=False):
        text_in(client, "1")  # that visit is over: nothing to answer
    texts = [m.body for m in sms.outbox]
    assert len(texts) == 5
    assert [t.split(": ", 1)[1] for t in texts[1:]] == [
        "Thank you, see you then.", "Thank you for letting us know. We will call you.",
        "Thank you for letting us know. We will send you our answer.",
        f"We could not match your reply. Please call {site.phone}."]
    texts += list(Reminder.objects.values_list("body", flat=True))
    _assert_neutral(texts)


@pytest.mark.django_db(transaction=True)
def test_it_never_reveals_treatment_in_a_new_address_notice(eager_celery):
    from programs.services import site_save

    edit_at = local(NY, 2026, 2, 2, 9, 0)
    with time_machine.travel(edit_at, tick=False):
        site, track, _clinician = _canary_world(edit_at)
        participant = factories.ParticipantFactory(home_site=site, first_name="Dana",
                                                   reminder_channels="both")
        factories.ContactConsentFactory(participant=participant)
        enrollment = factories.EnrollmentFactory(participant=participant, track=track)
        factories.ContinuingCarePlanFactory(enrollment=enrollment, notes="CANARYDX F10.20")
        for session in track.sessions.all():
            Attendance.objects.create(session=session, participant=participant,
                                      enrollment=enrollment, status="expected")
        site.address = "40 Oak Avenue, Springfield"
        site_save(site=site)
    with time_machine.travel(edit_at + dt.timedelta(minutes=10), tick=False):
        reminders_sweep()
    [text], [email] = sms.outbox, mail.outbox
    assert "is now at 40 Oak Avenue, Springfield" in text.body
    _assert_neutral([text.body, email.subject, email.body, parseaddr(email.from_email)[0],
                     *Reminder.objects.values_list("body", flat=True)])
