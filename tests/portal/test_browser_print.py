"""The portal on paper, in real Chromium: the schedule prints on one page, the readable record
without the portal's chrome. SHOTS_DIR=/some/folder also saves what the paper looks like."""
import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from participants.models import Enrollment
from sessions.services.expected import attendance_expect
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("SHOTS_DIR")


def pdf_pages(pdf: bytes) -> int:
    """Pages in a PDF that Chromium wrote (its page objects are plain dictionaries)."""
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


@pytest.fixture
def twelve_weeks(site):
    """Dana, two weeks into a 12-week program of Mon/Wed/Thu evenings, 36 visits."""
    today = timezone.now().astimezone(site.zone).date()
    start = today - dt.timedelta(days=today.weekday(), weeks=2)
    track = factories.TrackFactory(site=site, start_date=start, program__duration_weeks=12)
    room = factories.RoomFactory(site=site, name="Room 4")
    session_type = factories.SessionTypeFactory()
    for week in range(12):
        for weekday in (0, 2, 3):
            starts = dt.datetime.combine(start + dt.timedelta(weeks=week, days=weekday),
                                         dt.time(18, 0), tzinfo=site.zone)
            factories.TherapySessionFactory(track=track, site=site, session_type=session_type,
                                            room=room, starts_at=starts.astimezone(dt.UTC),
                                            ends_at=(starts + dt.timedelta(hours=3)).astimezone(dt.UTC))
    user = factories.UserFactory(username="dana")
    person = factories.ParticipantFactory(home_site=site, first_name="Dana", user=user)
    factories.EnrollmentFactory(participant=person, track=track, admission_date=start,
                                planned_end_date=start + dt.timedelta(weeks=12, days=-1))
    attendance_expect(enrollments=Enrollment.objects.filter(participant=person))
    return person


@pytest.fixture
def dana_page(chromium, live_server, twelve_weeks):
    from django.test import Client

    client = Client()
    client.force_login(twelve_weeks.user)
    context = chromium.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def print_shot(page, name: str) -> None:
    if SHOTS:  # paper is about 720 px wide inside its margins
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 720, "height": 1000})
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)
        page.emulate_media(media="null")


def test_the_schedule_of_twelve_weeks_prints_on_one_page(dana_page, live_server, twelve_weeks):
    dana_page.goto(live_server.url + reverse("portal-home"))
    print_shot(dana_page, "portal-schedule-print.png")

    letter = dana_page.pdf(format="Letter")
    a4 = dana_page.pdf(format="A4")

    assert (pdf_pages(letter), pdf_pages(a4)) == (1, 1)
    dana_page.emulate_media(media="print")
    text = dana_page.locator("body").inner_text()
    assert "Schedule for Dana" in text and twelve_weeks.home_site.public_alias in text
    # Every visit ahead is on the paper, the later weeks too (closed on screen).
    visits = dana_page.locator(".portal-visit:visible").count()
    ahead = twelve_weeks.attendances.filter(session__ends_at__gt=timezone.now()).count()
    assert visits == ahead >= 28
    for screen_only in ("Sign out", "This week's hours", "Attendance history", "Progress",
                        "Ask to be excused", "Hello, Dana"):
        assert screen_only not in text


def test_the_readable_record_prints_without_the_portals_chrome(dana_page, live_server,
                                                              twelve_weeks):
    dana_page.add_init_script("window.print = () => { window.__printed = true; }")
    dana_page.goto(live_server.url + reverse("portal-my-record-readable"))

    dana_page.get_by_role("button", name="Print or save as PDF").click()

    assert dana_page.evaluate("window.__printed === true")
    dana_page.emulate_media(media="print")
    text = dana_page.locator("body").inner_text()
    assert "Your record" in text and "Visits and attendance" in text
    for screen_only in ("Sign out", "Print or save as PDF", "Download as a data file",
                        "Questions? Call us"):
        assert screen_only not in text
    print_shot(dana_page, "portal-record-print.png")
