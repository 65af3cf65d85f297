"""Messages are neutral and fit: nothing about treatment, one SMS segment, opt-out included."""
import datetime as dt
import re
from email.utils import parseaddr

import pytest
import time_machine
from django.core import mail
from hypothesis import given, settings as hypothesis_settings, strategies as st

from participants.models import Participant
from programs.models import Site
from reminders.channels import sms
from sessions.models import Attendance
from reminders.models import Reminder, ReminderPolicy
from reminders.channels.sms import gsm7_length
from reminders.messages import SMS_LIMIT, render_sms
from reminders.planner import reminders_plan
from reminders.sweeper import reminders_sweep

from .. import factories
from .conftest import local, make_visit

TREATMENT_WORDS = re.compile(
    r"recover|addict|substance|rehab|detox|therap|\biop\b|group|counsel|treatment|clinic|"
    r"session|program|alcohol|drug|sober|psychiatr|diagnos|outpatient|intensive|workshop|"
    r"relapse|\blcsw\b|h0015", re.IGNORECASE)
MARKERS = ["CANARYPROGRAM", "CANARYTOPIC", "CANARYTYPE", "CANARYCRED", "CANARYDX", "CANARYOTHER",
           "CANARYTRACK", "CANARYSITE", "CANARYROOM"]


@pytest.mark.django_db(transaction=True)
def test_it_never_reveals_treatment_in_any_message(eager_celery):
    site = factories.SiteFactory(name="CANARYSITE Addiction Recovery Services",
                                 public_alias="Maple Street Health Center",
                                 address="12 Elm Road, Springfield", time_zone="America/New_York")
    program = factories.ProgramFactory(name="CANARYPROGRAM Substance Use IOP", level_of_care="2.1")
    track = factories.TrackFactory(site=site, program=program, name="CANARYTRACK Evening group")
    clinician = factories.StaffFactory(first_name="CANARYCRED", last_name="Smith, LCSW, CADC")
    session_type = factories.SessionTypeFactory(name="CANARYTYPE Group therapy", kind="group")
    with time_machine.travel(local("America/New_York", 2026, 2, 2, 9, 0), tick=False):
        participant = factories.ParticipantFactory(home_site=site, reminder_channels="both",
                                                   first_name="Dana")
        factories.ContactConsentFactory(participant=participant)
        enrollment = factories.EnrollmentFactory(participant=participant, track=track)
        factories.ContinuingCarePlanFactory(enrollment=enrollment, notes="CANARYDX F10.20",
                                            support_groups="CANARYDX AA meetings")
        session = make_visit(participant, local("America/New_York", 2026, 2, 4, 18, 0),
                             track=track, session_type=session_type,
                             title="CANARYTOPIC Relapse prevention", facilitator=clinician,
                             room=factories.RoomFactory(site=site, name="CANARYROOM Detox wing"))
        other = factories.ParticipantFactory(home_site=site, first_name="CANARYOTHER")
        Attendance.objects.create(session=session, participant=other, status="expected")
        ReminderPolicy.objects.create(site=site, same_day_by_email=True)
        reminders_plan()
    assert Reminder.objects.filter(participant=participant).count() == 4
    for moment in (local("America/New_York", 2026, 2, 3, 18, 0),
                   local("America/New_York", 2026, 2, 4, 16, 0)):
        with time_machine.travel(moment, tick=False):
            reminders_sweep()
    assert set(Reminder.objects.filter(participant=participant).values_list("status", flat=True)) \
        == {"sent"}
    texts = [m.body for m in sms.outbox]
    for message in mail.outbox:
        texts += [message.subject, message.body, parseaddr(message.from_email)[0]]
    texts += list(Reminder.objects.values_list("body", flat=True))
    assert len(sms.outbox) == 2 and len(mail.outbox) == 2
    for text in texts:
        assert not [marker for marker in MARKERS if marker.lower() in text.lower()], text
        assert not TREATMENT_WORDS.findall(text), text
        assert "Smith" not in text
    assert parseaddr(mail.outbox[0].from_email)[0] == "Maple Street Health Center"
    assert all("Dana" in m.body and m.body.endswith("Reply STOP to opt out.") for m in sms.outbox)
    assert "6:00 PM" in mail.outbox[0].subject and "Dana" in mail.outbox[0].body


@pytest.mark.django_db
def test_it_refuses_to_send_when_the_site_alias_is_not_neutral(site, settings):
    from reminders.delivery import reminder_deliver

    from .conftest import make_enrolled

    Site.objects.filter(pk=site.pk).update(public_alias="Riverside Recovery Center")
    with time_machine.travel(local("America/New_York", 2026, 2, 2, 9, 0), tick=False):
        participant, _ = make_enrolled(Site.objects.get(pk=site.pk), channels="sms")
        make_visit(participant, local("America/New_York", 2026, 2, 4, 18, 0))
        reminders_plan()
    with time_machine.travel(local("America/New_York", 2026, 2, 3, 18, 0), tick=False):
        reminders_sweep()
        row = Reminder.objects.get(kind="day_before")
        assert reminder_deliver(reminder_id=row.pk) == "failed:not_neutral"
    row.refresh_from_db()
    assert (row.status, row.reason) == ("failed", "not_neutral")
    assert not sms.outbox


def _sms(first_name, alias, address, phone="+15555550123"):
    site = Site(public_alias=alias, address=address, phone=phone, time_zone="America/New_York")
    participant = Participant(first_name=first_name, home_site=site)
    return render_sms(participant=participant, site=site, kind="day_before",
                      first_start=dt.datetime(2026, 12, 30, 23, 30, tzinfo=dt.UTC),
                      now=dt.datetime(2026, 12, 29, 23, 30, tzinfo=dt.UTC)).body


def test_it_fits_one_sms_segment_with_long_names_and_aliases():
    body = _sms("Ann", "Maple Street Health Center", "12 Elm Road")
    assert body == ("Hi Ann: your appointment is tomorrow, Wed Dec 30 at 6:30 PM, Maple Street "
                    "Health Center, 12 Elm Road. To change call +15555550123. Reply STOP to opt "
                    "out.")
    long = _sms("Maximiliana-Alexandrina", "Northgate Community Health and Wellness Center",
                "1234 Long Avenue, Suite 500, Springfield")
    assert gsm7_length(long) <= SMS_LIMIT and long.endswith("Reply STOP to opt out.")
    # The address goes first, then the name is shortened; never over one segment.
    assert long.startswith("Hi Max: ") and "1234 Long" not in long
    huge = _sms("Bartholomew" * 10, "Riverside" * 20, "Main Street" * 10)
    assert gsm7_length(huge) <= SMS_LIMIT and "+15555550123" in huge and "STOP" in huge
    accented = _sms("Zoë Ŝtefan", "Café Ünïon Health {Center}", "")
    assert gsm7_length(accented) <= SMS_LIMIT and "Zoe" in accented


@hypothesis_settings(max_examples=30, deadline=None)
@given(first_name=st.text(max_size=80), alias=st.text(min_size=1, max_size=60),
       address=st.text(max_size=200))
def test_it_never_exceeds_one_segment(first_name, alias, address):
    body = _sms(first_name, alias, address)
    assert gsm7_length(body) <= SMS_LIMIT
    assert "Reply STOP to opt out." in body


def test_it_names_the_day_relative_to_when_the_message_goes_out():
    site = Site(public_alias="Maple Street Health Center", address="", phone="+15555550123",
                time_zone="America/New_York")
    participant = Participant(first_name="Ann", home_site=site)
    visit = dt.datetime(2026, 2, 5, 12, 0, tzinfo=dt.UTC)  # Thu 7:00 AM in New York

    def sms_at(now):
        return render_sms(participant=participant, site=site, kind="day_before",
                          first_start=visit, now=now).body

    assert "is on Thu Feb 5 at 7:00 AM" in sms_at(dt.datetime(2026, 2, 4, 1, 45, tzinfo=dt.UTC))
    assert "is tomorrow, Thu Feb 5" in sms_at(dt.datetime(2026, 2, 4, 15, 0, tzinfo=dt.UTC))
    assert "is today, Thu Feb 5" in sms_at(dt.datetime(2026, 2, 5, 10, 0, tzinfo=dt.UTC))


@pytest.mark.parametrize("word", [
    "recovery", "Addiction", "substances", "REHAB", "detox", "therapist", "IOP", "groups",
    "counseling", "treatment", "sober", "sobriety", "alcohol", "drugs", "opioids", "methadone",
    "suboxone", "psychiatrist", "mental", "behavioral", "outpatient", "intensive", "diagnosis",
])
def test_it_finds_every_revealing_word_anywhere_in_a_message(word):
    from reminders.messages import Message, revealing_words

    message = Message(subject="", body=f"See you at Maple Street ({word}) tomorrow.",
                      sender_name="Maple Street")
    assert [found.lower() for found in revealing_words(message)] == [word.lower()]
    assert not revealing_words(Message(subject="", body=f"See you at Maple{word} Street.",
                                       sender_name="Maple Street"))
