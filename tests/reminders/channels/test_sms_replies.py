"""Two-way SMS through the signed webhook: "1" confirms, "2" says can't come, in every spelling;
opt-out words always win; a reply to nothing open gets a short neutral answer."""
import datetime as dt

import pytest
import time_machine

from reminders.channels import sms
from reminders.inbound import Keyword, keyword_of
from reminders.models import Reminder
from sessions.models import Attendance, ExcusedAbsenceRequest, FollowUp

from tests import factories
from .test_sms_webhook import TREATMENT_WORDS, sms_consent_standing, text_in

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 2, 3, 15, 0, tzinfo=dt.UTC)
CONFIRM = ["1", " 1", "1 ", "\t1\n", "1.", "1!", " 1 . "]
CANT_COME = ["2", " 2 ", "2.", "\n2\n", "2!"]
NOT_ANSWERS = ["12", "1 2", "11", "one", "1 yes", "yes 1", "", "   ", "3", "21"]
OPT_OUT_WITH_DIGITS = ["1 STOP", "stop 1", "2 stop", "STOP 2", " 1  Quit ", "2. cancel",
                       "1 opt out", "Stop"]


@pytest.fixture(autouse=True)
def _now(settings):
    settings.SMS_AUTH_TOKEN = "webhook-test-token"
    settings.SMS_WEBHOOK_BASE_URL = ""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def asked(site):
    """A participant expected tomorrow whose day-before text asked for a reply."""
    participant = factories.ParticipantFactory(home_site=site, phone="+15555550142",
                                               reminder_channels="sms")
    factories.ContactConsentFactory(participant=participant, channel="sms")
    enrollment = factories.EnrollmentFactory(participant=participant)
    session = factories.TherapySessionFactory(track=enrollment.track, site=site,
                                              starts_at=NOW + dt.timedelta(hours=27))
    attendance = Attendance.objects.create(session=session, participant=participant,
                                           enrollment=enrollment, status="expected")
    Reminder.objects.create(
        participant=participant, site=site, kind="day_before", channel="sms", status="sent",
        visit_date=session.starts_at.astimezone(participant.zone).date(), asks_reply=True,
        due_at=NOW - dt.timedelta(hours=1), send_before=session.starts_at,
        sent_at=NOW - dt.timedelta(hours=1))
    return attendance


@pytest.mark.parametrize("body", CONFIRM)
def test_it_reads_1_as_confirm(body):
    assert keyword_of(body) is Keyword.CONFIRM


@pytest.mark.parametrize("body", CANT_COME)
def test_it_reads_2_as_cant_come(body):
    assert keyword_of(body) is Keyword.CANT_COME


@pytest.mark.parametrize("body", NOT_ANSWERS)
def test_it_reads_anything_else_as_no_answer(body):
    assert keyword_of(body) is Keyword.NONE


@pytest.mark.parametrize("body", OPT_OUT_WITH_DIGITS)
def test_it_lets_opt_out_words_win_over_the_answer(client, asked, body):
    assert keyword_of(body) is Keyword.OPT_OUT
    assert text_in(client, body).status_code == 200
    asked.refresh_from_db()
    assert asked.confirmation == "" and not sms_consent_standing(asked.participant)
    assert "no longer receive" in sms.outbox[-1].body


@pytest.mark.parametrize("body", CONFIRM)
def test_it_marks_the_confirmation_on_the_roster_row(client, asked, body):
    assert text_in(client, body).status_code == 200
    asked.refresh_from_db()
    assert asked.confirmation == "confirmed" and asked.status == "expected"
    assert sms.outbox[-1].body.endswith("Thank you, see you then.")
    assert not FollowUp.objects.exists()


@pytest.mark.parametrize("body", CANT_COME)
def test_it_records_cant_come_and_opens_one_follow_up(client, asked, body):
    text_in(client, body)
    text_in(client, body)  # said twice: still one follow-up
    asked.refresh_from_db()
    assert asked.confirmation == "cant_come" and asked.status == "expected"
    followup = FollowUp.objects.get()
    assert followup.kind == "cant_come" and followup.session_id == asked.session_id
    assert "We will call you" in sms.outbox[-1].body


def test_it_opens_a_follow_up_by_default(asked):
    assert asked.enrollment.track.program.cant_come_reply == "follow_up"


@pytest.mark.parametrize("body", CANT_COME)
def test_it_raises_an_excuse_request_when_the_program_says_so(client, asked, body):
    program = asked.enrollment.track.program
    program.cant_come_reply = "excuse"
    program.save(update_fields=["cant_come_reply"])
    later = factories.TherapySessionFactory(track=asked.enrollment.track, site=asked.session.site,
                                            starts_at=asked.session.starts_at + dt.timedelta(hours=2))
    second = Attendance.objects.create(session=later, participant=asked.participant,
                                       enrollment=asked.enrollment, status="expected")

    text_in(client, body)
    text_in(client, body)  # said twice: still one request per session

    requests = ExcusedAbsenceRequest.objects.order_by("attendance__session__starts_at")
    assert [r.attendance_id for r in requests] == [asked.pk, second.pk]
    assert {r.status for r in requests} == {"pending"}
    assert all("can't come" in r.reason and r.requested_by is None for r in requests)
    assert not FollowUp.objects.exists()
    asked.refresh_from_db()
    assert asked.confirmation == "cant_come" and asked.status == "expected"
    reply = sms.outbox[-1].body
    assert reply.endswith("We will send you our answer.") and "call you" not in reply
    assert not TREATMENT_WORDS.findall(reply) and len(reply) <= 160


def test_it_lets_the_clinician_decide_a_texted_excuse_and_tells_the_person(client, asked,
                                                                          clinician):
    from sessions.services.excuses import excuse_approve

    program = asked.enrollment.track.program
    program.cant_come_reply = "excuse"
    program.save(update_fields=["cant_come_reply"])
    text_in(client, "2")

    excuse_approve(request=ExcusedAbsenceRequest.objects.get(), by=clinician)

    asked.refresh_from_db()
    assert asked.status == "excused"
    assert Reminder.objects.filter(participant=asked.participant, kind="excuse",
                                   channel="sms").exists()


def test_it_keeps_a_confirmation_from_raising_anything_in_either_setting(client, asked):
    program = asked.enrollment.track.program
    program.cant_come_reply = "excuse"
    program.save(update_fields=["cant_come_reply"])
    text_in(client, "1")
    assert not ExcusedAbsenceRequest.objects.exists() and not FollowUp.objects.exists()


@pytest.mark.parametrize("body", ["1", "2"])
def test_it_answers_a_reply_to_nothing_open_briefly_and_neutrally(client, asked, body):
    Reminder.objects.update(send_before=NOW - dt.timedelta(minutes=1))  # that visit has begun
    text_in(client, body)
    asked.refresh_from_db()
    assert asked.confirmation == ""
    reply = sms.outbox[-1].body
    assert "could not match your reply" in reply and not TREATMENT_WORDS.findall(reply)
    assert len(reply) <= 160


def test_it_answers_nobody_who_is_unknown(client, asked):
    text_in(client, "1", sender="+15555550999")
    assert sms.outbox == []
    asked.refresh_from_db()
    assert asked.confirmation == ""


def test_it_ignores_a_reply_without_a_valid_signature(client, asked):
    assert text_in(client, "1", signature="forged").status_code == 403
    asked.refresh_from_db()
    assert asked.confirmation == ""


# --- Every keyword, in every case and spacing -----------------------------------------------
# The carriers' opt-out words (CTIA) and ours, written out here rather than read from the code.
EVERY_OPT_OUT = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
                 "OPT OUT", "OPT-OUT"]
EVERY_OPT_IN = ["START", "UNSTOP", "YES"]
EVERY_HELP = ["HELP", "INFO"]


def full_width(text: str) -> str:
    """"ＳＴＯＰ": the letters a Chinese, Japanese or Korean phone keyboard may type."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def spellings(word: str) -> list[str]:
    """Upper, lower, capitalised, padded with spaces, tabs and newlines, with punctuation, and
    in full-width letters."""
    return [word.upper(), word.lower(), word.capitalize(), f"  {word}  ",
            f"\t{word.lower()}\n", f"{word}.", f"{word.lower()}!", f"\n {word.capitalize()} \r\n",
            full_width(word), full_width(word.lower())]


def test_no_reply_digit_is_a_keyword_and_the_lists_match_the_code():
    from reminders.inbound import HELP_WORDS, OPT_IN_WORDS, OPT_OUT_WORDS

    assert set(OPT_OUT_WORDS) == {w for w in EVERY_OPT_OUT if " " not in w and "-" not in w}
    assert set(OPT_IN_WORDS) == set(EVERY_OPT_IN) and set(HELP_WORDS) == set(EVERY_HELP)
    for digit in ("1", "2"):
        assert keyword_of(digit) in (Keyword.CONFIRM, Keyword.CANT_COME)
        assert digit not in OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS


@pytest.mark.parametrize("body", [
    text for word in EVERY_OPT_OUT for spelled in spellings(word)
    for text in (spelled, f"1 {spelled}", f"{spelled} 2", f" 2.\n{spelled}")])
def test_every_opt_out_spelling_opts_out_through_the_webhook_even_beside_an_answer(
        client, asked, body):
    assert text_in(client, body).status_code == 200
    asked.refresh_from_db()
    assert asked.confirmation == "" and not sms_consent_standing(asked.participant)
    assert not FollowUp.objects.exists() and not ExcusedAbsenceRequest.objects.exists()
    assert [m.body.split(": ", 1)[1] for m in sms.outbox] == [
        "You will no longer receive text messages. Reply START to resume."]


@pytest.mark.parametrize("body", [s for word in EVERY_OPT_IN for s in spellings(word)])
def test_every_opt_in_spelling_opts_back_in_through_the_webhook(client, asked, body):
    text_in(client, "STOP")
    assert text_in(client, body).status_code == 200
    asked.refresh_from_db()
    assert asked.confirmation == "" and sms_consent_standing(asked.participant)
    assert sms.outbox[-1].body.endswith("You will receive text messages again. Reply STOP to "
                                        "opt out.")


@pytest.mark.parametrize("body", [s for word in EVERY_HELP for s in spellings(word)])
def test_every_help_spelling_gets_the_call_back_number(client, asked, body):
    assert text_in(client, body).status_code == 200
    asked.refresh_from_db()
    assert asked.confirmation == "" and sms_consent_standing(asked.participant)
    assert asked.session.site.phone in sms.outbox[-1].body


@pytest.mark.parametrize("body", [*CONFIRM, "\r\n1\r\n", "1\u00a0", "\u00a01", "\uff11"])
def test_every_spelling_of_1_marks_the_confirmation_through_the_webhook(client, asked, body):
    assert text_in(client, body).status_code == 200
    asked.refresh_from_db()
    assert asked.confirmation == "confirmed"
