# ruff: noqa: F811 (fixtures imported from the English browser and axe tests)
"""Issue 18 in real Chromium: on a 360 px phone a participant switches the portal to Spanish and
sees schedule, progress and reminders in Spanish; the Spanish pages (the readable record too) (and the sign-in pages a
Spanish browser gets) have no critical or serious axe violation at 360, 768 and 1280 px."""
import pytest
from django.test import Client
from django.urls import reverse

from participants.models import Participant
from tests.a11y.test_axe import (  # noqa: F401 (fixtures)
    assert_none, axe_source, browser_page, check_pages, portal_urls, world,
)
from tests.auth import sign_in

from .test_browser import clinic, participant, phone, shot, sign_in_as  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_switches_the_portal_to_spanish_on_a_phone(phone, live_server, participant):
    sign_in_as(phone, live_server, participant.user)
    page = phone.new_page()
    page.goto(f"{live_server.url}/portal/reminders/")
    assert page.locator("html").get_attribute("lang") == "en"

    page.get_by_label("Español").check()
    page.get_by_role("button", name="Change language").click()

    page.get_by_text("Se guardó su idioma.").wait_for()
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", name="Recordatorios", exact=True).is_visible()
    assert page.get_by_label("Español").is_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "es-reminders")

    page.get_by_role("link", name="Horario", exact=True).click()
    next_visit = page.locator("section[aria-labelledby=next-visit]")
    next_visit.get_by_role("heading", name="Su próxima cita").wait_for()
    assert "Hoy, " in next_visit.inner_text() and "6:00 p.m. – 9:00 p.m." in next_visit.inner_text()
    assert "Sesión de grupo" in next_visit.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "es-home")

    page.get_by_role("link", name="Progreso", exact=True).click()
    page.get_by_role("heading", name="Mi progreso").wait_for()
    assert "Your" not in page.locator("main").inner_text()
    shot(page, "es-progress")
    participant.refresh_from_db()
    assert participant.language == "es"


def test_it_finds_no_serious_violation_on_the_spanish_portal(chromium, axe_source, live_server,
                                                             world):
    Participant.objects.filter(pk=world.participant_a.pk).update(language="es")
    page = browser_page(chromium, live_server.url,
                        sign_in(Client(), world.personas["participant_a"]))
    urls = {**portal_urls(world), "record": reverse("portal-my-record-readable"),
            "not-found": "/portal/no-such-page/"}
    problems = check_pages(page, axe_source, live_server.url, urls, prefix="portal-es-")
    assert page.locator("html").get_attribute("lang") == "es"
    page.context.close()
    assert_none(problems)


def test_it_finds_no_serious_violation_on_sign_in_pages_in_spanish(chromium, axe_source,
                                                                   live_server, world):
    context = chromium.new_context(locale="es-MX")  # Accept-Language: es-MX
    page = context.new_page()
    page.set_default_timeout(15_000)
    urls = {
        "sign-in": reverse("login"),
        "link-request": reverse("portal-sign-in-link"),
        "invitation": reverse("portal-invitation", args=[world.invitation_token]),
        "link-invalid": reverse("portal-sign-in", args=["not-a-real-token"]),
    }
    problems = check_pages(page, axe_source, live_server.url, urls, prefix="es-")
    page.goto(live_server.url + reverse("login"))
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", name="Entrar").is_visible()
    context.close()
    assert_none(problems)
