"""The portal on a 360 × 740 phone screen, in real Chromium, against a live server.

These run on the real clock (a browser drops cookies that expire in its past), so the site's
time zone is picked to put local noon near now and "tonight" stays tonight.
"""
import datetime as dt
import re
import zoneinfo
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client

from participants.portal_accounts import portal_invite
from sessions.services.expected import attendance_expect
from tests import factories
from tests.screenshots import full_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 10_000


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


def shot(page, name: str) -> None:
    full_page(page, ARTIFACTS / f"portal-{name}.png")


def sign_in_as(context, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])


@pytest.fixture
def clinic(db):
    """A site whose local time is about noon now, an evening track, sessions this week and next."""
    utc_now = dt.datetime.now(dt.UTC)
    offset = 12 - utc_now.hour  # hours east of UTC that make it local noon
    zone_name = "Etc/GMT" + (f"{-offset:+d}" if offset else "")
    zone = zoneinfo.ZoneInfo(zone_name)
    site = factories.SiteFactory(time_zone=zone_name, public_alias="Maple Street Health Center",
                                 address="12 Example Road")
    clinician = factories.StaffFactory(role="clinician", sites=[site])
    room = factories.RoomFactory(site=site, name="Room 2B")
    today = utc_now.astimezone(zone).date()
    track = factories.TrackFactory(site=site, start_date=today - dt.timedelta(days=today.weekday()),
                                   lead_clinician=clinician)
    session_type = factories.SessionTypeFactory()
    for days_ahead in (0, 5, 7):
        day = today + dt.timedelta(days=days_ahead)
        starts = dt.datetime.combine(day, dt.time(18, 0), tzinfo=zone)
        factories.TherapySessionFactory(
            track=track, site=site, session_type=session_type, room=room,
            starts_at=starts, ends_at=starts + dt.timedelta(hours=3))
    return {"site": site, "clinician": clinician, "track": track, "today": today}


@pytest.fixture
def participant(clinic):
    user = factories.UserFactory(username="p00000042")
    participant = factories.ParticipantFactory(
        home_site=clinic["site"], first_name="Alice", user=user, email="alice@mail.example.com")
    enrollment = factories.EnrollmentFactory(participant=participant, track=clinic["track"],
                                             admission_date=clinic["track"].start_date)
    attendance_expect(enrollments=[enrollment])
    return participant


def test_it_accepts_an_invitation_and_sets_a_password(phone, live_server, clinic, settings,
                                                      eager_celery):
    settings.PUBLIC_BASE_URL = live_server.url
    carol = factories.ParticipantFactory(home_site=clinic["site"], first_name="Carol",
                                         email="carol@mail.example.com")
    factories.EnrollmentFactory(participant=carol, track=clinic["track"])
    portal_invite(participant=carol, by=clinic["clinician"])
    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    page = phone.new_page()

    page.goto(link)
    page.get_by_label(re.compile(r"New password\W*$")).fill("violet-harbour-lantern")
    page.get_by_label(re.compile("New password confirmation")).fill("violet-harbour-lantern")
    shot(page, "invitation")
    page.get_by_role("button", name="Set password and sign in").click()

    page.wait_for_url(f"{live_server.url}/portal/")
    assert page.get_by_role("heading", name="Hello, Carol").is_visible()
    shot(page, "after-invitation")


def test_it_shows_tonights_sessions(phone, live_server, participant):
    sign_in_as(phone, live_server, participant.user)
    page = phone.new_page()

    page.goto(f"{live_server.url}/portal/")

    next_visit = page.locator("section[aria-labelledby=next-visit]")
    assert "Today" in next_visit.inner_text()
    assert "6:00 PM – 9:00 PM" in next_visit.inner_text()
    assert "Maple Street Health Center" in next_visit.inner_text()
    assert "Room 2B" in next_visit.inner_text()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "home")
    page.get_by_role("link", name="Progress", exact=True).click()
    page.get_by_role("heading", name="My progress").wait_for()
    shot(page, "progress")


def test_it_takes_an_excuse_request_that_a_clinician_approves(chromium, phone, live_server,
                                                             participant, clinic):
    sign_in_as(phone, live_server, participant.user)
    page = phone.new_page()
    page.goto(f"{live_server.url}/portal/")

    page.get_by_role("link", name="Ask to be excused").first.click()
    page.get_by_label("Why can't you come?").fill("Work shift I cannot move")
    shot(page, "excuse-form")
    page.get_by_role("button", name="Send request").click()
    page.get_by_text("Excuse requested").first.wait_for()
    shot(page, "excuse-requested")

    staff = chromium.new_context(viewport={"width": 1024, "height": 768})
    staff.set_default_timeout(TIMEOUT_MS)
    sign_in_as(staff, live_server, clinic["clinician"])
    from sessions.models import ExcusedAbsenceRequest
    code = ExcusedAbsenceRequest.objects.get().code
    staff_page = staff.new_page()
    staff_page.goto(f"{live_server.url}/excuses/{code}/")
    assert "Work shift I cannot move" in staff_page.content()
    shot(staff_page, "staff-review")
    staff_page.get_by_role("button", name=re.compile("Approve")).click()
    staff_page.get_by_text("Absence excused.").wait_for()
    staff.close()

    page.reload()
    page.get_by_text("Your excused absence was approved.").wait_for()
    shot(page, "excuse-approved")


def test_it_switches_reminders_from_email_to_sms_with_consent(phone, live_server, participant):
    sign_in_as(phone, live_server, participant.user)
    page = phone.new_page()
    page.goto(f"{live_server.url}/portal/reminders/")

    page.get_by_label("Text message (SMS)").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("tick the box to agree").first.wait_for()  # the field and the error summary
    shot(page, "reminders-needs-consent")
    page.get_by_label(re.compile("I agree to get appointment text messages")).check()
    page.get_by_role("button", name="Save").click()

    page.get_by_text("Your reminder settings are saved.").wait_for()
    assert page.get_by_label("Text message (SMS)").is_checked()
    shot(page, "reminders-saved")
    participant.refresh_from_db()
    assert participant.reminder_channels == "sms"
    assert participant.consents.get(channel="sms").source == "portal"


def test_it_makes_a_calendar_link(phone, live_server, participant, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    sign_in_as(phone, live_server, participant.user)
    page = phone.new_page()
    page.goto(f"{live_server.url}/portal/calendar/")

    page.get_by_role("button", name="Make my calendar link").click()

    url = page.get_by_label("Calendar link").input_value()
    assert url.startswith(f"{live_server.url}/portal/feed/")
    shot(page, "calendar")


def test_it_shows_the_care_plan_and_history_after_discharge(phone, live_server, participant,
                                                            clinic):
    from sessions.models import Attendance
    enrollment = participant.enrollments.get()
    Attendance.objects.filter(participant=participant).update(status="present")
    enrollment.status, enrollment.discharge_date = "completed", clinic["today"]
    enrollment.discharge_reason = "completed"
    enrollment.save()
    factories.ContinuingCarePlanFactory(enrollment=enrollment, step_down_provider="Oak Clinic",
                                        support_groups="Tuesday evening peer meeting")
    sign_in_as(phone, live_server, participant.user)
    page = phone.new_page()

    page.goto(f"{live_server.url}/portal/")

    assert page.get_by_text("Tuesday evening peer meeting").is_visible()
    assert page.get_by_text("No visits are scheduled right now.").is_visible()
    shot(page, "discharged")


def test_it_explains_a_dead_link_and_offers_a_new_one(phone, live_server):
    page = phone.new_page()

    page.goto(f"{live_server.url}/portal/invitation/made-up-token/")
    assert page.get_by_role("heading", name="This link no longer works").is_visible()
    shot(page, "link-invalid")
    page.get_by_role("link", name="Email me a new sign-in link").click()
    page.get_by_label(re.compile("Your email address")).fill("someone@mail.example.com")
    page.get_by_role("button", name="Send me a link").click()
    page.get_by_text("If that address belongs to an account").wait_for()
    shot(page, "sign-in-link-sent")


def test_it_takes_a_seat_offered_through_a_one_time_link(phone, live_server, clinic, settings,
                                                         eager_celery):
    """Someone without a portal login is offered a freed seat: the outbox emails a one-time
    link; they open it on a phone, accept, and are admitted (expected at the track's sessions)."""
    from participants.models import Enrollment
    from reminders.models import Reminder
    from reminders.sweeper import reminders_sweep
    from sessions.models import Attendance
    from sessions.services.enrollment import enrollment_withdraw

    settings.PUBLIC_BASE_URL = live_server.url
    site, today = clinic["site"], clinic["today"]
    track = factories.TrackFactory(site=site, mode="rolling", capacity=1,
                                   start_date=today - dt.timedelta(days=14))
    factories.TherapySessionFactory(track=track, site=site,
                                    starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    dana = factories.ParticipantFactory(home_site=site, first_name="Dana",
                                        reminder_channels="email", email="dana@mail.example.com")
    waiting = factories.EnrollmentFactory(participant=dana, track=track, status="waitlisted",
                                          waitlisted_at=dt.datetime.now(dt.UTC))
    leaving = factories.EnrollmentFactory(track=track)
    Enrollment.objects.filter(pk=leaving.pk).update(admission_date=today + dt.timedelta(days=3))
    enrollment_withdraw(enrollment=leaving)  # the seat is offered to Dana
    reminders_sweep()  # the outbox sends the offer (the worker runs in-process here)
    [message] = [m for m in mail.outbox if m.to == [dana.email]]
    link = re.search(r"https?://\S+/portal/o/\S+", message.body).group(0)
    row = Reminder.objects.get(participant=dana, kind="offer")
    assert row.status == "sent" and link.rsplit("/", 1)[1] not in row.body
    page = phone.new_page()

    page.goto(link)
    assert page.get_by_role("heading", name="A place is open for you").is_visible()
    shot(page, "offer-link")
    page.get_by_role("button", name="Yes, I take this place").click()

    page.get_by_text("The place is yours.").wait_for()
    shot(page, "offer-accepted")
    waiting.refresh_from_db()
    assert waiting.status == "active"
    assert Attendance.objects.filter(participant=dana, session__track=track,
                                     status="expected").exists()
    page.goto(link)
    assert page.get_by_role("heading", name="This link no longer works").is_visible()
