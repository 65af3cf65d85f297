"""The chart's family contacts: front desk adds them and records the participant's consent to
tell them about appointments, anyone on staff sees who may be told and until when, and a
revocation or removal shows at once and is in the audit trail."""
import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from participants.models import Contact, DisclosureConsent
from reminders.models import Reminder
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def chart(client, participant) -> str:
    page = client.get(reverse("participant_chart", args=[participant.code])).content.decode()
    return page[page.index('id="contacts-heading"'):page.index('id="enrollments-heading"')]


CONTACT = {"name": "Marisol Ortega", "relationship": "parent", "is_guardian_of_minor": "on",
           "phone": "(201) 555-0188", "email": "m.ortega@mail.example.com", "language": "es",
           "reminder_channels": "both", "sms_consent": "on"}


def test_it_lets_front_desk_add_a_contact_kept_as_e164(as_front_desk, site):
    participant = factories.ParticipantFactory(home_site=site)
    response = as_front_desk.post(reverse("contact_new", args=[participant.code]), CONTACT)
    assert response.status_code == 302
    contact = Contact.objects.get(participant=participant)
    assert (contact.phone, contact.language, contact.has_sms_consent) == (
        "+12015550188", "es", True)
    box = chart(as_front_desk, participant)
    assert "Marisol Ortega" in box and "Guardian of a minor" in box
    assert "nothing is sent to them" in box  # no disclosure consent yet


def test_it_shows_field_errors_for_a_bad_contact(as_front_desk, site):
    participant = factories.ParticipantFactory(home_site=site)
    response = as_front_desk.post(reverse("contact_new", args=[participant.code]),
                                  {**CONTACT, "phone": "call me", "sms_consent": "on"})
    assert response.status_code == 200
    assert "Enter a phone number" in response.content.decode()
    response = as_front_desk.post(reverse("contact_new", args=[participant.code]),
                                  {**CONTACT, "phone": ""})
    assert "Enter a mobile number to record consent" in response.content.decode()
    assert not Contact.objects.exists()


def test_a_clinician_reads_contacts_but_cannot_change_them(as_clinician, site):
    participant = factories.ParticipantFactory(home_site=site)
    contact = factories.ContactFactory(participant=participant, name="Desmond Pryce")
    factories.DisclosureConsentFactory(contact=contact)
    box = chart(as_clinician, participant)
    assert "Desmond Pryce" in box and "standing" in box and "Jan 1, 2027" in box
    assert "Revoke" not in box and "Add a contact" not in box
    assert as_clinician.post(reverse("contact_remove", args=[participant.code, contact.pk])
                             ).status_code == 403


def test_it_records_consent_and_shows_it_standing_with_dates(as_front_desk, site):
    participant = factories.ParticipantFactory(home_site=site, date_of_birth=dt.date(1980, 1, 1))
    contact = factories.ContactFactory(participant=participant)
    url = reverse("disclosure_new", args=[participant.code, contact.pk])
    assert as_front_desk.get(url).status_code == 200
    response = as_front_desk.post(url, {"scope": "appointment_times", "signed_by": "participant",
                                        "signed_on": "2026-01-05", "expires_on": "2026-07-05"})
    assert response.status_code == 302
    consent = DisclosureConsent.objects.get(contact=contact)
    assert consent.recorded_by is not None and consent.stands_on(dt.date(2026, 1, 5))
    box = chart(as_front_desk, participant)
    assert "standing" in box and "Jan 5, 2026" in box and "Jul 5, 2026" in box


def test_a_new_consent_replaces_the_one_on_file(as_front_desk, site):
    participant = factories.ParticipantFactory(home_site=site, date_of_birth=dt.date(1980, 1, 1))
    contact = factories.ContactFactory(participant=participant)
    old = factories.DisclosureConsentFactory(contact=contact)
    as_front_desk.post(reverse("disclosure_new", args=[participant.code, contact.pk]),
                       {"scope": "appointment_times", "signed_by": "participant",
                        "signed_on": "2026-01-05", "expires_on": "2027-01-05"})
    old.refresh_from_db()
    assert old.revoked_at is not None and old.revoke_reason == "Replaced by a new consent"
    assert DisclosureConsent.objects.filter(contact=contact, revoked_at__isnull=True).count() == 1


@pytest.mark.parametrize("data, field_error", [
    ({"signed_on": "2026-01-05", "expires_on": "2026-01-05"}, "must expire after"),
    ({"signed_on": "2026-02-01", "expires_on": "2027-01-05"}, "cannot be signed in the future"),
])
def test_it_refuses_impossible_dates_on_the_form(as_front_desk, site, data, field_error):
    participant = factories.ParticipantFactory(home_site=site, date_of_birth=dt.date(1980, 1, 1))
    contact = factories.ContactFactory(participant=participant)
    response = as_front_desk.post(reverse("disclosure_new", args=[participant.code, contact.pk]),
                                  {"scope": "appointment_times", "signed_by": "participant",
                                   **data})
    assert response.status_code == 200 and field_error in response.content.decode()
    assert not DisclosureConsent.objects.exists()


@pytest.mark.parametrize("policy, signed_by, accepted", [
    ("both", "participant", False),
    ("both", "both", True),
    ("participant", "participant", True),
])
def test_a_minors_consent_follows_the_programs_policy(as_front_desk, site, policy, signed_by,
                                                      accepted):
    program = factories.ProgramFactory(population="adolescent", minor_disclosure_signer=policy)
    track = factories.TrackFactory(site=site, program=program)
    participant = factories.ParticipantFactory(home_site=site, date_of_birth=dt.date(2011, 3, 1))
    factories.EnrollmentFactory(participant=participant, track=track)
    contact = factories.ContactFactory(participant=participant, is_guardian_of_minor=True)
    url = reverse("disclosure_new", args=[participant.code, contact.pk])
    assert "is under 18" in as_front_desk.get(url).content.decode()
    response = as_front_desk.post(url, {"scope": "appointment_times", "signed_by": signed_by,
                                        "signed_on": "2026-01-05", "expires_on": "2027-01-05"})
    assert DisclosureConsent.objects.filter(contact=contact).exists() is accepted
    if not accepted:
        assert "a parent or guardian sign too" in response.content.decode()


def test_revoking_shows_on_the_chart_and_in_the_audit_trail(as_front_desk, front_desk, site):
    participant = factories.ParticipantFactory(home_site=site)
    contact = factories.ContactFactory(participant=participant)
    consent = factories.DisclosureConsentFactory(contact=contact)
    response = as_front_desk.post(reverse("disclosure_revoke", args=[participant.code, consent.pk]),
                                  {"reason": "Asked by phone"})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_by == front_desk and consent.revoke_reason == "Asked by phone"
    box = chart(as_front_desk, participant)
    assert "revoked" in box and "Asked by phone" in box
    entry = LogEntry.objects.get_for_object(consent).order_by("-pk").first()
    assert entry.actor == front_desk and "revoked_at" in entry.changes_dict
    assert entry.additional_data == {"participant": participant.pk}


def test_removing_a_contact_takes_it_off_the_chart_and_revokes_its_consent(as_front_desk, site):
    participant = factories.ParticipantFactory(home_site=site)
    contact = factories.ContactFactory(participant=participant, name="Desmond Pryce")
    consent = factories.DisclosureConsentFactory(contact=contact)
    as_front_desk.post(reverse("contact_remove", args=[participant.code, contact.pk]))
    assert "Desmond Pryce" not in chart(as_front_desk, participant)
    consent.refresh_from_db()
    assert consent.revoked_at is not None
    # A removed contact can't be edited any more (its URL answers 404).
    assert as_front_desk.get(reverse("contact_edit", args=[participant.code, contact.pk])
                             ).status_code == 404


def test_another_sites_front_desk_gets_404(site, other_site):
    from accounts.roles import Role

    from .conftest import login

    participant = factories.ParticipantFactory(home_site=site)
    contact = factories.ContactFactory(participant=participant)
    outsider = login(factories.StaffFactory(role=Role.FRONT_DESK, sites=[other_site]))
    assert outsider.get(reverse("contact_edit", args=[participant.code, contact.pk])
                        ).status_code == 404
    assert outsider.get(reverse("contact_new", args=[participant.code])).status_code == 404


@pytest.mark.parametrize("size", [1, 10])
def test_the_chart_with_contacts_keeps_a_fixed_budget(as_front_desk, site, size,
                                                      django_assert_max_num_queries):
    participant = factories.ParticipantFactory(home_site=site)
    for _ in range(size):
        contact = factories.ContactFactory(participant=participant)
        factories.DisclosureConsentFactory(contact=contact, revoked_at=dt.datetime(
            2026, 1, 2, tzinfo=dt.UTC))
        factories.DisclosureConsentFactory(contact=contact)
        Reminder.objects.create(participant=participant, contact=contact, site=site,
                                visit_date=dt.date(2026, 1, 6), kind="day_before",
                                channel="email", due_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
                                send_before=dt.datetime(2026, 1, 6, tzinfo=dt.UTC))
    # 14 at both sizes: the chart of a participant not enrolled, and three for the contacts,
    # their consents and their reminders (the chart's budget with everything on it:
    # tests/staff/test_participants.py).
    with django_assert_max_num_queries(14):
        page = as_front_desk.get(reverse("participant_chart", args=[participant.code]))
    assert page.content.decode().count("contact-row") == size


def test_the_chart_says_whether_a_contact_was_told(as_clinician, site):
    participant = factories.ParticipantFactory(home_site=site)
    contact = factories.ContactFactory(participant=participant)
    times = {"due_at": dt.datetime(2026, 1, 5, 23, tzinfo=dt.UTC),
             "send_before": dt.datetime(2026, 1, 6, 23, tzinfo=dt.UTC)}
    Reminder.objects.create(participant=participant, contact=contact, site=site,
                            visit_date=dt.date(2026, 1, 6), kind="day_before", channel="sms",
                            status="skipped", reason="no_disclosure", **times)
    Reminder.objects.create(participant=participant, contact=contact, site=site,
                            visit_date=dt.date(2026, 1, 6), kind="day_before", channel="email",
                            status="sent", sent_at=times["due_at"], **times)
    box = chart(as_clinician, participant)
    assert "Jan 6 the day before by SMS: skipped (Family contact: no standing consent" in box
    assert "Jan 6 the day before by Email: sent" in box
    # The participant's own reminder history leaves the contact's rows out.
    page = as_clinician.get(reverse("participant_chart", args=[participant.code])).content.decode()
    assert page.split('id="reminders-heading"')[1].count("reminder-row") == 0
