"""Staff paper in real Chromium: a roster prints as its sign-in sheet and nothing else, a day's
sheets one session a page. SHOTS_DIR=/some/folder also saves what the paper looks like."""
import os
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.auth import sign_in
from tests.portal.test_browser_print import pdf_pages

from .conftest import make_group_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("SHOTS_DIR")


@pytest.fixture
def desk_page(chromium, live_server, front_desk):
    client = sign_in(Client(), front_desk)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shoot(page, name: str) -> None:
    if not SHOTS:
        return
    for width in (1280, 768, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"), full_page=True)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 720, "height": 1000})
    page.screenshot(path=str(Path(SHOTS) / f"{name}-print.png"), full_page=True)
    page.emulate_media(media="null")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_roster_prints_as_its_sign_in_sheet_only(desk_page, live_server, track, clinician):
    today = timezone.now().astimezone(track.site.zone).date()
    session, rows = make_group_session(track, size=14, day=today, facilitator=clinician,
                                       title="Coping skills")
    desk_page.add_init_script("window.print = () => { window.__printed = true; }")
    desk_page.goto(live_server.url + reverse("roster", args=[session.pk]))
    shoot(desk_page, "roster-sheet")

    desk_page.get_by_role("button", name="Print sign-in sheet").click()
    assert desk_page.evaluate("window.__printed === true")

    desk_page.emulate_media(media="print")
    text = desk_page.locator("body").inner_text()
    assert "Sign-in sheet" in text and "Coping skills" in text
    assert all(row.participant.last_name in text for row in rows)
    for screen_only in ("Mark the rest present", "Present", "Minutes", "Sign out", "Roster"):
        assert screen_only not in text
    assert pdf_pages(desk_page.pdf(format="Letter")) == 1


def test_a_days_sheets_print_one_session_a_page(desk_page, live_server, track, clinician):
    today = timezone.now().astimezone(track.site.zone).date()
    for hour, size in ((9, 8), (12, 3), (18, 12)):
        make_group_session(track, size=size, day=today, hour=hour, facilitator=clinician)
    desk_page.goto(live_server.url + reverse("sign_in_sheets"))
    shoot(desk_page, "day-sheets")

    assert pdf_pages(desk_page.pdf(format="Letter")) == 3
    assert pdf_pages(desk_page.pdf(format="A4")) == 3
