"""Every message in the recipient's language: Spanish written as a US clinic writes it, neutral,
in Spanish formats ("mié 30 dic", "6:30 p.m."), each SMS one GSM-7 segment; rendered when it is
sent, so a participant who switches language gets the next message in the new one."""
import datetime as dt

import pytest
import time_machine
from django.core import mail
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from participants.models import Participant
from participants.portal_accounts import participant_language_set, portal_sign_in_link_send
from programs.models import Site
from reminders.channels import sms
from reminders.channels.sms import is_gsm7, sms_segments
from reminders.messages import in_language, render, revealing_words
from reminders.notice_messages import (
    render_excuse_notice, render_invitation, render_notice, render_offer_notice,
)
from reminders.planner import reminders_plan
from reminders.sweeper import reminders_sweep

from .. import factories
from .conftest import local, make_enrolled, make_visit

# The longest alias the English tests fit whole in a reminder (Site.public_alias holds 60).
LONG_ALIAS = "Northgate Community Health and Wellness Center"
STARTS = dt.datetime(2026, 12, 30, 23, 30, tzinfo=dt.UTC)     # Wed Dec 30, 6:30 PM in New York
NOW = dt.datetime(2026, 12, 29, 23, 30, tzinfo=dt.UTC)
ENGLISH = ("appointment", "Reply", "Hello", "Hi ", " PM", "Wed", "Dec ")


def _people(language="es", *, alias="Maple Street Health Center", address="12 Elm Road",
            first_name="Ana", user_id=None):
    site = Site(public_alias=alias, address=address, phone="+15555550123",
                time_zone="America/New_York")
    return Participant(first_name=first_name, home_site=site, language=language,
                       user_id=user_id), site


def _all_messages(participant, site, *, channel):
    link = "https://clinic.example.org/portal/o/" + "x" * 22
    common = {"participant": participant, "site": site, "now": NOW}
    return {
        "reminder": render(channel=channel, kind="day_before", first_start=STARTS, **common),
        "reminder asking for a reply": render(channel=channel, kind="day_before",
                                              first_start=STARTS, ask_reply=True, **common),
        "moved": render_notice(channel=channel, previous_start=STARTS,
                               new_start=STARTS + dt.timedelta(days=1), **common),
        "cancelled": render_notice(channel=channel, previous_start=STARTS, new_start=None,
                                   **common),
        "excuse decision": render_excuse_notice(channel=channel, first_start=STARTS, **common),
        "seat offer": render_offer_notice(channel=channel, answer_by=STARTS, link=link,
                                          **common),
    }


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_it_writes_every_message_in_spanish_for_a_spanish_speaker(channel):
    participant, site = _people("es")
    for kind, message in _all_messages(participant, site, channel=channel).items():
        text = f"{message.subject}\n{message.body}"
        assert not [word for word in ENGLISH if word in text], (kind, text)
        assert "30 dic" in text and "6:30 p.m." in text, (kind, text)
        assert not revealing_words(message), (kind, text)
        if channel == "sms":
            assert is_gsm7(message.body) and sms_segments(message.body) == 1, (kind, text)
            assert message.body.endswith("STOP para salir."), (kind, text)
            assert "p.m.." not in message.body
        else:
            assert message.body.startswith("Hola, Ana:\n"), (kind, text)


def test_it_says_each_message_as_a_clinic_would_in_spanish():
    participant, site = _people("es", address="")
    sms_ = _all_messages(participant, site, channel="sms")
    assert sms_["reminder"].body == (
        "Hola, Ana: su cita es mañana, mié 30 dic a las 6:30 p.m., Maple Street Health Center. "
        "¿Cambios? Llame al +15555550123. Responda STOP para salir.")
    assert sms_["cancelled"].body.startswith("Hola, Ana: su cita del mié 30 dic a las 6:30 p.m. "
                                             "fue cancelada.")
    assert "ahora es el jue 31 dic a las 6:30 p.m." in sms_["moved"].body
    email = _all_messages(participant, site, channel="email")
    assert email["reminder"].subject == "Recordatorio: su cita mañana, mié 30 dic a las 6:30 p.m."
    assert "Le recordamos su cita mañana, miércoles 30 de diciembre, a las 6:30 p.m. (EST)." \
        in email["reminder"].body
    # One o'clock is "a la 1:00", every other hour "a las".
    one_pm = render(channel="sms", participant=participant, site=site, kind="day_before",
                    first_start=STARTS - dt.timedelta(hours=5, minutes=30), now=NOW)
    assert "a la 1:00 p.m." in one_pm.body


def test_it_keeps_english_messages_as_they_were():
    participant, site = _people("en", address="")
    body = _all_messages(participant, site, channel="sms")["reminder"].body
    assert body == ("Hi Ana: your appointment is tomorrow, Wed Dec 30 at 6:30 PM, Maple Street "
                    "Health Center. To change call +15555550123. Reply STOP to opt out.")


def test_it_writes_in_the_language_the_caller_names_for_another_recipient():
    """A family contact's language, whatever the participant's own (h18fam's contacts)."""
    participant, site = _people("en")
    message = render(channel="sms", participant=participant, site=site, kind="day_before",
                     first_start=STARTS, now=NOW, language="es")
    assert "su cita es" in message.body
    with in_language("fr") as language:  # a language we don't have: English
        assert language == "en"


def test_it_fits_the_long_alias_whole_in_a_spanish_reminder_as_in_english():
    for language in ("en", "es"):
        participant, site = _people(language, alias=LONG_ALIAS, first_name="Maximiliana")
        body = render(channel="sms", participant=participant, site=site, kind="day_before",
                      first_start=STARTS, now=NOW).body
        assert LONG_ALIAS in body and sms_segments(body) == 1 and is_gsm7(body), body


@hypothesis_settings(max_examples=40, deadline=None)
@given(first_name=st.text(max_size=80), alias=st.text(min_size=1, max_size=60),
       address=st.text(max_size=200))
def test_it_never_exceeds_one_segment_in_spanish(first_name, alias, address):
    participant, site = _people("es", alias=alias, address=address, first_name=first_name)
    for kind, message in _all_messages(participant, site, channel="sms").items():
        assert sms_segments(message.body) == 1, (kind, message.body)
        assert "+15555550123" in message.body and "STOP" in message.body


def test_it_writes_the_invitation_in_spanish():
    participant, site = _people("es")
    message = render_invitation(participant=participant, site=site,
                                link="https://clinic.example.org/portal/invitation/x/", days=3,
                                now=NOW)
    assert message.subject == "Su cuenta en Maple Street Health Center"
    assert "Ya puede ver sus citas en línea" in message.body
    assert "vence en 3 días" in message.body and "expires" not in message.body


@pytest.mark.django_db
def test_it_sends_the_sign_in_link_in_spanish(site):
    participant = factories.ParticipantFactory(home_site=site, language="es", first_name="Ana",
                                               user=factories.UserFactory())
    assert portal_sign_in_link_send(participant_id=participant.pk)
    [message] = mail.outbox
    assert message.subject.startswith("Su enlace para entrar a ")
    assert "Este es su enlace para entrar:" in message.body and "Hello" not in message.body


@pytest.mark.django_db(transaction=True)
def test_it_renders_at_send_time_in_the_language_chosen_since_planning(eager_celery):
    site = factories.SiteFactory(public_alias="Maple Street Health Center",
                                 time_zone="America/New_York")
    with time_machine.travel(local("America/New_York", 2026, 2, 2, 9, 0), tick=False):
        participant, enrollment = make_enrolled(site, channels="both", first_name="Ana")
        make_visit(participant, local("America/New_York", 2026, 2, 4, 18, 0),
                   enrollment=enrollment)
        reminders_plan()
        # Planned in English; the participant switches before anything goes out.
        participant_language_set(participant=participant, language="es")
    with time_machine.travel(local("America/New_York", 2026, 2, 3, 18, 0), tick=False):
        reminders_sweep()
    [text] = sms.outbox
    assert text.body.startswith("Hola, Ana: su cita es mañana, mié 4 feb a las 6:00 p.m.")
    [email] = mail.outbox
    assert email.subject == "Recordatorio: su cita mañana, mié 4 feb a las 6:00 p.m."


def test_it_writes_a_family_contacts_reminder_in_the_contacts_own_language():
    """A Spanish-speaking guardian of an English-speaking participant hears in Spanish, in one
    GSM-7 segment even with the longest alias, and the email says the same."""
    from participants.models import Contact
    from reminders.contact_reminders import render_contact_reminder

    participant, site = _people("en", alias=LONG_ALIAS)
    contact = Contact(participant=participant, name="Rosa", language="es")
    sms_text = render_contact_reminder(channel="sms", contact=contact, participant=participant,
                                       site=site, first_start=STARTS, now=NOW).body
    email = render_contact_reminder(channel="email", contact=contact, participant=participant,
                                    site=site, first_start=STARTS, now=NOW)

    assert sms_text.startswith("Aviso de cita: mañana, mié 30 dic a las 6:30 p.m."), sms_text
    assert LONG_ALIAS in sms_text and sms_segments(sms_text) == 1 and is_gsm7(sms_text)
    assert email.subject.startswith("Recordatorio: una cita")
    assert "Para cambiar la hora, llame al +15555550123." in email.body
    for text in (sms_text, email.subject + email.body):
        assert not [word for word in ENGLISH if word in text], text
        assert "Ana" not in text and "Rosa" not in text
