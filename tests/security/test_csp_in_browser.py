"""The admin and the two-factor pages work in a real browser under the strict CSP."""
import os

import pytest
from django.db import connections
from django_otp.plugins.otp_totp.models import TOTPDevice

from .conftest import current_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch, live_server, transactional_db):
    # Playwright's sync API runs an event loop in this thread; the ORM calls below are ours.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"), headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.csp_violations = []
        page.on("console", lambda message: page.csp_violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        yield page
        # While Playwright's loop runs, the ORM hands this test its own connection (asgiref's
        # context-local storage); close it here, or PostgreSQL can't drop the test database.
        connections.close_all()
        browser.close()


def test_it_signs_in_to_the_admin_with_a_code_and_breaks_no_csp_rule(page, live_server,
                                                                    superuser):
    device = TOTPDevice.objects.create(user=superuser, name="Authenticator app", confirmed=True)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", superuser.username)
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    # django-otp's admin login asks which device, then for its code.
    page.select_option("#id_otp_device", device.persistent_id)
    page.fill("#id_password", "correct-horse-battery")
    page.fill("#id_otp_token", current_code(device))
    page.click("input[type=submit][value='Log in']")
    page.wait_for_url(f"{live_server.url}/admin/")

    for path in ("/admin/accounts/user/", f"/admin/accounts/user/{superuser.pk}/change/",
                 "/admin/auditlog/logentry/", "/admin/audit/accessevent/"):
        page.goto(f"{live_server.url}{path}")
        assert page.locator("#content").is_visible(), path
    # The change form's JavaScript ran (it builds the "show/hide password" widgets etc.).
    page.goto(f"{live_server.url}/admin/accounts/user/{superuser.pk}/change/")
    page.wait_for_function("() => window.django !== undefined && window.django.jQuery")

    assert page.csp_violations == []


def test_it_shows_the_qr_code_under_the_csp(page, live_server, director):
    from django.test import Client

    client = Client()
    client.force_login(director)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value,
                               "url": live_server.url}])

    page.goto(f"{live_server.url}/admin/")

    assert page.url.startswith(f"{live_server.url}/account/two-factor/setup/")
    box = page.locator(".qr-code svg").bounding_box()
    assert box and box["width"] > 50
    assert page.csp_violations == []
