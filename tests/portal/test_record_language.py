"""Issue 18, the readable record: a Spanish-speaking participant reads their whole record in
Spanish (headings, statuses, channels, dates), while the JSON download stays a data file with
English keys and values whatever the language, the same for everyone."""
import datetime as dt
import json

import pytest
from django.urls import reverse

from participants.models import Participant
from sessions.models import Attendance, AttendanceStatus, SessionStatus, TherapySession
from sessions.services.excuses import excuse_request
from tests import factories

from .conftest import NOW, make_sessions
from .test_record import RECORD_BUDGET

pytestmark = pytest.mark.django_db

READABLE = "/portal/my-record/readable/"
# What a Spanish speaker reads, and the English it replaces.
SPANISH = [
    ("<title>Su expediente · ", "<title>Your record"),
    ("Citas y asistencia", "Visits and attendance"),
    ("Inscripciones", "Enrollments"),
    ("Sus datos", "About you"),
    ("Imprimir o guardar como PDF", "Print or save as PDF"),
    ("Consentimiento para comunicarnos con usted", "Consent to be contacted"),
    ("Correo electrónico</strong>: consentimiento retirado", "consent revoked"),
    ("9 citas, de la más antigua a la más reciente.", "visits, oldest first"),
    ("Lunes 9 de marzo de 2026, 6:00 p.m. – 9:00 p.m.", "Monday, March 9"),
    ("Llegó tarde</strong> · 150 min", "Late</strong>"),
    ("Nota: El autobús se atrasó", "Note: "),
    ("<p class=\"mb-1\">Grupo · ", "<p class=\"mb-1\">Group · "),
    ("Sesión cancelada", "Session cancelled"),
    ("Mensaje de texto</strong>: consentimiento vigente", "consent standing"),
    ("Otorgado el 2 mar 2026, 9:00 a.m. (Formulario de ingreso firmado)", "Signed intake form"),
    ("pidió que se justificara su ausencia", "You asked to be excused"),
    ("Esperando respuesta", "Waiting for an answer"),
    ("<dt>Estado</dt><dd>Activa</dd>", "<dt>Status</dt>"),
    ("Plan de cuidado continuo", "Continuing-care plan"),
    ("Atención ambulatoria estándar (nivel 1)", "Standard outpatient"),
]


@pytest.fixture
def full_record(alice, schedule, now):
    """A record with something in every section: a late visit with a note, a cancelled
    session, an excuse waiting for an answer, a consent and a continuing-care plan."""
    monday = Attendance.objects.get(participant=alice, session=schedule[3])
    monday.status, monday.minutes_attended, monday.note = (AttendanceStatus.LATE, 150,
                                                            "El autobús se atrasó")
    monday.save()
    TherapySession.objects.filter(pk=schedule[8].pk).update(status=SessionStatus.CANCELLED)
    excuse_request(attendance=Attendance.objects.get(participant=alice, session=schedule[7]),
                   reason="Un turno de trabajo", by=alice.user)
    factories.ContactConsentFactory(participant=alice, channel="sms", source="intake",
                                    given_at=dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC))
    factories.ContactConsentFactory(participant=alice, channel="email", source="verbal",
                                    given_at=dt.datetime(2026, 3, 3, 14, 0, tzinfo=dt.UTC),
                                    revoked_at=dt.datetime(2026, 3, 4, 14, 0, tzinfo=dt.UTC))
    factories.ContinuingCarePlanFactory(enrollment=alice.enrollments.get(), step_down_level="1")
    return alice


def _speaks(participant, language):
    Participant.objects.filter(pk=participant.pk).update(language=language)


def _page(client) -> str:
    response = client.get(READABLE)
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_a_spanish_speaker_their_whole_record_in_spanish(full_record, alice_client):
    _speaks(full_record, "es")

    html = _page(alice_client)

    wrong = [(spanish, english) for spanish, english in SPANISH
             if spanish not in html or english in html]
    assert not wrong, wrong
    assert '<html lang="es">' in html and 'lang="en"' not in html
    # "a.m."/"p.m." end a sentence with their own period, never with two.
    assert "retirado el 4 mar 2026, 9:00 a.m.</p>" in html
    assert "Creado el 11 mar 2026, 12:00 p.m. (las horas están en su zona horaria" in html
    assert "m.." not in html


def test_it_keeps_an_english_speakers_record_in_english(full_record, alice_client):
    html = _page(alice_client)

    for english in ("<title>Your record", "Visits and attendance", "Enrollments",
                    "9 visits, oldest first.", "Session cancelled", "consent standing",
                    "Given Mar 2, 2026, 9:00 AM (Signed intake form)",
                    "Waiting for an answer", "<dt>Status</dt><dd>Active</dd>"):
        assert english in html, english
    assert "Citas" not in html and "Sesión" not in html


def test_it_keeps_the_json_download_the_same_in_either_language(full_record, alice_client):
    english = alice_client.get(reverse("portal-my-record")).content
    _speaks(full_record, "es")

    spanish = alice_client.get(reverse("portal-my-record")).content

    assert spanish == english
    record = json.loads(spanish)
    visits = record["schedule"]
    assert (visits[3]["attendance"], visits[3]["kind"]) == ("Late", "Group")
    assert visits[8]["session_status"] == "Cancelled"
    assert visits[7]["excuse_requests"][0]["status"] == "Waiting for an answer"
    assert record["consents"][0]["given_by"] == "Signed intake form"
    assert record["enrollments"][0]["status"] == "Active"
    assert not any("session_status_code" in visit for visit in visits)


@pytest.mark.parametrize("extra_weeks", [0, 3])
def test_it_keeps_the_spanish_record_on_the_same_query_budget(alice, alice_client, track, room,
                                                              now, extra_weeks,
                                                              django_assert_max_num_queries):
    _speaks(alice, "es")
    if extra_weeks:
        make_sessions(track, room, weeks=extra_weeks, weekdays=(1, 4))
        from sessions.services.expected import attendance_expect
        attendance_expect(enrollments=[alice.enrollments.get()])
        for day in (2, 3, 4):
            factories.ContactConsentFactory(
                participant=alice, channel="email", given_at=NOW - dt.timedelta(days=day),
                revoked_at=NOW - dt.timedelta(days=day, hours=-1), revoked_source="portal")
        factories.ContinuingCarePlanFactory(enrollment=alice.enrollments.get())

    with django_assert_max_num_queries(RECORD_BUDGET):
        html = _page(alice_client)
    assert "Citas y asistencia" in html
    assert html.count("record-visit") > (9 if extra_weeks else 0)
