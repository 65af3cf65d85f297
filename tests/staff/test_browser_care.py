"""Round-2 journeys in real Chromium at tablet width (see test_browser.py for the setup)."""
import datetime as dt

import pytest
from django.urls import reverse

from participants.models import Enrollment
from programs.models import SessionKind
from sessions.models import TherapySession
from sessions.services.enrollment import enrollment_discharge
from tests import factories

from .conftest import make_group_session
from .test_browser import _nav_to, _shoot, _sign_in, _today_at


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _next_monday(site) -> dt.date:
    today = _today_at(site)
    return today + dt.timedelta(days=7 - today.weekday())


def _fits(page, name):
    _shoot(page, f"{name}-768.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 768, name


def test_a_director_builds_a_track_previews_and_generates_twelve_weeks(tablet, live_server,
                                                                        site, director):
    program = factories.ProgramFactory(name="Adult IOP", sites=[site])
    group = factories.SessionTypeFactory(name="Process group")
    room = factories.RoomFactory(site=site, name="Room A")
    start = _next_monday(site)
    end = start + dt.timedelta(weeks=12) - dt.timedelta(days=1)
    page = tablet
    _sign_in(page, live_server, director)
    page.goto(live_server.url + reverse("track_create"))
    page.select_option("select[name=program]", str(program.pk))
    page.select_option("select[name=site]", str(site.pk))
    page.fill("input[name=name]", "Evening — Mon/Wed/Thu 6–9 pm")
    page.select_option("select[name=mode]", "cohort")
    page.fill("input[name=start_date]", start.isoformat())
    page.fill("input[name=end_date]", end.isoformat())
    page.fill("input[name=capacity]", "10")
    page.get_by_role("button", name="Save and add the timetable").click()
    # The track is saved; its timetable is built a slot at a time.
    page.get_by_role("heading", name="Weekly timetable of Evening — Mon/Wed/Thu 6–9 pm").wait_for()
    for weekday in ("0", "2", "3"):
        page.get_by_role("link", name="Add a slot").first.click()
        page.select_option("select[name=weekday]", weekday)
        page.fill("input[name=start_time]", "18:00")
        page.fill("input[name=end_time]", "21:00")
        page.select_option("select[name=session_type]", str(group.pk))
        page.select_option("select[name=room]", str(room.pk))
        page.get_by_role("button", name="Add the slot").click()
        page.get_by_text("6:00 PM, Process group added.").wait_for()
    assert page.locator(".tg-event").count() == 3
    _fits(page, "timetable")
    page.get_by_role("link", name="Evening — Mon/Wed/Thu 6–9 pm").click()
    page.get_by_role("heading", name="Weekly timetable").wait_for()
    assert page.locator("table tbody tr").count() == 3
    _fits(page, "track-detail")

    page.get_by_role("link", name="Generate schedule").click()
    assert page.locator("#preview-total").inner_text() == "36"
    assert not TherapySession.objects.exists()  # a preview creates nothing
    _fits(page, "schedule-preview")
    page.get_by_role("button", name="Create 36 sessions").click()
    page.get_by_text("36 sessions created.").wait_for()
    assert TherapySession.objects.filter(track__name__startswith="Evening").count() == 36
    assert page.js_errors == []


def test_front_desk_waitlists_then_admits_to_a_freed_seat(tablet, live_server, site, director,
                                                          front_desk):
    track = factories.TrackFactory(site=site, mode="rolling", capacity=1, name="Day track",
                                   start_date=_today_at(site) - dt.timedelta(days=30))
    seated = factories.EnrollmentFactory(track=track, admission_date=track.start_date,
                                         participant=factories.ParticipantFactory(home_site=site))
    page = tablet
    _sign_in(page, live_server, front_desk)
    _nav_to(page, "Participants")
    page.get_by_role("link", name="New participant").click()
    page.get_by_label("First name").fill("Odalys")
    page.get_by_label("Last name").fill("Quintero")
    page.get_by_label("Record number").fill("MRN-BROWSER-1")
    page.get_by_label("Email", exact=True).fill("odalys@mail.example.com")
    page.get_by_label("Mobile phone").fill("+15555550142")
    page.get_by_label("Agrees to text messages (SMS)").check()
    page.select_option("select[name=track]", str(track.pk))
    _fits(page, "intake")
    page.get_by_role("button", name="Register and enroll").click()
    page.get_by_text("Day track is full: Odalys Quintero is number 1 on the waitlist.").wait_for()
    waiting = Enrollment.objects.get(participant__record_number="MRN-BROWSER-1")
    assert waiting.status == "waitlisted"

    enrollment_discharge(enrollment=seated, discharge_date=_today_at(site),
                         reason="step_down", by=director)
    page.goto(live_server.url + reverse("track_detail", args=[track.pk]))
    offer = page.locator(f"#waitlist-{waiting.pk}")
    assert "Seat offered" in offer.inner_text()
    _fits(page, "track-offer")
    offer.get_by_role("button", name="Admit Odalys Quintero").click()
    page.get_by_text("Odalys Quintero is admitted to Day track").wait_for()
    waiting.refresh_from_db()
    assert waiting.status == "active"
    assert page.js_errors == []


def test_a_clinicians_taps_show_up_in_the_hours_ledger(tablet, live_server, site, clinician):
    today = _today_at(site)
    track = factories.TrackFactory(site=site, mode="rolling", lead_clinician=clinician,
                                   start_date=today - dt.timedelta(days=today.weekday()))
    session, rows = make_group_session(track, size=3, day=today, hour=0, title="Coping skills",
                                       facilitator=clinician)
    page = tablet
    _sign_in(page, live_server, clinician)
    page.get_by_role("link", name="Roster for Coping skills").click()
    for row in rows:
        line = page.locator(f"#attendance-{row.pk}")
        line.get_by_role("button", name="Present", exact=True).click()
        page.locator(f"#attendance-{row.pk} [data-status='present']").wait_for()
    page.goto(live_server.url + reverse("participant_chart", args=[rows[0].participant.code]))
    current = page.locator(f"tr[data-week='{track.start_date.isoformat()}'] .attended-hours")
    assert current.inner_text() == "3.00 h"
    assert "3.00 h attended" in page.locator(".ledger-total").inner_text()
    _fits(page, "chart-ledger")
    assert page.js_errors == []


def test_every_new_page_fits_a_tablet(tablet, live_server, site, director, clinician):
    today = _today_at(site)
    track = factories.TrackFactory(site=site, mode="rolling", lead_clinician=clinician,
                                   start_date=today - dt.timedelta(days=today.weekday()),
                                   name="Evening track")
    factories.WeeklySlotFactory(track=track, weekday=(today.weekday() + 1) % 7)
    factories.SessionTypeFactory(kind=SessionKind.INDIVIDUAL, name="Individual check-in")
    session, rows = make_group_session(track, size=2, day=today + dt.timedelta(days=1),
                                       facilitator=clinician)
    factories.ContinuingCarePlanFactory(enrollment=rows[1].enrollment)
    code = rows[0].participant.code
    page = tablet
    _sign_in(page, live_server, director)
    _fits(page, "today-round2")
    pages = {
        "closures": reverse("closure_list"),
        "participant-edit": reverse("participant_edit", args=[code]),
        "personal-session": reverse("personal_session_new", args=[code]),
        "discharge": reverse("enrollment_discharge", args=[rows[0].enrollment_id]),
        "hold": reverse("enrollment_hold", args=[rows[0].enrollment_id]),
        "session-cancel": reverse("session_cancel", args=[session.pk]),
        "chart-care-plan": reverse("participant_chart", args=[rows[1].participant.code]),
        "track-form": reverse("track_edit", args=[track.pk]),
    }
    for name, url in pages.items():
        page.goto(live_server.url + url)
        _fits(page, name)
    assert page.js_errors == []
