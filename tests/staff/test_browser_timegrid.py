"""The week calendar's time grid and the schedule builder in real Chromium (see test_browser.py).

Screenshots of both pages at 1280, 768 and 360 px land in test-artifacts/ for people to look at.
"""
import datetime as dt

import pytest
from django.urls import reverse

from accounts.roles import Role
from programs.models import WeeklySlot
from sessions.services.schedule import schedule_generate
from tests import factories

from .test_browser import _shoot, _sign_in, _today_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 768, 360)


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@pytest.fixture
def two_sites(site):
    """A director at two sites (New York and Los Angeles), each running two tracks this week."""
    far = factories.SiteFactory(name="Mesa", time_zone="America/Los_Angeles")
    director = factories.StaffFactory(role=Role.DIRECTOR, sites=[site, far], first_name="Dana",
                                      last_name="Reyes")
    start = _monday(_today_at(site))
    process = factories.SessionTypeFactory(name="Process group")
    relapse = factories.SessionTypeFactory(name="Relapse prevention workshop", kind="workshop")
    tracks = []
    for where, name, slots in (
        (site, "Evening — Mon/Wed/Thu", [(0, dt.time(18), 120, process, "Check-in"),
                                         (0, dt.time(20), 60, relapse, ""),
                                         (2, dt.time(18), 180, process, "Coping skills"),
                                         (3, dt.time(18), 90, relapse, "Mindfulness")]),
        (site, "Morning — Tue/Thu/Fri", [(1, dt.time(9), 180, process, ""),
                                         (3, dt.time(9), 180, process, "Coping skills"),
                                         (4, dt.time(9), 180, relapse, "")]),
        (far, "Day — Mon to Fri", [(day, dt.time(10), 180, process, "") for day in range(5)]
         + [(0, dt.time(18, 30), 90, relapse, "Family education")]),
    ):
        track = factories.TrackFactory(site=where, name=name, start_date=start,
                                       end_date=start + dt.timedelta(weeks=2, days=-1))
        room = factories.RoomFactory(site=where, name=f"Room {len(tracks) + 1}")
        for weekday, at, minutes, kind, title in slots:
            WeeklySlot.objects.create(track=track, weekday=weekday, start_time=at,
                                      duration_minutes=minutes, session_type=kind, title=title,
                                      room=room, facilitator=director)
        tracks.append(track)
    # The evening track meets twice on Monday at 6 pm in two rooms: two lanes side by side.
    factories.WeeklySlotFactory(track=tracks[1], weekday=0, start_time=dt.time(18, 30),
                                duration_minutes=120, session_type=process, title="Open group")
    for track in tracks:
        schedule_generate(track=track)
    return director, tracks


def _block(page, title: str):
    return page.locator(".tg-event", has=page.get_by_text(title, exact=True)).first


def _day_heading_of(block) -> str:
    return block.evaluate("el => el.closest('section').querySelector('.tg-day-head').innerText")


def test_the_calendar_shows_every_site_on_a_time_grid(chromium, live_server, site, two_sites):
    director, tracks = two_sites
    today = _today_at(site)
    wednesday = _monday(today) + dt.timedelta(days=2)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in(page, live_server, director)
    page.get_by_role("link", name="Calendar").click()

    # Wednesday's 6-to-9 pm group sits in Wednesday's column, its top on the 6 PM line.
    block = _block(page, "Coping skills")
    assert _day_heading_of(page.locator(".tg-event", has=page.get_by_text(
        "6:00 PM – 9:00 PM", exact=True)).first).startswith(wednesday.strftime("%a"))
    six_pm = page.locator(".tg-hour", has_text="6:00 PM").bounding_box()
    wednesday_block = page.locator(".tg-event", has=page.get_by_text("6:00 PM – 9:00 PM",
                                                                        exact=True)).first
    box = wednesday_block.bounding_box()
    # An hour is 80 px high; the label is nudged up to sit on its line.
    assert abs(box["y"] - six_pm["y"]) < 12, (box, six_pm)
    column = page.locator("section.tg-day").nth(2).bounding_box()
    assert column["x"] <= box["x"] < column["x"] + column["width"]
    assert block.count() == 1
    # Both sites, today marked.
    assert page.get_by_text("Day — Mon to Fri").count() >= 5  # Mesa's track, every weekday
    assert page.locator("[aria-current=date]").inner_text().startswith(today.strftime("%a"))
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        _shoot(page, f"timegrid-calendar-{width}.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    # Unticking a site applies at once: no button to press, the page is not reloaded.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Mesa").uncheck()
    page.wait_for_function("() => ![...document.querySelectorAll('.tg-group')]"
                           ".some(el => el.textContent.includes('Day — Mon to Fri'))")
    assert page.evaluate("window.__sameDocument") is True
    assert "site=" in page.url
    assert page.get_by_label("Mesa").is_checked() is False
    # Keyboard focus stays on the box that was unticked.
    assert page.evaluate("document.activeElement.name") == "site"
    assert errors == []
    context.close()


def test_a_tablet_shows_the_calendar_one_day_at_a_time(tablet, live_server, site, two_sites):
    director, _tracks = two_sites
    today = _today_at(site)
    page = tablet
    _sign_in(page, live_server, director)
    page.goto(live_server.url + reverse("calendar"))
    visible = page.locator("section.tg-day:visible")
    assert visible.count() == 1
    assert visible.locator(".tg-day-head").get_attribute("aria-current") == "date"
    page.get_by_role("link", name="Next day").click()
    page.wait_for_url(f"**week={(today + dt.timedelta(days=1)).isoformat()}**")
    assert page.locator("section.tg-day:visible").count() == 1
    heading = page.locator("section.tg-day:visible .tg-day-head").inner_text()
    assert (today + dt.timedelta(days=1)).strftime("%A") in heading
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    assert page.js_errors == []


def test_a_director_adds_moves_and_removes_a_slot(tablet, live_server, site, director):
    track = factories.TrackFactory(site=site, name="Evening track", mode="rolling",
                                   start_date=_monday(_today_at(site)))
    factories.WeeklySlotFactory(track=track, weekday=0, start_time=dt.time(18),
                                duration_minutes=180, title="Check-in")
    long_name = "Relapse prevention and coping skills workshop"
    workshop = factories.SessionTypeFactory(name=long_name, kind="workshop")
    room = factories.RoomFactory(site=site, name="Garden room")
    page = tablet
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, live_server, director)
    page.goto(live_server.url + reverse("track_detail", args=[track.pk]))
    page.get_by_role("link", name="Weekly timetable").click()

    # Add: Wednesday 6 to 7:30 pm. A first try that ends before it starts is refused.
    page.get_by_role("link", name="Add a slot").click()
    page.select_option("select[name=weekday]", "2")
    page.fill("input[name=start_time]", "18:00")
    page.fill("input[name=end_time]", "17:00")
    page.select_option("select[name=session_type]", str(workshop.pk))
    page.select_option("select[name=room]", str(room.pk))
    page.get_by_role("button", name="Add the slot").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert "Ends at: The end must be after the start (6:00 PM)." in summary.inner_text()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        _shoot(page, f"timegrid-slot-error-{width}.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert WeeklySlot.objects.filter(track=track).count() == 1
    page.fill("input[name=end_time]", "19:30")
    page.get_by_role("button", name="Add the slot").click()
    page.get_by_text("Wednesday 6:00 PM, " + long_name + " added.").wait_for()
    slot = WeeklySlot.objects.get(track=track, weekday=2)
    assert (slot.start_time, slot.duration_minutes) == (dt.time(18), 90)
    added = _block(page, long_name)
    assert _day_heading_of(added) == "Wednesday"
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        _shoot(page, f"timegrid-timetable-{width}.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    # Move: to Thursday at 5 pm; onto Monday's check-in first, which is refused.
    page.set_viewport_size({"width": 1280, "height": 900})
    added.get_by_role("link").click()
    page.select_option("select[name=weekday]", "0")
    page.fill("input[name=start_time]", "19:00")
    page.fill("input[name=end_time]", "20:30")
    page.get_by_role("button", name="Save").click()
    page.locator(".error-summary").wait_for()
    assert "overlaps Check-in on Monday" in page.locator(".error-summary").inner_text()
    slot.refresh_from_db()
    assert slot.weekday == 2
    page.select_option("select[name=weekday]", "3")
    page.fill("input[name=start_time]", "17:00")
    page.fill("input[name=end_time]", "18:30")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Thursday 5:00 PM, " + long_name + " saved.").wait_for()
    slot.refresh_from_db()
    assert (slot.weekday, slot.start_time, slot.duration_minutes) == (3, dt.time(17), 90)
    assert _day_heading_of(_block(page, long_name)) == "Thursday"

    # Remove: the block's page, then the question, then it is gone.
    _block(page, long_name).get_by_role("link").click()
    page.get_by_role("link", name="Remove this slot").click()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        _shoot(page, f"timegrid-slot-remove-{width}.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_role("button", name="Remove the slot").click()
    page.get_by_text("Thursday 5:00 PM, " + long_name + " removed").wait_for()
    assert not WeeklySlot.objects.filter(pk=slot.pk).exists()
    assert page.get_by_text(long_name, exact=True).count() == 0

    # The preview is a calendar of the first week.
    page.get_by_role("link", name="Preview the schedule").click()
    page.locator("#preview").wait_for()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        _shoot(page, f"timegrid-preview-{width}.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.js_errors == []


def test_the_new_pages_and_their_states_have_no_serious_axe_violation(
        chromium, live_server, site, two_sites):
    """The calendar's week and day views and a refused slot form, at every width."""
    from tests.a11y.test_axe import AXE, WIDTHS as AXE_WIDTHS, assert_none, axe_violations

    director, tracks = two_sites
    page = chromium.new_page()
    page.set_default_timeout(15_000)
    _sign_in(page, live_server, director)
    source = AXE.read_text()
    problems = []

    def check(name):
        for violation in axe_violations(page, source):
            if violation["impact"] in ("critical", "serious"):
                problems.append(f"{name}: {violation['id']} {violation['nodes'][:2]}")

    for width in AXE_WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + reverse("calendar"))
        check(f"calendar of two sites @{width}")
        page.get_by_role("combobox", name="Track").select_option(str(tracks[0].pk))
        page.wait_for_function("() => document.querySelectorAll('.tg-group').length > 0 && "
                               "[...document.querySelectorAll('.tg-group')].every("
                               f"el => el.textContent.includes({tracks[0].name!r}))")
        check(f"calendar filtered by track @{width}")
        page.goto(live_server.url + reverse("slot_add", args=[tracks[0].pk]))
        page.fill("input[name=start_time]", "18:00")
        page.fill("input[name=end_time]", "17:00")
        page.get_by_role("button", name="Add the slot").click()
        page.locator(".error-summary").wait_for()
        check(f"refused slot @{width}")
    page.context.close()
    assert_none(problems)


def _inside(inner: dict, outer: dict) -> bool:
    return (inner["y"] >= outer["y"] - 1
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1)


def test_a_block_shows_its_track_and_place_and_all_of_itself_on_focus(chromium, live_server,
                                                                       site, two_sites):
    director, _tracks = two_sites
    # Reduced motion: focusing a block scrolls to it at once, not smoothly under our measures.
    context = chromium.new_context(viewport={"width": 1280, "height": 900},
                                   reduced_motion="reduce")
    page = context.new_page()
    page.set_default_timeout(10_000)
    _sign_in(page, live_server, director)
    page.goto(live_server.url + reverse("calendar"))

    # Two blocks side by side (Tuesday morning): time, title, track and place all in the box.
    tuesday = page.locator("section.tg-day").nth(1)
    block = tuesday.locator(".tg-event", has=page.get_by_text("9:00 AM – 12:00 PM",
                                                              exact=True)).first
    box = block.bounding_box()
    for part in (".tg-time", ".tg-title", ".tg-group", ".tg-meta:not(.tg-group)"):
        assert _inside(block.locator(part).bounding_box(), box), part

    # Three side by side (Monday evening) are narrow; focused, one is wide enough to read.
    check_in = page.locator(".tg-event", has=page.get_by_text("Check-in", exact=True)).first
    check_in.locator("a").focus()
    card = check_in.locator(".tg-card").bounding_box()
    assert card["width"] >= 170
    for part in (".tg-time", ".tg-group", ".tg-meta:not(.tg-group)"):
        assert _inside(check_in.locator(part).bounding_box(), card), part
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    context.close()
