"""Issue 18, languages: a Spanish-speaking participant's portal is in Spanish; anonymous
participant-facing pages follow the browser (es or en, else English); staff pages and the admin
stay English whatever the browser asks; the participant switches language in the portal."""
import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse

from participants.models import Participant
from participants.portal_accounts import calendar_token_regenerate
from tests import factories
from tests.auth import sign_in

from .conftest import make_sessions

pytestmark = pytest.mark.django_db
SPANISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "es-MX,es;q=0.9,en;q=0.5"}

# Each portal page: a phrase it shows in Spanish, and the English it must no longer show.
PAGES = {
    "portal-home": ("Su próxima cita", "Your next visit"),
    "portal-progress": ("Mi progreso", "My progress"),
    "portal-reminders": ("Cómo comunicarnos con usted", "How to reach you"),
    "portal-calendar": ("Agregar mis citas al calendario del teléfono", "Add visits to my"),
    "portal-offer": ("No hay ninguna oferta abierta", "No open offer"),
}
# On every page: the menu, the footer and the dates.
EVERYWHERE = [("Horario", ">Schedule<"), ("Recordatorios", ">Reminders<"),
              ("¿Preguntas? Llámenos al", "Questions? Call us"), ("Salir", "Sign out")]


@pytest.fixture
def spanish_alice(alice):
    Participant.objects.filter(pk=alice.pk).update(language="es")
    return alice


def _html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("name", PAGES)
def test_it_shows_a_spanish_speakers_whole_portal_in_spanish(spanish_alice, alice_client, now,
                                                             name):
    response = alice_client.get(reverse(name))
    html = _html(response)
    spanish, english = PAGES[name]
    assert spanish in html and english not in html
    for spanish, english in EVERYWHERE:
        assert spanish in html and english not in html, (name, spanish)
    assert '<html lang="es">' in html and response["Content-Language"] == "es"


def test_it_shows_visits_dates_and_hours_in_spanish(spanish_alice, alice_client, now):
    html = _html(alice_client.get(reverse("portal-home")))
    # Wednesday 2026-03-11 at noon: tonight's group at 6 pm, then Thursday's.
    assert "Hoy, miércoles 11 de marzo de 2026" in html
    assert "Mañana, jueves 12 de marzo de 2026" in html
    assert "6:00 p.m. – 9:00 p.m." in html and "Sesión de grupo" in html
    assert "Horas de esta semana" in html and " de 9 horas" in html
    progress = _html(alice_client.get(reverse("portal-progress")))
    assert "Semanas completadas" in progress and "Fecha prevista de término" in progress
    reminders = _html(alice_client.get(reverse("portal-reminders")))
    assert "Correo electrónico y mensaje de texto" in reminders or "Sin recordatorios" in reminders


def test_it_keeps_an_english_speakers_portal_in_english_whatever_the_browser(alice, alice_client,
                                                                              now):
    html = _html(alice_client.get(reverse("portal-home"), **SPANISH_BROWSER))
    assert '<html lang="en">' in html and "Your next visit" in html and "Horario" not in html


def test_it_lets_the_participant_switch_to_spanish_and_audits_it(alice, alice_client, now):
    response = alice_client.post(reverse("portal-reminders"),
                                 {"action": "language", "language": "es"}, follow=True)
    html = _html(response)
    alice.refresh_from_db()
    assert alice.language == "es"
    assert "Se guardó su idioma." in html and '<html lang="es">' in html
    change = LogEntry.objects.get_for_object(alice).get(action=LogEntry.Action.UPDATE)
    assert change.changes_dict["language"] == ["en", "es"] and change.actor == alice.user
    # Each language is offered in its own name, so anyone can find theirs.
    assert "English" in html and "Español" in html


def test_it_refuses_a_language_we_do_not_have(alice, alice_client, now):
    response = alice_client.post(reverse("portal-reminders"),
                                 {"action": "language", "language": "fr"})
    assert response.status_code == 200 and "is-invalid" in response.content.decode()
    alice.refresh_from_db()
    assert alice.language == "en"


@pytest.mark.parametrize("extra_weeks", [0, 12])
def test_it_costs_no_extra_query_in_spanish(spanish_alice, alice_client, track, room, now,
                                            extra_weeks, django_assert_max_num_queries):
    """The same budgets as tests/portal/test_budgets.py: the language comes with the
    participant the portal loads anyway."""
    if extra_weeks:
        make_sessions(track, room, weeks=extra_weeks, weekdays=(1, 4))
        now.shift(dt.timedelta(weeks=extra_weeks // 2))
    token = calendar_token_regenerate(participant=spanish_alice)
    for name, budget in (("portal-home", 10), ("portal-progress", 10),
                         ("portal-reminders", 9)):
        with django_assert_max_num_queries(budget, info=name):
            assert alice_client.get(reverse(name)).status_code == 200
    with django_assert_max_num_queries(2):
        feed = Client().get(reverse("portal-feed", args=[token])).content.decode()
    assert f"X-WR-CALNAME:{spanish_alice.home_site.public_alias}" in feed
    if not extra_weeks:  # later, alice's own weeks are over and her feed holds no visit
        assert "SUMMARY:Cita" in feed and "SUMMARY:Appointment" not in feed


@pytest.mark.parametrize("url_name", ["login", "portal-sign-in-link"])
def test_it_follows_the_browser_on_anonymous_sign_in_pages(client, url_name):
    spanish = client.get(reverse(url_name), **SPANISH_BROWSER)
    html = _html(spanish)
    assert '<html lang="es">' in html and ("Entrar" in html or "Enviarme un enlace" in html)
    assert "Accept-Language" in spanish["Vary"] and spanish["Content-Language"] == "es"
    for header in ("fr-FR,fr;q=0.9", "", "en-US,en;q=0.8"):
        english = _html(Client().get(reverse(url_name), HTTP_ACCEPT_LANGUAGE=header))
        assert '<html lang="en">' in english and "Entrar" not in english


def test_it_follows_the_browser_on_invitation_and_link_pages(client):
    html = client.get(reverse("portal-invitation", args=["no-such-token"]),
                      **SPANISH_BROWSER).content.decode()
    assert "Este enlace ya no funciona" in html
    offer = client.get(reverse("portal-offer-link", args=["no-such-token"]),
                       **SPANISH_BROWSER).content.decode()
    assert "Este enlace ya no funciona" in offer and '<html lang="es">' in offer


def test_it_answers_portal_errors_in_the_participants_language(spanish_alice, alice_client):
    response = alice_client.get("/portal/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Página no encontrada" in html and "Volver a mi horario" in html
    assert '<html lang="es">' in html
    anonymous = Client().get("/portal/no-such-page/", **SPANISH_BROWSER)
    assert "Página no encontrada" in anonymous.content.decode()


def test_it_keeps_staff_pages_and_the_admin_in_english_for_a_spanish_browser(front_desk, site):
    staff = sign_in(Client(), front_desk)
    for url in (reverse("home"), reverse("participant_search"), "/no-such-staff-page/"):
        html = staff.get(url, **SPANISH_BROWSER).content.decode()
        assert '<html lang="en">' in html, url
        assert "Página" not in html and "Salir" not in html, url
    admin = sign_in(Client(), factories.UserFactory(is_staff=True, is_superuser=True))
    html = _html(admin.get("/admin/", **SPANISH_BROWSER))
    assert 'lang="en' in html and "Site administration" in html
