"""The admin's busiest changelists fit a 1280-px screen, in real Chromium: no sideways scroll.
SHOTS_DIR=/some/folder also saves a screenshot of each."""
import datetime as dt
import os
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reminders.models import Reminder
from tests import factories
from tests.auth import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("SHOTS_DIR")
CHANGELISTS = {
    "participants": "admin:participants_participant_changelist",
    "sessions": "admin:iop_sessions_therapysession_changelist",
    "attendance": "admin:iop_sessions_attendance_changelist",
    "reminders": "admin:reminders_reminder_changelist",
}


@pytest.fixture
def busy_clinic(site, clinician):
    """Long names, long titles and every column filled, as a real clinic's lists are."""
    track = factories.TrackFactory(site=site, name="Evening — Mon/Wed/Thu 6–9 pm (rolling)")
    now = timezone.now()
    for i in range(4):
        person = factories.ParticipantFactory(
            home_site=site, first_name="Maximiliana-Josephine", last_name=f"Vandenberghe-{i}",
            primary_clinician=clinician, record_number=f"MRN-2026-000{i}-LONG")
        enrollment = factories.EnrollmentFactory(participant=person, track=track)
        starts = now + dt.timedelta(days=i)
        session = factories.TherapySessionFactory(
            track=track, site=site, title="Relapse prevention and coping skills workshop",
            starts_at=starts, ends_at=starts + dt.timedelta(hours=3), facilitator=clinician,
            room=factories.RoomFactory(site=site, name=f"Large group room {i}"))
        factories.AttendanceFactory(session=session, participant=person, enrollment=enrollment,
                                    status="late", minutes_attended=150, marked_by=clinician,
                                    marked_at=now)
        Reminder.objects.create(
            participant=person, site=site, visit_date=starts.date(), kind="day_before",
            channel="email", status="failed", reason="permanent_error", attempts=3,
            due_at=starts - dt.timedelta(days=1), send_before=starts)


def test_the_busiest_changelists_fit_1280_px(chromium, live_server, admin_user, busy_clinic):
    client = sign_in(Client(), admin_user)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    too_wide = {}
    for name, url_name in CHANGELISTS.items():
        page.goto(live_server.url + reverse(url_name))
        page.locator("#result_list").wait_for()
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / f"admin-{name}-1280.png"), full_page=True)
        widths = page.evaluate("""() => ({
            page: document.documentElement.scrollWidth,
            view: document.documentElement.clientWidth,
            table: document.querySelector('#result_list').scrollWidth,
            box: document.querySelector('#changelist .results').clientWidth})""")
        if widths["page"] > widths["view"] or widths["table"] > widths["box"]:
            too_wide[name] = widths
    context.close()
    assert not too_wide, too_wide
