"""axe-core on the pages and states issue 14's last items added (filters, paper, the readable
record, the admin's lists), at 1280, 768 and 360 px: 0 critical or serious violations.

The helpers and the clinic are those of test_axe.py; A11Y_SHOTS=1 saves screenshots too.
"""
import pytest
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.a11y import test_axe
from tests.a11y.test_axe import WIDTHS, assert_none, axe_violations, browser_page, check_pages
from tests.auth import sign_in

# The same fixtures as test_axe.py: its axe-core source and its clinic.
axe_source = test_axe.axe_source
world = test_axe.world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_finds_no_serious_violation_on_filters_and_sheets(chromium, axe_source, live_server,
                                                             world):
    director = world.personas["director"]
    page = browser_page(chromium, live_server.url, sign_in(Client(), director))
    trail = reverse("participant_audit_trail", args=[world.participant_a.code])
    day = world.today_session.local_date.isoformat()
    urls = {
        "caseload-at-risk": reverse("participant_search") + "?at_risk=on",
        "caseload-at-risk-active": reverse("participant_search") + "?at_risk=on&status=active",
        "audit-trail-filtered": f"{trail}?actor={director.pk}&action=viewed&since=2000-01-01",
        "audit-trail-bad-filter": f"{trail}?since=not-a-date&until=1999-01-01&actor=999999",
        "audit-trail-no-match": f"{trail}?since=2001-01-01&until=2001-01-02",
        "sign-in-sheets": reverse("sign_in_sheets") + f"?date={day}",
        "sign-in-sheets-empty": reverse("sign_in_sheets") + "?date=2001-01-01",
        "sign-in-sheets-bad": reverse("sign_in_sheets") + "?date=soon",
        "roster-with-print": reverse("roster", args=[world.today_session.pk]),
    }
    problems = check_pages(page, axe_source, live_server.url, urls, prefix="paper-")
    page.context.close()
    assert_none(problems)


def test_it_finds_no_serious_violation_on_fresh_recovery_codes(chromium, axe_source,
                                                               live_server, world):
    """The state with codes on screen exists only after making them: click, then check."""
    page = browser_page(chromium, live_server.url,
                        sign_in(Client(), world.personas["director"]))
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + reverse("two_factor_recovery_codes"))
        page.get_by_role("button", name="Make new codes").click()
        page.locator("#recovery-codes li").first.wait_for()
        page.get_by_role("button", name="Copy the codes").click()  # and its status line
        page.wait_for_function("() => document.getElementById('copy-status').textContent.length > 0")
        # The pointer off the button and its hover colours settled, so axe sees the page at rest.
        page.mouse.move(0, 0)
        page.wait_for_function("() => document.getAnimations().length === 0")
        problems += [f"recovery codes @{width}px: {v['impact']} {v['id']}: {v['nodes'][:2]}"
                     for v in axe_violations(page, axe_source)
                     if v["impact"] in ("critical", "serious")]
    page.context.close()
    assert_none(problems)


def test_it_finds_no_serious_violation_on_the_readable_record(chromium, axe_source,
                                                              live_server, world):
    page = browser_page(chromium, live_server.url,
                        sign_in(Client(), world.personas["participant_a"]))
    problems = check_pages(page, axe_source, live_server.url,
                           {"record": reverse("portal-my-record-readable")}, prefix="portal-")
    page.context.close()
    assert_none(problems)


def test_it_finds_no_serious_violation_on_the_admins_lists_and_phone_fields(
        chromium, axe_source, live_server, world):
    admin = factories.UserFactory(username="admin", is_staff=True, is_superuser=True)
    page = browser_page(chromium, live_server.url, sign_in(Client(), admin))
    urls = {
        "attendance": reverse("admin:iop_sessions_attendance_changelist"),
        "sites": reverse("admin:programs_site_changelist"),
        "site": reverse("admin:programs_site_change", args=[world.site_a.pk]),
    }
    problems = check_pages(page, axe_source, live_server.url, urls, prefix="admin-")
    page.context.close()
    assert_none(problems)
