"""Recovery codes in real Chromium: the Copy button copies them and says so, falls back to
selecting them when the clipboard is out of reach, and the Print button prints only the codes
under the clinic's neutral name."""
import os
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.auth import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# SHOTS_DIR=/some/folder also saves what the page looks like on screen and on paper.
SHOTS = os.environ.get("SHOTS_DIR")


@pytest.fixture
def codes_page(chromium, live_server, director, settings):
    """A director who has just made a new set of codes, in a browser allowed the clipboard."""
    settings.CLINIC_NAME = "Riverbend Health"
    client = sign_in(Client(), director)
    context = chromium.new_context(permissions=["clipboard-read", "clipboard-write"])
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def make_codes(page, live_server) -> list[str]:
    page.goto(live_server.url + reverse("two_factor_recovery_codes"))
    page.get_by_role("button", name="Make new codes").click()
    page.locator("#recovery-codes li").first.wait_for()
    return [text.strip() for text in page.locator("#recovery-codes li").all_inner_texts()]


def test_it_copies_the_codes_and_says_so(codes_page, live_server):
    codes = make_codes(codes_page, live_server)

    codes_page.get_by_role("button", name="Copy the codes").click()

    status = codes_page.get_by_role("status").filter(has_text="copied")
    status.wait_for()
    assert status.inner_text() == f"The {len(codes)} codes are copied. Paste them somewhere safe."
    assert codes_page.evaluate("navigator.clipboard.readText()") == "\n".join(codes)


def test_it_selects_the_codes_when_the_clipboard_is_out_of_reach(codes_page, live_server):
    codes_page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    codes = make_codes(codes_page, live_server)

    codes_page.get_by_role("button", name="Copy the codes").click()

    codes_page.get_by_role("status").filter(has_text="press Ctrl+C").wait_for()
    selected = codes_page.evaluate("window.getSelection().toString()")
    assert [line.strip() for line in selected.split("\n") if line.strip()] == codes


def test_it_prints_only_the_codes_under_the_clinics_name(codes_page, live_server):
    codes_page.add_init_script("window.print = () => { window.__printed = true; }")
    codes = make_codes(codes_page, live_server)
    if SHOTS:
        for width in (1280, 768, 360):
            codes_page.set_viewport_size({"width": width, "height": 900})
            codes_page.screenshot(path=str(Path(SHOTS) / f"recovery-codes-{width}.png"),
                                  full_page=True)

    codes_page.get_by_role("button", name="Print the codes").click()
    assert codes_page.evaluate("window.__printed === true")

    codes_page.emulate_media(media="print")
    visible = codes_page.locator("body").inner_text()
    assert "Riverbend Health" in visible and "Recovery codes" in visible
    assert all(code in visible for code in codes)
    for screen_only in ("Print the codes", "Copy the codes", "I have saved my codes",
                        "Make new codes", "shown only this once", "Sign out"):
        assert screen_only not in visible
    if SHOTS:  # paper is about 720 px wide inside its margins
        codes_page.set_viewport_size({"width": 720, "height": 900})
        codes_page.screenshot(path=str(Path(SHOTS) / "recovery-codes-print.png"), full_page=True)
