"""Reminders to family contacts: only with the participant's standing disclosure consent, only
for family sessions (or all of a minor's, when the program says), re-checked at send time, and
a contact's STOP is the contact's alone."""
import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from participants.models import DisclosureConsent
from participants.services_contacts import contact_remove, disclosure_consent_revoke
from programs.models import SessionKind
from reminders.channels import sms
from reminders.delivery import reminder_deliver, reminders_deliver
from reminders.inbound import sms_inbound_receive
from reminders.models import Reminder
from reminders.planner import reminders_plan
from reminders.sweeper import reminders_sweep
from sessions.models import Attendance
from tests import factories

from .conftest import local, make_enrolled

NY = "America/New_York"
PLAN_AT = local(NY, 2026, 2, 2, 9, 0)
VISIT = local(NY, 2026, 2, 4, 18, 0)
DAY_BEFORE = local(NY, 2026, 2, 3, 18, 0)
SAME_DAY = local(NY, 2026, 2, 4, 16, 0)

pytestmark = pytest.mark.django_db


def family_session(participant, enrollment, starts_at=VISIT, kind=SessionKind.FAMILY):
    session_type = factories.SessionTypeFactory(kind=kind)
    if kind == SessionKind.FAMILY:
        session = factories.TherapySessionFactory(
            track=None, participant=participant, site=participant.home_site,
            session_type=session_type, starts_at=starts_at, title="Family therapy")
    else:
        session = factories.TherapySessionFactory(
            track=enrollment.track, site=enrollment.track.site, session_type=session_type,
            starts_at=starts_at, title="Relapse prevention group")
    Attendance.objects.create(session=session, participant=participant, status="expected",
                              enrollment=enrollment)
    return session


def contact_for(participant, *, consent=True, channels="both", **kwargs):
    contact = factories.ContactFactory(
        participant=participant, reminder_channels=channels,
        sms_consent_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), **kwargs)
    if consent:
        factories.DisclosureConsentFactory(contact=contact)
    return contact


def plan(participant):
    with time_machine.travel(PLAN_AT, tick=False):
        reminders_plan(participant_ids=[participant.pk])


def sweep_and_send(at, callbacks):
    with time_machine.travel(at, tick=False), callbacks(execute=True):
        reminders_sweep()


def to(address):
    return [m for m in sms.outbox if m.to == address] + [
        m for m in mail.outbox if m.to == [address]]


@pytest.fixture
def family(site):
    participant, enrollment = make_enrolled(site, first_name="Rosalind")
    with time_machine.travel(PLAN_AT, tick=False):
        family_session(participant, enrollment)
    return participant, enrollment


def test_it_sends_a_contact_without_consent_nothing(family, django_capture_on_commit_callbacks,
                                                     eager_celery):
    participant, _ = family
    contact = contact_for(participant, consent=False)
    plan(participant)
    sweep_and_send(DAY_BEFORE, django_capture_on_commit_callbacks)

    assert not Reminder.objects.filter(contact=contact).exists()
    assert to(contact.phone) == [] and to(contact.email) == []
    assert to(participant.phone) and to(participant.email)  # the participant's own still go


def test_it_reminds_a_consented_contact_of_a_family_session_in_neutral_words(
        family, django_capture_on_commit_callbacks, eager_celery):
    participant, _ = family
    contact = contact_for(participant)
    plan(participant)
    plan(participant)  # twice: nothing more
    rows = Reminder.objects.filter(contact=contact)
    assert sorted((r.kind, r.channel) for r in rows) == [
        ("day_before", "email"), ("day_before", "sms"), ("same_day", "sms")]
    # The participant's own rows share participant, day, kind and channel, and still exist.
    assert Reminder.objects.filter(participant=participant, contact__isnull=True).count() == 3

    sweep_and_send(DAY_BEFORE, django_capture_on_commit_callbacks)

    texts = to(contact.phone)
    emails = to(contact.email)
    assert len(texts) == 1 and len(emails) == 1
    words = " ".join([texts[0].body, emails[0].subject, emails[0].body])
    assert "Feb 4" in words and "6:00 PM" in words
    assert participant.home_site.public_alias in words
    # Whole words: Faker's street names may hold a surname ("Green" in "Edward Greens").
    for secret in (participant.first_name, participant.last_name, "family", "Family",
                   "therapy", contact.name):
        assert not re.search(rf"\b{re.escape(secret)}\b", words), secret


def test_it_tells_an_adults_contact_nothing_of_group_sessions(site,
                                                                django_capture_on_commit_callbacks,
                                                                eager_celery):
    participant, enrollment = make_enrolled(site, date_of_birth=dt.date(1990, 5, 1))
    with time_machine.travel(PLAN_AT, tick=False):
        family_session(participant, enrollment, kind=SessionKind.GROUP)
    enrollment.track.program.contacts_hear_all_minor_sessions = True
    enrollment.track.program.save()
    contact = contact_for(participant)
    plan(participant)
    assert not Reminder.objects.filter(contact=contact).exists()
    assert Reminder.objects.filter(participant=participant).exists()


@pytest.mark.parametrize("all_sessions, planned", [(True, 3), (False, 0)])
def test_it_tells_a_minors_contact_of_every_session_when_the_program_says(site, all_sessions,
                                                                          planned):
    participant, enrollment = make_enrolled(site, date_of_birth=dt.date(2010, 5, 1))
    with time_machine.travel(PLAN_AT, tick=False):
        family_session(participant, enrollment, kind=SessionKind.GROUP)
    program = enrollment.track.program
    program.contacts_hear_all_minor_sessions = all_sessions
    program.save()
    contact = contact_for(participant, is_guardian_of_minor=True)
    plan(participant)
    assert Reminder.objects.filter(contact=contact).count() == planned


def test_revoking_consent_stops_the_next_reminder_to_the_contact_only(
        family, django_capture_on_commit_callbacks, eager_celery):
    participant, _ = family
    contact = contact_for(participant)
    plan(participant)
    staff = factories.StaffFactory()
    with django_capture_on_commit_callbacks(execute=True):  # the re-plan runs after commit
        disclosure_consent_revoke(consent=contact.disclosure_consents.get(), by=staff,
                                  reason="Participant asked")

    sweep_and_send(DAY_BEFORE, django_capture_on_commit_callbacks)
    sweep_and_send(SAME_DAY, django_capture_on_commit_callbacks)

    assert to(contact.phone) == [] and to(contact.email) == []
    assert len(to(participant.phone)) == 2 and len(to(participant.email)) == 1
    assert set(Reminder.objects.filter(contact=contact).values_list("status", "reason")) == {
        ("skipped", "no_disclosure")}


def test_revoking_after_the_sweeper_claimed_it_still_stops_it(family):
    participant, _ = family
    contact = contact_for(participant, channels="sms")
    plan(participant)
    with time_machine.travel(DAY_BEFORE, tick=False):
        reminders_sweep()  # claimed; the send task has not run
        row = Reminder.objects.get(contact=contact, kind="day_before")
        assert row.status == "claimed"
        DisclosureConsent.objects.filter(contact=contact).update(revoked_at=DAY_BEFORE)
        assert reminder_deliver(reminder_id=row.pk) == "skipped:no_disclosure"
    assert to(contact.phone) == []


def test_an_expired_consent_stops_the_next_reminder(family, django_capture_on_commit_callbacks,
                                                    eager_celery):
    participant, _ = family
    contact = contact_for(participant)
    plan(participant)
    # Expires on the day the day-before reminder goes out (planned while it stood).
    DisclosureConsent.objects.filter(contact=contact).update(expires_on=dt.date(2026, 2, 3))

    sweep_and_send(DAY_BEFORE, django_capture_on_commit_callbacks)

    assert to(contact.phone) == [] and to(contact.email) == []
    assert to(participant.phone)
    assert set(Reminder.objects.filter(contact=contact, kind="day_before").values_list(
        "status", "reason")) == {("skipped", "no_disclosure")}


def test_it_plans_nothing_for_a_day_after_the_consent_expires(family):
    participant, _ = family
    contact = contact_for(participant, consent=False)
    factories.DisclosureConsentFactory(contact=contact, expires_on=dt.date(2026, 2, 3))
    plan(participant)
    assert not Reminder.objects.filter(contact=contact).exists()


def test_removing_a_contact_withdraws_their_reminders(family, django_capture_on_commit_callbacks,
                                                     eager_celery):
    participant, _ = family
    contact = contact_for(participant)
    plan(participant)
    with time_machine.travel(PLAN_AT, tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        contact_remove(contact=contact, by=None)
    assert set(Reminder.objects.filter(contact=contact).values_list("status", flat=True)) == {
        "skipped"}
    assert contact.disclosure_consents.get().revoked_at is not None


def test_a_contacts_stop_leaves_the_participants_texts_standing(
        family, django_capture_on_commit_callbacks, eager_celery):
    participant, _ = family
    contact = contact_for(participant)
    plan(participant)
    with time_machine.travel(PLAN_AT, tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        outcome = sms_inbound_receive(from_number=contact.phone, to_number="+15555550100",
                                      text="STOP")
    assert outcome.contact_ids == (contact.pk,) and outcome.participant_ids == ()
    assert "no longer receive" in to(contact.phone)[0].body
    sms.outbox.clear()

    sweep_and_send(DAY_BEFORE, django_capture_on_commit_callbacks)

    assert [m.body for m in to(contact.phone)] == []
    assert len(to(contact.email)) == 1  # email is not texting: it still goes
    assert len(to(participant.phone)) == 1
    participant.refresh_from_db()
    assert participant.has_consent("sms")


def test_a_participants_stop_leaves_the_contacts_texts_standing(
        family, django_capture_on_commit_callbacks, eager_celery):
    participant, _ = family
    contact = contact_for(participant)
    plan(participant)
    with time_machine.travel(PLAN_AT, tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        sms_inbound_receive(from_number=participant.phone, to_number="+15555550100",
                            text="STOP")
    sms.outbox.clear()
    sweep_and_send(DAY_BEFORE, django_capture_on_commit_callbacks)
    assert to(participant.phone) == []
    assert len(to(contact.phone)) == 1
    contact.refresh_from_db()
    assert contact.has_sms_consent


def test_a_stop_from_a_number_both_share_stops_both(family, django_capture_on_commit_callbacks,
                                                    eager_celery):
    participant, _ = family
    contact = contact_for(participant, phone=participant.phone)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = sms_inbound_receive(from_number=participant.phone, to_number="+15555550100",
                                      text="stop")
    assert outcome.participant_ids == (participant.pk,) and outcome.contact_ids == (contact.pk,)
    assert len(sms.outbox) == 1  # one confirmation to the one phone
    contact.refresh_from_db()
    participant.refresh_from_db()
    assert not contact.has_sms_consent and not participant.has_consent("sms")
    with django_capture_on_commit_callbacks(execute=True):
        sms_inbound_receive(from_number=participant.phone, to_number="+15555550100",
                            text="START")
    contact.refresh_from_db()
    assert contact.has_sms_consent


def test_a_digit_from_a_contact_gets_no_answer(family):
    participant, _ = family
    contact = contact_for(participant)
    outcome = sms_inbound_receive(from_number=contact.phone, to_number="+15555550100", text="1")
    assert outcome.reply_id is None and sms.outbox == []


@pytest.mark.parametrize("people", [2, 12])
def test_it_plans_contacts_in_a_fixed_number_of_queries(site, people,
                                                         django_assert_max_num_queries):
    everyone = []
    with time_machine.travel(PLAN_AT, tick=False):
        for _ in range(people):
            participant, enrollment = make_enrolled(site)
            family_session(participant, enrollment)
            contact_for(participant)
            contact_for(participant)
            everyone.append(participant.pk)
    # The participants' own plan (17, see test_planner) and their contacts': contacts with
    # consents, enrollments, visit days, existing rows, the insert.
    with django_assert_max_num_queries(26):
        with time_machine.travel(PLAN_AT, tick=False):
            reminders_plan(participant_ids=everyone)
    assert Reminder.objects.filter(contact__isnull=False).count() == people * 2 * 3


def test_a_contacts_text_fits_one_segment_with_the_longest_alias_and_address(site):
    from reminders.channels.sms import gsm7_length
    from reminders.contact_reminders import render_contact_reminder

    site.public_alias = "Northside Community Wellness and Family Health Center Annex"[:60]
    site.address = "12345 Long Boulevard Northwest, Building C, Suite 1200, Springfield" * 2
    site.phone = "+123456789012345"
    participant = factories.ParticipantFactory(home_site=site)
    contact = factories.ContactFactory(participant=participant)
    message = render_contact_reminder(channel="sms", contact=contact, participant=participant,
                                      site=site, first_start=VISIT, now=PLAN_AT)
    assert gsm7_length(message.body) <= 160
    assert "+123456789012345" in message.body and "STOP" in message.body
    assert message.body.startswith("Reminder: an appointment on Wed Feb 4 at 6:00 PM")


def test_the_admin_tells_contact_rows_apart(admin_client, family):
    from django.urls import reverse

    participant, _ = family
    contact = contact_for(participant)
    plan(participant)
    url = reverse("admin:reminders_reminder_changelist")
    assert admin_client.get(url, {"to": "contact"}).context["cl"].result_count == 3
    assert admin_client.get(url, {"to": "participant"}).context["cl"].result_count == 3
    row = Reminder.objects.filter(contact=contact).first()
    page = admin_client.get(reverse("admin:reminders_reminder_change", args=[row.pk]))
    assert contact.name in page.content.decode()


@pytest.mark.parametrize("people", [2, 12])
def test_it_rechecks_a_batch_of_contacts_rows_with_a_fixed_number_of_reads(site, people):
    """The send-time re-check of family contacts' rows (consents, the program rule for minors,
    their visit days, the sites) is read once for the batch, as the participants' own is."""
    everyone = []
    with time_machine.travel(PLAN_AT, tick=False):
        for _ in range(people):
            participant, enrollment = make_enrolled(site)
            family_session(participant, enrollment)
            contact_for(participant)
            everyone.append(participant.pk)
        reminders_plan(participant_ids=everyone)
    with time_machine.travel(DAY_BEFORE, tick=False):
        reminders_sweep()  # claims; the send tasks wait for a commit that never comes here
    ids = list(Reminder.objects.filter(status="claimed").values_list("pk", flat=True))
    contacts_rows = Reminder.objects.filter(pk__in=ids, contact__isnull=False).count()
    assert contacts_rows == people * 2  # email and SMS the day before

    with time_machine.travel(DAY_BEFORE, tick=False), \
            CaptureQueriesContext(connection) as captured:
        outcomes = reminders_deliver(reminder_ids=ids)

    assert outcomes == {"sent": len(ids)}
    reads = sum(q["sql"].lstrip().upper().startswith("SELECT") for q in captured.captured_queries)
    # The claimed rows; the participants' visit days (3) and SMS consents; the contacts'
    # consents, program rule and visit days (1 + 1 + 3): the same for 2 people or 12.
    assert reads <= 10
    assert len(to(Reminder.objects.filter(contact__isnull=False).first().contact.phone)) == 1
