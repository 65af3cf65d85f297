"""Keyboard and screen-reader behaviour in real Chromium: the error summary, the live region."""
import datetime as dt

import pytest
from django.test import Client
from playwright.sync_api import expect
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from tests import factories
from tests.auth import sign_in

from .test_axe import browser_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_moves_focus_to_an_error_summary_that_links_to_each_field(chromium, live_server,
                                                                     site):
    front_desk = factories.StaffFactory(role=Role.FRONT_DESK, sites=[site])
    page = browser_page(chromium, live_server.url, sign_in(Client(), front_desk))
    page.set_viewport_size({"width": 768, "height": 900})
    page.goto(live_server.url + reverse("participant_intake"))
    page.get_by_label("First name").fill("Odalys")
    page.get_by_role("button", name="Register and enroll").click()

    summary = page.locator(".error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    links = summary.get_by_role("link")
    texts = links.all_inner_texts()
    assert any(text.startswith("Last name") for text in texts), texts
    assert not any(text.startswith("First name") for text in texts), texts
    summary.get_by_role("link", name="Last name", exact=False).first.click()
    assert page.evaluate("document.activeElement.name") == "last_name"
    page.context.close()


def test_it_announces_a_roster_mark_in_the_live_region(chromium, live_server, site):
    clinician = factories.StaffFactory(role=Role.CLINICIAN, sites=[site])
    track = factories.TrackFactory(site=site, lead_clinician=clinician)
    today = timezone.now().astimezone(site.zone).date()
    starts = dt.datetime.combine(today, dt.time(0, 0), tzinfo=site.zone)
    session = factories.TherapySessionFactory(track=track, site=site, facilitator=clinician,
                                              starts_at=starts.astimezone(dt.UTC))
    participant = factories.ParticipantFactory(home_site=site, first_name="Ana",
                                               last_name="Ruiz")
    enrollment = factories.EnrollmentFactory(track=track, participant=participant)
    row = factories.AttendanceFactory(session=session, participant=participant,
                                      enrollment=enrollment)
    page = browser_page(chromium, live_server.url, sign_in(Client(), clinician))
    page.goto(live_server.url + reverse("roster", args=[session.pk]))

    page.locator(f"#attendance-{row.pk}").get_by_role("button", name="Absent", exact=True).click()
    live = page.locator("#live-region")
    expect(live).to_have_text("Ana Ruiz: Absent")
    assert live.get_attribute("aria-live") == "polite"
    page.context.close()
