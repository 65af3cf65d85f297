"""Issue 16's journey in real Chromium: front desk records an authorization, a clinician marks
attendance until Today warns that it is running out, a director opens the review packet."""
import datetime as dt
import re

import pytest
from django.urls import reverse

from authorizations.models import Authorization, Payer
from tests import factories

from .test_browser import ARTIFACTS, _shoot, _sign_in, _today_at, _wait_for_htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _page(chromium):
    context = chromium.new_context(viewport={"width": 768, "height": 1024})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    return page


def test_an_authorization_runs_low_on_today_as_attendance_is_marked(
        chromium, live_server, site, track, front_desk, clinician, director):
    track.program.authorization_alert_units = 1
    track.program.save()
    today = _today_at(site)
    group = factories.SessionTypeFactory(name="Process group", service_code="H0015",
                                         default_duration_minutes=180)
    person = factories.ParticipantFactory(home_site=site, first_name="Robin", last_name="Vale")
    enrollment = factories.EnrollmentFactory(participant=person, track=track,
                                             admission_date=today - dt.timedelta(days=7))
    yesterday, now = (dt.datetime.combine(day, dt.time(0, 0), tzinfo=site.zone)
                      for day in (today - dt.timedelta(days=1), today))
    for starts, status in ((yesterday, "present"), (now, "expected")):
        session = factories.TherapySessionFactory(
            track=track, site=site, session_type=group, title="Process group",
            facilitator=clinician, starts_at=starts.astimezone(dt.UTC),
            ends_at=(starts + dt.timedelta(hours=3)).astimezone(dt.UTC))
        attendance = factories.AttendanceFactory(session=session, participant=person,
                                                 enrollment=enrollment, status=status)
    Payer.objects.create(name="Lakeside Health Plan (invented)")

    desk = _page(chromium)
    _sign_in(desk, live_server, front_desk)
    desk.goto(live_server.url + reverse("participant_chart", args=[person.code]))
    desk.get_by_role("link", name="Record an authorization").click()
    desk.get_by_label("Payer").select_option(label="Lakeside Health Plan (invented)")
    desk.get_by_label("Authorization number").fill("PA-2044")
    desk.get_by_label("Status").select_option("approved")
    desk.get_by_label("Units authorized").fill("3")
    desk.get_by_label("First day covered").fill((today - dt.timedelta(days=7)).isoformat())
    desk.get_by_label("Last day covered").fill((today + dt.timedelta(days=30)).isoformat())
    desk.get_by_role("button", name="Save").click()
    desk.get_by_text("Authorization saved.").wait_for()
    row = desk.locator("tr.authorization-row[data-number='PA-2044']")
    assert row.locator(".units-used").inner_text() == "1"
    assert row.locator(".units-scheduled").inner_text() == "1"
    assert Authorization.objects.get().created_by == front_desk
    _shoot(desk, "authorization-chart-768.png")

    nurse = _page(chromium)
    _sign_in(nurse, live_server, clinician)
    box = nurse.locator("section[aria-labelledby='authorization-alerts-heading']")
    assert box.get_by_text("No authorization needs attention.").is_visible()
    nurse.goto(live_server.url + reverse("roster", args=[attendance.session_id]))
    _wait_for_htmx(nurse, f"#attendance-{attendance.pk} form")
    nurse.locator(f"#attendance-{attendance.pk}").get_by_role(
        "button", name="Present", exact=True).click()
    nurse.locator(f"#attendance-{attendance.pk} [data-status='present']").wait_for()
    nurse.goto(live_server.url + reverse("home"))
    alert = box.locator(".authorization-alert")
    alert.wait_for()
    assert "Robin Vale" in alert.inner_text()
    assert "1 of 3 day units left on Lakeside Health Plan (invented) PA-2044" in \
        alert.inner_text()
    _shoot(nurse, "authorization-today-768.png")

    boss = _page(chromium)
    _sign_in(boss, live_server, director)
    boss.goto(live_server.url + reverse("participant_chart", args=[person.code]))
    boss.get_by_role("link", name="Review packet").click()
    boss.get_by_role("heading", name="Utilization review: Robin Vale").wait_for()
    assert "PA-2044" in boss.locator("section[aria-labelledby='packet-auth-heading']").inner_text()
    # The button opens the browser's print dialog (where "Save as PDF" is): counted here, as
    # headless Chromium shows no dialog. An inline onclick would be refused by the CSP.
    boss.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    boss.get_by_role("button", name="Print or save as PDF").click()
    assert boss.evaluate("window.printed") == 1
    boss.emulate_media(media="print")
    assert not boss.get_by_role("button", name="Print or save as PDF").is_visible()
    _shoot(boss, "review-packet-print-768.png")
    # What "Save as PDF" makes of it: Chromium's own PDF of the print layout, one Letter page
    # for the whole planned stay's weeks and the authorization history.
    pdf = boss.pdf(format="Letter", print_background=True)
    (ARTIFACTS / "review-packet.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    assert desk.js_errors == nurse.js_errors == boss.js_errors == []


def test_front_desk_books_a_make_up_from_the_chart_and_both_pages_show_it(
        chromium, live_server, site, track, front_desk):
    today = _today_at(site)
    group = factories.SessionTypeFactory(name="Skills group", service_code="H0015")
    person = factories.ParticipantFactory(home_site=site, first_name="Sam", last_name="Reyes")
    enrollment = factories.EnrollmentFactory(participant=person, track=track,
                                             admission_date=today - dt.timedelta(days=7))

    def group_session(on_track, day, hour):
        starts = dt.datetime.combine(day, dt.time(hour, 0), tzinfo=site.zone)
        return factories.TherapySessionFactory(
            track=on_track, site=site, session_type=group, title="Skills group",
            starts_at=starts.astimezone(dt.UTC),
            ends_at=(starts + dt.timedelta(hours=3)).astimezone(dt.UTC))

    missed = factories.AttendanceFactory(
        session=group_session(track, today - dt.timedelta(days=1), 9), participant=person,
        enrollment=enrollment, status="absent")
    evening = factories.TrackFactory(site=site, program=track.program, name="Evening group")
    host = group_session(evening, today + dt.timedelta(days=2), 18)

    desk = _page(chromium)
    _sign_in(desk, live_server, front_desk)
    desk.goto(live_server.url + reverse("participant_chart", args=[person.code]))
    history = desk.locator("section[aria-labelledby='history-heading']")
    history.get_by_role("link", name="Make-up").click()
    desk.locator(".makeup-option").filter(has_text="Evening group").get_by_role(
        "button").click()
    desk.get_by_text("Booked as a make-up: Skills group.").wait_for()

    assert "made up" in history.inner_text()
    assert history.get_by_role("link", name="Make-up").count() == 0
    for width in (360, 1280):
        desk.set_viewport_size({"width": width, "height": 900})
        _shoot(desk, f"makeup-chart-{width}.png")
    desk.goto(live_server.url + reverse("roster", args=[host.pk]))
    row = desk.locator("tr, li").filter(has_text="Sam Reyes").first
    assert "Make-up" in row.inner_text()
    assert host.attendances.get().makeup_for == missed
    assert desk.js_errors == []
