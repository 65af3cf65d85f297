"""axe-core in real Chromium: every page each persona reaches, at 1280, 768 and 360 px.

axe-core comes from npm (pinned in package.json, installed by `make install`); it is handed to
the page with `page.evaluate`, which the page's Content-Security-Policy does not govern. A test
fails on any critical or serious violation and prints each one: page, width, rule, the elements.

One browser for the module and one page per persona; the viewport changes between widths.
"""
import datetime as dt
import json
import os
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_otp.plugins.otp_totp.models import TOTPDevice
from tests import factories
from tests.auth import sign_in
from tests.conftest import _service_missing
from tests.security.test_access_matrix import build_world, slot_a

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 768, 360)
FAILING = {"critical", "serious"}
# A11Y_SHOTS=1 also saves a full-page screenshot of each page at each width, for people to look at.
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "a11y"


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.exists():
        _service_missing("axe-core is not installed: run `make install` (needs npm)")
    return AXE.read_text()


def axe_violations(page, axe_source) -> list[dict]:
    """Violations of the page as it stands, after injecting axe-core once per document; plus
    WCAG 1.4.10 Reflow, which axe does not check: a page wider than the window makes a phone
    scroll sideways (a wide table scrolls inside its own box instead), reported as serious."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    violations = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '),
                                      summary: n.failureSummary}))}));
    }""")
    window, wide = page.evaluate(
        "[window.innerWidth, document.documentElement.scrollWidth]")
    if wide > window:
        violations.append({"id": "reflow", "impact": "serious", "nodes": [],
                           "help": f"The page is {wide} px wide in a {window} px window, so it "
                                   "scrolls sideways (WCAG 1.4.10 Reflow)"})
    return violations


def at_width(page, width: int) -> None:
    """The page relaid out at `width`: the viewport changed, then two frames, so the page's
    resize handler (app.js: a table that now scrolls sideways becomes a focusable region) has
    run before axe looks."""
    page.set_viewport_size({"width": width, "height": 900})
    page.evaluate("() => new Promise(done => requestAnimationFrame("
                  "() => requestAnimationFrame(done)))")


def check_pages(page, axe_source, base_url: str, urls: dict[str, str], prefix: str = ""
                ) -> list[str]:
    """Every page at every width; a line per failing rule and page, with up to 3 elements.
    Each page is loaded once, at the first width, and relaid out at the others: the layout
    at each width is what the widths test (media queries and the resize handler apply to the
    page as it stands), and a load per width made these the suite's slowest tests."""
    problems = []
    for name, url in urls.items():
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        response = page.goto(base_url + url)
        # The styled error pages are pages too: "not-found" must answer 404, not 500.
        expected = (404,) if name == "not-found" else (200, 410)
        assert response is not None and response.status in expected, f"{name} {url}: {response}"
        for width in WIDTHS:
            at_width(page, width)
            if os.environ.get("A11Y_SHOTS"):
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / f"{prefix}{name}-{width}.png"), full_page=True)
            for violation in axe_violations(page, axe_source):
                if violation["impact"] not in FAILING:
                    continue
                nodes = "; ".join(f"{n['target']} ({n['summary'].splitlines()[-1].strip()})"
                                  for n in violation["nodes"][:3])
                problems.append(f"{name} {url} @{width}px: {violation['impact']} "
                                f"{violation['id']} — {violation['help']}: {nodes}")
    return problems


def assert_none(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} critical or serious axe violations:\n" + "\n".join(
        problems)


def browser_page(chromium, base_url: str, client: Client | None = None):
    context = chromium.new_context()
    if client is not None and "sessionid" in client.cookies:
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": base_url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def world(db):
    """The access matrix's clinic, plus a group session today so Today and rosters have rows."""
    world = build_world()
    site = world.site_a
    today = timezone.now().astimezone(site.zone).date()
    starts = dt.datetime.combine(today, dt.time(18, 0), tzinfo=site.zone)
    world.today_session = factories.TherapySessionFactory(
        track=world.track_a, site=site, starts_at=starts.astimezone(dt.UTC),
        ends_at=(starts + dt.timedelta(hours=3)).astimezone(dt.UTC),
        facilitator=world.personas["clinician"])
    factories.AttendanceFactory(session=world.today_session, participant=world.participant_a,
                                enrollment=world.enrollment_a)
    return world


def staff_urls(w, persona: str) -> dict[str, str]:
    code = w.participant_a.code
    urls = {
        "today": reverse("home"),
        "calendar": reverse("calendar"),
        "participants": reverse("participant_search"),
        "participants-found": reverse("participant_search") + "?q=" + w.participant_a.last_name,
        "chart": reverse("participant_chart", args=[code]),
        "followups": reverse("followup_list"),
        "followup": reverse("followup_detail", args=[w.followup_a.pk]),
        "roster": reverse("roster", args=[w.today_session.pk]),
        "track": reverse("track_detail", args=[w.track_a.pk]),
        "personal-session": reverse("personal_session_new", args=[code]),
        "make-up": reverse("makeup_book", args=[w.attendance_a.pk]),
        "cancel-session": reverse("session_cancel", args=[w.session_a.pk]),
        "change-session": reverse("session_change", args=[w.session_a.pk]),
        "not-found": "/participants/00000000-0000-0000-0000-000000000000/",
        "two-factor-setup": reverse("two_factor_setup"),
    }
    urls |= {"reports": reverse("report_index"), "report-census": reverse("report_census"),
             "review-packet": reverse("review_packet", args=[code]),
             "authorizations-ending": reverse("authorizations_expiring")}
    if persona in ("director", "clinician"):
        urls["excuse"] = reverse("excuse_review", args=[w.excuse_a.code])
        urls |= {name: reverse(f"report_{name.split('-')[1].replace('-', '_')}")
                 for name in ("report-attendance", "report-billing")}
    if persona in ("director", "front_desk"):
        urls |= {
            "intake": reverse("participant_intake"),
            "edit": reverse("participant_edit", args=[code]),
            "hold": reverse("enrollment_hold", args=[w.enrollment_a.pk]),
            "authorization-new": reverse("authorization_new", args=[w.enrollment_a.pk]),
            "authorization-edit": reverse("authorization_edit", args=[w.authorization_a.pk]),
            "payer": reverse("coverage_edit", args=[w.enrollment_a.pk]),
        }
    if persona == "director":
        urls |= {
            "audit-trail": reverse("participant_audit_trail", args=[code]),
            "discharge": reverse("enrollment_discharge", args=[w.enrollment_a.pk]),
            "programs": reverse("program_list"),
            "program-new": reverse("program_create"),
            "program-edit": reverse("program_edit", args=[w.track_a.program_id]),
            "track-new": reverse("track_create"),
            "track-edit": reverse("track_edit", args=[w.track_a.pk]),
            "schedule": reverse("schedule_generate", args=[w.track_a.pk]),
            "timetable": reverse("track_timetable", args=[w.track_a.pk]),
            "slot-add": reverse("slot_add", args=[w.track_a.pk]),
            "slot-change": reverse("slot_change", args=[w.track_a.pk, slot_a(w)]),
            "slot-remove": reverse("slot_remove", args=[w.track_a.pk, slot_a(w)]),
            "closures": reverse("closure_list"),
            "recovery-codes": reverse("two_factor_recovery_codes"),
        }
        del urls["two-factor-setup"]  # a director has a device already
    return urls


@pytest.mark.parametrize("persona", ["director", "clinician", "front_desk"])
def test_it_finds_no_serious_violation_on_the_staff_pages(chromium, axe_source, live_server,
                                                          world, persona):
    page = browser_page(chromium, live_server.url, sign_in(Client(), world.personas[persona]))
    assert_none(check_pages(page, axe_source, live_server.url, staff_urls(world, persona),
                            prefix=f"{persona}-"))
    page.context.close()


def portal_urls(w) -> dict[str, str]:
    """The portal pages participant_a reaches, with a seat offered to them on another track so
    the offer page shows its card and buttons."""
    other_track = factories.TrackFactory(site=w.site_a, mode="rolling")
    factories.EnrollmentFactory(participant=w.participant_a, track=other_track,
                                status="waitlisted", waitlisted_at=timezone.now(),
                                seat_offered_at=timezone.now())
    return {
        "home": reverse("portal-home"),
        "progress": reverse("portal-progress"),
        "reminders": reverse("portal-reminders"),
        "calendar": reverse("portal-calendar"),
        "excuse": reverse("portal-excuse", args=[w.today_session.pk]),
        "offer": reverse("portal-offer"),
    }


def test_it_finds_no_serious_violation_on_the_portal(chromium, axe_source, live_server, world):
    page = browser_page(chromium, live_server.url,
                        sign_in(Client(), world.personas["participant_a"]))
    urls = portal_urls(world)
    assert_none(check_pages(page, axe_source, live_server.url, urls, prefix="portal-"))
    page.context.close()


def offered_link(world) -> str:
    """A seat offered now to someone without a login at site A, and their one-time link."""
    from participants.portal_accounts import seat_offer_link_mint

    enrollment = factories.EnrollmentFactory(
        participant=factories.ParticipantFactory(home_site=world.site_a), track=world.track_a,
        status="waitlisted", waitlisted_at=timezone.now(), seat_offered_at=timezone.now())
    token = seat_offer_link_mint(enrollment_id=enrollment.pk,
                                 participant_id=enrollment.participant_id,
                                 expires_at=timezone.now() + dt.timedelta(hours=48)).token
    return reverse("portal-offer-link", args=[token])


def test_it_finds_no_serious_violation_on_the_one_time_offer_pages(chromium, axe_source,
                                                                   live_server, world):
    page = browser_page(chromium, live_server.url)
    urls = {"offer-link": offered_link(world),
            "offer-link-invalid": reverse("portal-offer-link", args=["not-a-real-token"])}
    problems = check_pages(page, axe_source, live_server.url, urls, prefix="portal-")
    # The page after answering (a POST): a fresh offer at each width.
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + offered_link(world))
        page.get_by_role("button", name="No, pass it on").click()
        page.get_by_role("heading", name="Thank you").wait_for()
        if os.environ.get("A11Y_SHOTS"):
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"portal-offer-answered-{width}.png"), full_page=True)
        problems += [f"offer-answered @{width}px: {v['impact']} {v['id']}"
                     for v in axe_violations(page, axe_source) if v["impact"] in FAILING]
    page.context.close()
    assert_none(problems)


def test_it_finds_no_serious_violation_in_the_closure_preview(chromium, axe_source,
                                                               live_server, world):
    """The closure page after "Close the site that day" on a day with a session: what it would
    cancel and how many people would be told, before the confirmation (a POST)."""
    page = browser_page(chromium, live_server.url,
                        sign_in(Client(), world.personas["director"]))
    day = world.today_session.starts_at.astimezone(world.site_a.zone).date()
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + reverse("closure_list"))
        page.locator("#id_site").select_option(str(world.site_a.pk))
        page.locator("#id_date").fill(day.isoformat())
        page.get_by_role("button", name="Close the site that day").click()
        page.locator("#closure-preview").wait_for()
        if os.environ.get("A11Y_SHOTS"):
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"director-closure-preview-{width}.png"),
                            full_page=True)
        problems += [f"closure-preview @{width}px: {v['impact']} {v['id']}"
                     for v in axe_violations(page, axe_source) if v["impact"] in FAILING]
    page.context.close()
    assert_none(problems)


def test_it_finds_no_serious_violation_on_sign_in_pages(chromium, axe_source, live_server,
                                                        world):
    anonymous = browser_page(chromium, live_server.url)
    urls = {
        "sign-in": reverse("login"),
        "portal-link-request": reverse("portal-sign-in-link"),
        "portal-invitation": reverse("portal-invitation", args=[world.invitation_token]),
        "portal-link-invalid": reverse("portal-sign-in", args=["not-a-real-token"]),
    }
    problems = check_pages(anonymous, axe_source, live_server.url, urls)
    anonymous.context.close()

    # A director with an authenticator app, signed in with a password only: the code page.
    director = world.personas["director"]
    TOTPDevice.objects.create(user=director, name="Authenticator app", confirmed=True)
    half = Client()
    half.force_login(director)
    page = browser_page(chromium, live_server.url, half)
    problems += check_pages(page, axe_source, live_server.url,
                            {"two-factor-verify": reverse("two_factor_verify")})
    page.context.close()
    assert_none(problems)


def test_it_finds_no_serious_violation_on_our_admin_pages(chromium, axe_source, live_server,
                                                          world):
    admin = factories.UserFactory(username="admin", is_staff=True, is_superuser=True)
    page = browser_page(chromium, live_server.url, sign_in(Client(), admin))
    staff = world.personas["clinician"]
    urls = {
        "index": reverse("admin:index"),
        "users": reverse("admin:accounts_user_changelist"),
        "user": reverse("admin:accounts_user_change", args=[staff.pk]),
        "participants": reverse("admin:participants_participant_changelist"),
        "participant": reverse("admin:participants_participant_change",
                               args=[world.participant_a.pk]),
        "sessions": reverse("admin:iop_sessions_therapysession_changelist"),
        "session": reverse("admin:iop_sessions_therapysession_change",
                           args=[world.today_session.pk]),
        "reminders": reverse("admin:reminders_reminder_changelist"),
        "audit": reverse("admin:auditlog_logentry_changelist"),
    }
    assert_none(check_pages(page, axe_source, live_server.url, urls, prefix="admin-"))
    page.context.close()


def test_it_reports_a_violation_when_there_is_one(chromium, axe_source, live_server, world):
    """The check itself works: a form control without a label is caught."""
    page = browser_page(chromium, live_server.url)
    page.goto(live_server.url + reverse("login"))
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', "
                  "'<select id=nolabel><option>x</option></select>')")
    rules = {v["id"]: v["impact"] for v in axe_violations(page, axe_source)}
    page.context.close()
    assert rules.get("select-name") == "critical", json.dumps(rules)


def test_it_reports_a_page_that_scrolls_sideways_only_on_a_phone(chromium, axe_source,
                                                                   live_server, world):
    """Each page is loaded once and relaid out at each width: a rule that applies only below
    500 px (a box wider than a phone) is still caught at 360 px, and only there."""
    # The rule comes as a <style> the page's Content-Security-Policy would refuse.
    page = chromium.new_context(bypass_csp=True).new_page()
    page.add_init_script("""document.addEventListener('DOMContentLoaded', () => {
        const style = document.createElement('style');
        style.textContent = '@media (max-width: 500px) { main { min-width: 640px } }';
        document.head.append(style); });""")
    problems = check_pages(page, axe_source, live_server.url, {"sign-in": reverse("login")})
    page.context.close()
    assert [p.split(":")[0] for p in problems] == [
        f"sign-in {reverse('login')} @360px"], problems



def test_it_finds_no_serious_violation_on_the_census_import(chromium, axe_source, live_server,
                                                             world, eager_celery):
    """The upload page and two dry runs: one with errors in its rows, one ready to import."""
    from onboarding.services import census_upload
    from tests.onboarding.conftest import census_csv, participant_row

    director = world.personas["director"]
    track, start = world.track_a.name, world.track_a.start_date.isoformat()
    with_errors = census_upload(file_name="census.csv", by=director, content=census_csv(
        "participants", [participant_row("X-1", track=track, admission_date=start),
                         participant_row("X-2", track=track, admission_date="soon",
                                         mobile_phone="1")]))
    clean = census_upload(file_name="clean.csv", by=director, content=census_csv(
        "participants", [participant_row("Y-1", track=track, admission_date=start)]))
    page = browser_page(chromium, live_server.url, sign_in(Client(), director))
    assert_none(check_pages(page, axe_source, live_server.url, {
        "census-import": reverse("census_import"),
        "census-dry-run-errors": with_errors.get_absolute_url(),
        "census-dry-run-clean": clean.get_absolute_url(),
    }, prefix="director-"))
    page.context.close()


def test_it_finds_no_serious_violation_in_the_directors_outbox_warning(chromium, axe_source,
                                                                         live_server, world):
    """Today with every sign of a stalled outbox: no sweep on record, a reminder due 10 minutes
    ago, and more failures in the last hour than the limit."""
    from reminders.models import Reminder

    now = timezone.now()
    site = world.site_a
    for index in range(12):
        participant = factories.ParticipantFactory(home_site=site)
        Reminder.objects.create(
            participant=participant, site=site, visit_date=now.date(), kind="same_day",
            channel="sms", status="failed" if index else "pending",
            due_at=now - dt.timedelta(minutes=10), send_before=now + dt.timedelta(hours=2))
    page = browser_page(chromium, live_server.url, sign_in(Client(), world.personas["director"]))
    page.goto(live_server.url + reverse("home"))
    assert page.locator("#outbox-alert .outbox-sign").count() == 3
    assert_none(check_pages(page, axe_source, live_server.url, {"today-outbox": reverse("home")},
                            prefix="director-"))
    page.context.close()


def test_it_finds_no_serious_violation_in_the_authorization_warnings(chromium, axe_source,
                                                                     live_server, world):
    """The pages a POST answers with: a make-up and a resume past the authorization, each with
    its figures and a "… anyway" button, at every width."""
    from authorizations.models import Authorization, Payer
    from sessions.services.enrollment import enrollment_hold

    site, track = world.site_a, world.track_a
    today = timezone.now().astimezone(site.zone).date()
    group = factories.SessionTypeFactory(name="Process group", service_code="H0015")
    person = factories.ParticipantFactory(home_site=site, first_name="Robin", last_name="Vale")
    enrollment = factories.EnrollmentFactory(
        participant=person, track=track, admission_date=today - dt.timedelta(days=14),
        planned_end_date=today + dt.timedelta(days=28))
    Authorization.objects.create(
        enrollment=enrollment, payer=Payer.objects.create(name="Lakeside (invented)"),
        number="AX-1", service_code="H0015", units_authorized=10,
        start_date=today - dt.timedelta(days=14), end_date=today, status="approved")

    def group_session(on_track, day):
        starts = dt.datetime.combine(day, dt.time(18, 0), tzinfo=site.zone)
        return factories.TherapySessionFactory(
            track=on_track, site=site, session_type=group, title="Process group",
            starts_at=starts.astimezone(dt.UTC),
            ends_at=(starts + dt.timedelta(hours=3)).astimezone(dt.UTC))

    missed = factories.AttendanceFactory(
        session=group_session(track, today - dt.timedelta(days=2)), participant=person,
        enrollment=enrollment, status="absent")
    evening = factories.TrackFactory(site=site, program=track.program, name="Evening")
    host = group_session(evening, today + dt.timedelta(days=2))
    group_session(track, today + dt.timedelta(days=3))

    page = browser_page(chromium, live_server.url, sign_in(Client(), world.personas["front_desk"]))
    problems = []

    def check_here(name):
        for width in WIDTHS:
            at_width(page, width)
            if os.environ.get("A11Y_SHOTS"):
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / f"front_desk-{name}-{width}.png"),
                                full_page=True)
            problems.extend(f"{name} @{width}px: {v['impact']} {v['id']} — {v['help']}: "
                            + "; ".join(n["target"] for n in v["nodes"][:3])
                            for v in axe_violations(page, axe_source)
                            if v["impact"] in FAILING)

    page.goto(live_server.url + reverse("makeup_book", args=[missed.pk]))
    page.locator(".makeup-option").filter(has_text="Evening").get_by_role("button").click()
    page.locator("#authorization-warnings").wait_for()
    assert "fall outside every approved H0015 authorization" in page.inner_text("main")
    check_here("make-up-warning")
    assert not host.attendances.exists()
    # Booked anyway: the chart lists it as a make-up (with its Cancel button) and the miss as
    # made up.
    page.get_by_role("button", name="Book anyway").click()
    page.get_by_text("Booked as a make-up").first.wait_for()
    assert page.get_by_role("button", name="Cancel make-up").count() == 1
    check_here("chart-with-make-up")

    enrollment_hold(enrollment=enrollment, reason="Travel", by=None)
    page.goto(live_server.url + reverse("participant_chart", args=[person.code]))
    page.get_by_role("button", name="Resume").click()
    page.get_by_role("heading", name="Resume Robin Vale in").wait_for()
    assert "past authorization Lakeside (invented) AX-1" in page.inner_text("main")
    check_here("resume-warning")
    page.context.close()
    assert_none(problems)
