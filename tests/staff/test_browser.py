"""Real Chromium through Playwright against pytest-django's live server.

Time is not frozen here: the browser keeps its own clock for cookie expiry, so the sessions are
built on today's date at the site instead.
"""
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sessions.models import Attendance
from tests.auth import needs_second_factor, sign_in
from tests.screenshots import full_page

from .conftest import make_group_session


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct-horse-battery"


def _sign_in(page, live_server, user):
    if needs_second_factor(user):
        # Directors need an authenticator code: hand the browser a session past that gate.
        client = sign_in(Client(), user)
        page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                                   "url": live_server.url}])
        page.goto(live_server.url + reverse("home"))
        return
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + reverse("home"))


def _today_at(site):
    return timezone.now().astimezone(site.zone).date()


def _shoot(page, name):
    full_page(page, ARTIFACTS / name)


def _nav_to(page, name: str) -> None:
    """Follow a link of the staff navigation as a person does: below 992 px the links sit
    behind the menu button, which has to be opened first."""
    toggler = page.get_by_role("button", name="Show navigation")
    if toggler.is_visible():
        toggler.click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def _wait_for_htmx(page, form_selector: str) -> None:
    """htmx wires up a swapped-in form when it settles; a tap or Enter before that would post
    the whole page instead of the row (seen on a loaded two-core machine)."""
    page.wait_for_function(
        "s => { const f = document.querySelector(s); return !!(f && f['htmx-internal-data']); }",
        arg=form_selector)


def test_it_lets_a_clinician_mark_a_group_with_one_tap_each(tablet, live_server, track, clinician):
    session, rows = make_group_session(track, size=4, day=_today_at(track.site), hour=0,
                                       title="Coping skills", facilitator=clinician)
    page = tablet
    _sign_in(page, live_server, clinician)

    page.get_by_role("link", name="Roster for Coping skills").click()
    page.wait_for_url(f"**{reverse('roster', args=[session.pk])}")
    page.evaluate("window.__sameDocument = true")  # survives only if nothing reloads the page
    taps = {rows[0]: "Present", rows[1]: "Late", rows[2]: "Absent", rows[3]: "Excused"}
    for attendance, label in taps.items():
        row = page.locator(f"#attendance-{attendance.pk}")
        _wait_for_htmx(page, f"#attendance-{attendance.pk} form")
        row.get_by_role("button", name=label, exact=True).click()
        if label == "Late":
            # Late needs its minutes: the row asks for them and puts the cursor there; typing
            # them and pressing Enter saves "late" (issue 13), no second tap on Late needed.
            minutes = page.locator(f"#minutes-{attendance.pk}[aria-invalid='true']")
            minutes.wait_for()
            _wait_for_htmx(page, f"#attendance-{attendance.pk} form")
            assert page.evaluate("document.activeElement.id") == f"minutes-{attendance.pk}"
            page.keyboard.type("150")
            page.keyboard.press("Enter")
        expected = {"Present": "present", "Late": "late", "Absent": "absent",
                    "Excused": "excused"}[label]
        row.locator(f"[data-status='{expected}']").wait_for()
        row = page.locator(f"#attendance-{attendance.pk}")
        assert row.get_by_role("button", name=label, exact=True).get_attribute(
            "aria-pressed") == "true"

    assert page.evaluate("window.__sameDocument") is True
    _shoot(page, "roster-768.png")
    marked = dict(Attendance.objects.filter(session=session)
                  .values_list("participant_id", "status"))
    assert marked == {
        rows[0].participant_id: "present", rows[1].participant_id: "late",
        rows[2].participant_id: "absent", rows[3].participant_id: "excused",
    }
    assert Attendance.objects.get(pk=rows[0].pk).minutes_attended == 180
    assert Attendance.objects.get(pk=rows[1].pk).minutes_attended == 150
    assert page.js_errors == []


def test_it_marks_minutes_and_the_rest_present_from_the_keyboard(tablet, live_server, track,
                                                                   clinician):
    session, rows = make_group_session(track, size=3, day=_today_at(track.site), hour=0,
                                       title="Relapse prevention", facilitator=clinician)
    page = tablet
    _sign_in(page, live_server, clinician)
    page.goto(live_server.url + reverse("roster", args=[session.pk]))

    first = page.locator(f"#attendance-{rows[0].pk}")
    first.get_by_label("Minutes").fill("120")
    first.get_by_role("button", name="Left early", exact=True).focus()
    page.keyboard.press("Enter")
    page.locator(f"#attendance-{rows[0].pk} [data-status='left_early']").wait_for()
    page.get_by_role("button", name="Mark the rest present (2)").click()
    page.get_by_text("Marked 2 present.").wait_for()

    assert Attendance.objects.get(pk=rows[0].pk).minutes_attended == 120
    assert Attendance.objects.filter(session=session, status="present").count() == 2
    assert page.js_errors == []


def test_it_shows_the_today_board_on_a_tablet(tablet, live_server, track, clinician):
    day = _today_at(track.site)
    make_group_session(track, size=3, day=day, hour=9, title="Morning check-in",
                       facilitator=clinician)
    make_group_session(track, size=5, day=day, hour=13, title="Mindfulness workshop",
                       facilitator=clinician)
    make_group_session(track, size=2, day=day, hour=18, title="Evening process group",
                       status="cancelled", cancel_reason="Room flooded")
    page = tablet
    _sign_in(page, live_server, clinician)

    titles = page.locator(".session-title").all_inner_texts()
    assert titles == ["Morning check-in", "Mindfulness workshop", "Evening process group"]
    cancelled = page.locator(".session-cancelled .session-title")
    assert cancelled.evaluate("el => getComputedStyle(el).textDecorationLine") == "line-through"
    # Nothing spills sideways on a 768-px screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    _shoot(page, "today-768.png")
    # Keyboard: the first Tab reaches the skip link.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    assert page.js_errors == []


def test_it_keeps_todays_day_picker_on_one_line_on_a_phone(chromium, live_server, clinician):
    context = chromium.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.set_default_timeout(10_000)
    _sign_in(page, live_server, clinician)

    back, forward = (page.get_by_role("link", name=name).bounding_box()
                     for name in ("Previous day", "Next day"))
    show = page.get_by_role("button", name="Show", exact=True).bounding_box()
    # The arrows and Show share one line: the next-day arrow used to wrap under the date.
    assert back["y"] == forward["y"] == show["y"]
    assert forward["x"] + forward["width"] <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()


def test_it_loads_no_asset_from_another_host(tablet, live_server, clinician):
    requested = []
    tablet.on("request", lambda request: requested.append(request.url))
    _sign_in(tablet, live_server, clinician)
    assert requested and all(url.startswith(live_server.url) for url in requested)
    assert tablet.evaluate("typeof htmx") == "object"
    assert tablet.evaluate("typeof bootstrap") == "object"


def test_it_fits_every_staff_page_on_a_tablet(tablet, live_server, track, director, clinician):
    from sessions.services.attendance import attendance_mark
    from tests import factories

    day = _today_at(track.site)
    session, rows = make_group_session(track, size=3, day=day, hour=0, title="Skills group",
                                       facilitator=clinician)
    attendance_mark(attendance=rows[0], status="absent", by=clinician)
    factories.ContactConsentFactory(participant=rows[0].participant, channel="sms")
    factories.WeeklySlotFactory(track=track, room=track.room_for_tests)
    followup = rows[0].followups.first()
    page = tablet
    page.goto(live_server.url + reverse("login"))
    _shoot(page, "login-768.png")
    _sign_in(page, live_server, director)
    pages = {
        "calendar": reverse("calendar"),
        "participants": reverse("participant_search") + "?q=" + rows[0].participant.last_name,
        "chart": reverse("participant_chart", args=[rows[0].participant.code]),
        "followups": reverse("followup_list") + "?assignee=&status=",
        "followup": reverse("followup_detail", args=[followup.pk]),
        "programs": reverse("program_list"),
        "track": reverse("track_edit", args=[track.pk]),
        "program": reverse("program_create"),
    }
    for name, url in pages.items():
        page.goto(live_server.url + url)
        _shoot(page, f"{name}-768.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 768, name
    assert page.js_errors == []


@pytest.mark.parametrize("width", [992, 1024, 1280])
def test_it_finds_a_participant_from_the_navigation_on_any_page(chromium, live_server, site,
                                                                director, width):
    from tests import factories

    wanted = factories.ParticipantFactory(home_site=site, first_name="Odalys", last_name="Quintero")
    factories.ParticipantFactory(home_site=site, first_name="Bert", last_name="Other")
    director.is_staff = True  # the fullest navigation: an admin link too
    director.save()
    context = chromium.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    _sign_in(page, live_server, director)
    page.goto(live_server.url + reverse("calendar"))

    box = page.get_by_role("search", name="Find a participant").get_by_label("Find a participant")
    assert box.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box.fill("quintero")
    box.press("Enter")
    page.get_by_role("link", name="Quintero, Odalys").wait_for()
    assert page.get_by_text("Other, Bert").count() == 0
    assert str(wanted.code) in page.get_by_role("link", name="Quintero, Odalys").get_attribute("href")
    context.close()


def test_it_searches_participants_as_front_desk_types(tablet, live_server, site, front_desk):
    from tests import factories

    wanted = factories.ParticipantFactory(home_site=site, first_name="Odalys", last_name="Quintero")
    factories.ParticipantFactory(home_site=site, first_name="Bert", last_name="Other")
    page = tablet
    _sign_in(page, live_server, front_desk)
    _nav_to(page, "Participants")
    page.evaluate("window.__sameDocument = true")

    page.get_by_role("link", name="Other, Bert").wait_for()  # the caseload, before any search
    page.get_by_label("Name or record number").type("quint")
    page.get_by_role("link", name="Other, Bert").wait_for(state="detached")
    page.get_by_role("link", name="Quintero, Odalys").wait_for()

    assert page.evaluate("window.__sameDocument") is True
    assert page.get_by_text("Other, Bert").count() == 0
    page.get_by_role("link", name="Quintero, Odalys").click()
    page.wait_for_url(f"**/participants/{wanted.code}/")
    assert page.get_by_role("heading", name="Odalys Quintero").count() == 1
    assert page.js_errors == []
