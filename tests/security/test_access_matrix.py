"""The access matrix: every URL the project serves, asked by every kind of visitor.

Every URL pattern in the resolver needs a line in MATRIX (admin URLs are covered by the
ADMIN rules below); a pattern without one fails `test_it_has_an_entry_for_every_url_pattern`
with its name, so a new page cannot ship without deciding who may open it.

Adding a URL is one line:

    "name": E("200 200 200 404 403 403 login", lambda w: [w.participant_a.code]),

The seven answers are, in order, for the PERSONAS: the director, clinician and front desk of
site A, a clinician of site B, participant A, participant B, and an anonymous visitor.
Answers: a status code ("200", "403", "404", "405", "410"), or where a redirect goes: "login"
(our sign-in page), "admin" (the admin's sign-in page), "home" (the staff home), "portal" (the
portal home), "setup" (two-factor enrolment), or "302" (anywhere else).

URL arguments come from the world `w` (see `World`): objects at site A (`participant_a`,
`session_a`, `track_a`, `followup_a`, `excuse_a`, ...) are what the matrix asks about, so the
site-B clinician shows that another site's objects answer 404, and participant B that another
participant's answer 404.

Requests are GETs unless the entry says method="POST". A POST carries no form data; unless its
answer is marked "*" (the POST is valid with no data and acts, e.g. sending an invitation) it
must change nothing in the clinic's data. Every request runs in a transaction that is rolled
back, so personas never see each other's effects.
"""
import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.apps import apps
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.roles import Role
from authorizations.models import Authorization, Payer
from participants.models import PortalLinkPurpose
from participants import portal_accounts as portal_services
from onboarding.models import CensusUpload
from reports.models import ReportExport
from sessions.models import Attendance, ExcusedAbsenceRequest, FollowUp
from sessions.services.expected import attendance_expect
from tests import factories
from tests.auth import sign_in

pytestmark = pytest.mark.django_db

PERSONAS = ("director", "clinician", "front_desk", "clinician_b", "participant_a",
            "participant_b", "anonymous")
PROGRAM_PERSONAS = ("director_no_site", "director_b")

NY = zoneinfo.ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 11, 12, 0, tzinfo=NY)


@dataclass(frozen=True)
class E:
    """One row of the matrix: the seven answers, how to build the URL's arguments, the method."""

    answers: str
    args: Callable[["World"], list[Any]] = lambda w: []
    method: str = "GET"
    expected: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        expected = tuple(self.answers.split())
        assert len(expected) in (len(PERSONAS), len(PROGRAM_PERSONAS)), (
            f"{self.answers!r} needs {len(PERSONAS)} answers ({len(PROGRAM_PERSONAS)} in "
            "PROGRAM_MATRIX)")
        object.__setattr__(self, "expected", expected)


_S = "200 200 200"  # the three staff of site A
# A participant who opens a staff page is sent to the portal ("portal"), not shown a bare 403.
MATRIX: dict[str, E] = {
    "healthz": E("200 200 200 200 200 200 200"),
    # No METRICS_TOKEN in the test settings: the page does not exist, for anyone signed in or
    # not (a scraper's token is the only way in; tests/test_metrics.py).
    "metrics": E("404 404 404 404 404 404 404"),
    "favicon": E("301 301 301 301 301 301 301"),
    "clinic_css": E("200 200 200 200 200 200 200"),
    # Sign-in pages: a signed-in visitor is sent to their own part.
    "login": E("home home home home portal portal 200"),
    "logout": E("405 405 405 405 405 405 405"),
    "webhooks:sms_inbound": E("403 403 403 403 403 403 403", method="POST"),
    "two_factor_setup": E("200 200 200 200 200 200 login"),
    "two_factor_verify": E("200 setup setup setup setup setup login"),
    "two_factor_recovery_codes": E("200 200 200 200 200 200 login"),
    # Staff pages.
    "home": E(f"{_S} 200 portal portal login"),
    "calendar": E(f"{_S} 200 portal portal login"),
    "followup_list": E(f"{_S} 200 portal portal login"),
    "participant_search": E(f"{_S} 200 portal portal login"),
    "participant_chart": E(f"{_S} 404 portal portal login", lambda w: [w.participant_a.code]),
    "participant_audit_trail": E("200 403 403 403 portal portal login",
                                 lambda w: [w.participant_a.code]),
    "followup_detail": E(f"{_S} 404 portal portal login", lambda w: [w.followup_a.pk]),
    "roster": E(f"{_S} 404 portal portal login", lambda w: [w.session_a.pk]),
    # The day's sign-in sheets at one of my sites: every staff member has a site of their own.
    "sign_in_sheets": E(f"{_S} 200 portal portal login"),
    "attendance_mark": E("302 302 302 404 portal portal login",
                         lambda w: [w.session_a.pk, w.attendance_a.pk], method="POST"),
    "roster_rest_present": E("302* 302* 302* 404 portal portal login", lambda w: [w.session_a.pk],
                             method="POST"),
    "program_list": E("200 403 403 403 portal portal login"),
    "program_create": E("200 403 403 403 portal portal login"),
    "program_edit": E("200 403 403 403 portal portal login", lambda w: [w.track_a.program_id]),
    "track_create": E("200 403 403 403 portal portal login"),
    "track_edit": E("200 403 403 403 portal portal login", lambda w: [w.track_a.pk]),
    # The track page shows seats and the waitlist, where front desk admits people.
    "track_detail": E(f"{_S} 404 portal portal login", lambda w: [w.track_a.pk]),
    "schedule_generate": E("200 403 403 403 portal portal login", lambda w: [w.track_a.pk]),
    # The schedule builder: a track's weekly timetable and a small page per slot.
    "track_timetable": E("200 403 403 403 portal portal login", lambda w: [w.track_a.pk]),
    "slot_add": E("200 403 403 403 portal portal login", lambda w: [w.track_a.pk]),
    "slot_change": E("200 403 403 403 portal portal login", lambda w: [w.track_a.pk, slot_a(w)]),
    "slot_remove": E("200 403 403 403 portal portal login", lambda w: [w.track_a.pk, slot_a(w)]),
    "closure_list": E("200 403 403 403 portal portal login"),
    # Intake, enrollment and the participant's record: front desk and directors.
    "participant_intake": E("200 403 200 403 portal portal login"),
    "participant_edit": E("200 403 200 403 portal portal login", lambda w: [w.participant_a.code]),
    "participant_consent": E("302 403 302 403 portal portal login", lambda w: [w.participant_a.code],
                             method="POST"),
    "personal_session_new": E(f"{_S} 404 portal portal login", lambda w: [w.participant_a.code]),
    "session_cancel": E(f"{_S} 404 portal portal login", lambda w: [w.session_a.pk]),
    "session_change": E(f"{_S} 404 portal portal login", lambda w: [w.session_a.pk]),
    "waitlist_admit": E("302 403 302 403 portal portal login", lambda w: [w.enrollment_a.pk],
                        method="POST"),
    "waitlist_pass": E("302 403 302 403 portal portal login", lambda w: [w.enrollment_a.pk],
                       method="POST"),
    "enrollment_hold": E("200 403 200 403 portal portal login", lambda w: [w.enrollment_a.pk]),
    "enrollment_resume": E("302 403 302 403 portal portal login", lambda w: [w.enrollment_a.pk],
                           method="POST"),
    "enrollment_discharge": E("200 403 403 404 portal portal login", lambda w: [w.enrollment_a.pk]),
    # Payer authorizations: directors and front desk edit, clinicians read (chart, packet).
    "authorization_new": E("200 403 200 403 portal portal login", lambda w: [w.enrollment_a.pk]),
    "authorization_edit": E("200 403 200 403 portal portal login",
                            lambda w: [w.authorization_a.pk]),
    "coverage_edit": E("200 403 200 403 portal portal login", lambda w: [w.enrollment_a.pk]),
    "review_packet": E(f"{_S} 404 portal portal login", lambda w: [w.participant_a.code]),
    # Family contacts and disclosure consents: directors and front desk edit, every staff
    # role reads them on the chart. Remove and revoke need no form data ("*").
    "contact_new": E("200 403 200 403 portal portal login", lambda w: [w.participant_a.code]),
    "contact_edit": E("200 403 200 403 portal portal login",
                      lambda w: [w.participant_a.code, contact_a(w)]),
    "contact_remove": E("302* 403 302* 403 portal portal login",
                        lambda w: [w.participant_a.code, contact_a(w)], method="POST"),
    # A family contact's attendance at a family session: whoever marks attendance. With no
    # status posted nothing changes.
    "contact_attendance_mark": E("302 302 302 404 portal portal login",
                                 lambda w: [family_session_a(w), contact_a(w)], method="POST"),
    "disclosure_new": E("200 403 200 403 portal portal login",
                        lambda w: [w.participant_a.code, contact_a(w)]),
    "disclosure_revoke": E("302* 403 302* 403 portal portal login",
                           lambda w: [w.participant_a.code, disclosure_a(w)], method="POST"),
    "authorizations_expiring": E(f"{_S} 200 portal portal login"),
    "makeup_book": E(f"{_S} 404 portal portal login", lambda w: [w.attendance_a.pk]),
    # Taking back a make-up: attendance A is none, so staff are told so (and nothing changes).
    "makeup_cancel": E("302 302 302 404 portal portal login", lambda w: [w.attendance_a.pk],
                       method="POST"),
    # Reports: front desk sees census and access only; clinicians their caseload's figures;
    # the site-B clinician sees site B's (empty) figures, never site A's.
    "report_index": E(f"{_S} 200 portal portal login"),
    "report_census": E(f"{_S} 200 portal portal login"),
    "report_access": E(f"{_S} 200 portal portal login"),
    "report_attendance": E("200 200 403 200 portal portal login"),
    "report_outcomes": E("200 200 403 200 portal portal login"),
    "report_billing": E("200 200 403 200 portal portal login"),
    "report_staff_load": E("200 200 403 200 portal portal login"),
    "report_census_export": E(f"{_S} 200 portal portal login", lambda w: ["csv"]),
    "report_access_export": E(f"{_S} 200 portal portal login", lambda w: ["xlsx"]),
    "report_participants_export": E(f"{_S} 200 portal portal login", lambda w: ["csv"]),
    "report_attendance_export": E("200 200 403 200 portal portal login", lambda w: ["csv"]),
    "report_outcomes_export": E("200 200 403 200 portal portal login", lambda w: ["xlsx"]),
    "report_billing_export": E("200 200 403 200 portal portal login", lambda w: ["csv"]),
    "report_staff_load_export": E("200 200 403 200 portal portal login", lambda w: ["xlsx"]),
    # A background export with no data uses the default filters and records the request.
    "report_census_export_start": E("302* 302* 302* 302* portal portal login", lambda w: ["csv"],
                                    method="POST"),
    "report_access_export_start": E("302* 302* 302* 302* portal portal login", lambda w: ["csv"],
                                    method="POST"),
    "report_participants_export_start": E("302* 302* 302* 302* portal portal login",
                                          lambda w: ["xlsx"], method="POST"),
    "report_attendance_export_start": E("302* 302* 403 302* portal portal login", lambda w: ["csv"],
                                        method="POST"),
    "report_outcomes_export_start": E("302* 302* 403 302* portal portal login", lambda w: ["csv"],
                                      method="POST"),
    "report_billing_export_start": E("302* 302* 403 302* portal portal login", lambda w: ["xlsx"],
                                     method="POST"),
    "report_staff_load_export_start": E("302* 302* 403 302* portal portal login", lambda w: ["csv"],
                                        method="POST"),
    # An export belongs to the director who asked for it; anyone else gets 404.
    "report_export_status": E("200 404 404 404 portal portal login", lambda w: [w.export_a.code]),
    "report_export_download": E("302 404 404 404 portal portal login", lambda w: [w.export_a.code]),
    # The census import is the director's; an upload is its uploader's (another director: 404,
    # tests/onboarding/test_pages.py). A confirmation with no hash imports nothing.
    "census_import": E("200 403 403 403 portal portal login"),
    "census_template": E("200 403 403 403 portal portal login", lambda w: ["census.xlsx"]),
    "census_review": E("200 403 403 403 portal portal login", lambda w: [w.census_a.code]),
    "census_commit": E("302 403 403 403 portal portal login", lambda w: [w.census_a.code],
                       method="POST"),
    # Portal: a participant's own pages; staff are sent home.
    "portal-home": E("home home home home 200 200 login"),
    "portal-progress": E("home home home home 200 200 login"),
    "portal-reminders": E("home home home home 200 200 login"),
    "portal-calendar": E("home home home home 200 200 login"),
    "portal-my-record": E("home home home home 200 200 login"),
    "portal-my-record-readable": E("home home home home 200 200 login"),
    "portal-excuse": E("home home home home 200 404 login", lambda w: [w.session_a.pk]),
    # Their own open seat offers (none here: the page says so).
    "portal-offer": E("home home home home 200 200 login"),
    # Links that carry their own secret answer whoever holds them.
    "portal-feed": E("200 200 200 200 200 200 200", lambda w: [w.feed_token]),
    "portal-invitation": E("200 200 200 200 200 200 200", lambda w: [w.invitation_token]),
    "portal-sign-in-link": E("200 200 200 200 200 200 200"),
    "portal-sign-in": E("200 200 200 200 200 200 200", lambda w: [w.sign_in_token]),
    "portal-offer-link": E("200 200 200 200 200 200 200", lambda w: [w.offer_token]),
    # Portal actions for staff.
    "portal_invite": E("302* 302* 302* 404 portal portal login", lambda w: [w.participant_a.code],
                       method="POST"),
    "excuse_review": E("200 200 403 404 portal portal login", lambda w: [w.excuse_a.code]),
    "excuse_approve": E("302* 302* 403 404 portal portal login", lambda w: [w.excuse_a.code],
                               method="POST"),
    "excuse_decline": E("302* 302* 403 404 portal portal login", lambda w: [w.excuse_a.code],
                               method="POST"),
}

# Program URLs, asked again by two more directors: one with no site, one of site B. A program
# belongs to the sites that offer it or run its tracks, so site A's program and track answer
# them 404 (its edit page refuses a POST as well); lists and new-item forms show their own.
PROGRAM_MATRIX: dict[str, E] = {
    "program_list": E("200 200"),
    "program_create": E("200 200"),
    "program_edit": E("404 404", lambda w: [w.track_a.program_id]),
    "program_edit POST": E("404 404", lambda w: [w.track_a.program_id], method="POST"),
    "track_create": E("200 200"),
    "track_edit": E("404 404", lambda w: [w.track_a.pk]),
    "track_detail": E("404 404", lambda w: [w.track_a.pk]),
    "schedule_generate": E("404 404", lambda w: [w.track_a.pk]),
    "track_timetable": E("404 404", lambda w: [w.track_a.pk]),
    "slot_add": E("404 404", lambda w: [w.track_a.pk]),
    "slot_add POST": E("404 404", lambda w: [w.track_a.pk], method="POST"),
    "slot_change": E("404 404", lambda w: [w.track_a.pk, slot_a(w)]),
    "slot_change POST": E("404 404", lambda w: [w.track_a.pk, slot_a(w)], method="POST"),
    "slot_remove": E("404 404", lambda w: [w.track_a.pk, slot_a(w)]),
    "slot_remove POST": E("404 404", lambda w: [w.track_a.pk, slot_a(w)], method="POST"),
    "closure_list": E("200 200"),
}

# Nobody above is an admin user (is_staff), so the admin sends everyone to its sign-in page.
ADMIN_DEFAULT = E("admin admin admin admin admin admin admin")
ADMIN_EXCEPTIONS: dict[str, E] = {
    "admin:login": E("200 200 200 200 200 200 200"),
    # Signing out of an admin one never entered: back to the admin index, i.e. its sign-in.
    "admin:logout": E("302 302 302 302 302 302 302"),
}
# Sample values for the arguments of admin URLs: the answer comes before any lookup.
ADMIN_ARGUMENTS = {"object_id": "1", "content_type_id": "1", "app_label": "participants",
                   "pk": "1", "id": "1", "url": "no-such-page/"}


# --- The URL patterns -----------------------------------------------------------------------

@dataclass(frozen=True)
class Pattern:
    key: str  # "namespace:name", or the route when the pattern has no name
    route: str
    name: str | None
    arguments: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return self.route.startswith("admin/")


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            name = f"{namespace}{pattern.name}" if pattern.name else None
            arguments = tuple(pattern.pattern.regex.groupindex)
            yield Pattern(key=name or route, route=route, name=name, arguments=arguments)


def all_patterns() -> list[Pattern]:
    return list(_walk(get_resolver().url_patterns))


def admin_url(pattern: Pattern) -> str:
    kwargs = {arg: ADMIN_ARGUMENTS[arg] for arg in pattern.arguments}
    if pattern.name:
        return reverse(pattern.name, kwargs=kwargs)
    # Unnamed admin patterns (the catch-all, a model's bare "<object_id>/" redirect).
    path = pattern.route.replace("^", "").replace("$", "")
    for arg, value in kwargs.items():
        for form in (f"<path:{arg}>", f"<int:{arg}>", f"(?P<{arg}>.*)"):
            path = path.replace(form, value)
    return "/" + path


def admin_entry(pattern: Pattern) -> E:
    return ADMIN_EXCEPTIONS.get(pattern.key, ADMIN_DEFAULT)


# --- The world the matrix asks about ----------------------------------------------------------

@dataclass
class World:
    site_a: Any
    site_b: Any
    personas: dict[str, Any]
    participant_a: Any
    participant_b: Any
    track_a: Any
    session_a: Any
    attendance_a: Any
    followup_a: Any
    excuse_a: Any
    feed_token: str
    invitation_token: str
    sign_in_token: str
    offer_token: str
    enrollment_a: Any
    export_a: Any
    census_a: Any
    authorization_a: Any


def slot_a(w: "World") -> int:
    """A line of track A's timetable, made the first time a URL needs one."""
    if getattr(w, "slot_a", None) is None:
        w.slot_a = factories.WeeklySlotFactory(track=w.track_a)
    return w.slot_a.pk


def contact_a(w: "World") -> int:
    """A family contact of participant A, made the first time a URL needs one."""
    if getattr(w, "contact_a", None) is None:
        w.contact_a = factories.ContactFactory(participant=w.participant_a)
    return w.contact_a.pk


def family_session_a(w: "World") -> int:
    """A family session of participant A at site A."""
    if getattr(w, "family_session_a", None) is None:
        w.family_session_a = factories.TherapySessionFactory(
            track=None, participant=w.participant_a, site=w.site_a, kind="family",
            session_type=factories.SessionTypeFactory(kind="family"),
            starts_at=w.session_a.starts_at, ends_at=w.session_a.ends_at)
    return w.family_session_a.pk


def disclosure_a(w: "World") -> int:
    if getattr(w, "disclosure_a", None) is None:
        contact_a(w)
        w.disclosure_a = factories.DisclosureConsentFactory(contact=w.contact_a)
    return w.disclosure_a.pk


def _participant(site, track, name: str):
    user = factories.UserFactory(username=f"matrix-{name}")
    participant = factories.ParticipantFactory(home_site=site, first_name=name.title(),
                                               user=user)
    enrollment = factories.EnrollmentFactory(participant=participant, track=track)
    attendance_expect(enrollments=[enrollment])
    return participant


def _session(track, day: dt.date):
    starts = dt.datetime.combine(day, dt.time(18, 0), tzinfo=track.site.zone)
    return factories.TherapySessionFactory(track=track, site=track.site,
                                           starts_at=starts.astimezone(dt.UTC),
                                           ends_at=(starts + dt.timedelta(hours=3))
                                           .astimezone(dt.UTC))


def build_world() -> World:
    site_a = factories.SiteFactory(time_zone="America/New_York")
    site_b = factories.SiteFactory(time_zone="America/Los_Angeles")
    personas = {
        "director": factories.StaffFactory(role=Role.DIRECTOR, sites=[site_a]),
        "clinician": factories.StaffFactory(role=Role.CLINICIAN, sites=[site_a]),
        "front_desk": factories.StaffFactory(role=Role.FRONT_DESK, sites=[site_a]),
        "clinician_b": factories.StaffFactory(role=Role.CLINICIAN, sites=[site_b]),
        # Only asked about program URLs (PROGRAM_MATRIX).
        "director_no_site": factories.StaffFactory(role=Role.DIRECTOR, sites=[]),
        "director_b": factories.StaffFactory(role=Role.DIRECTOR, sites=[site_b]),
    }
    # Each site runs its own program: site A's belongs to site A alone.
    program = factories.ProgramFactory(excused_notice_hours=24)
    program_b = factories.ProgramFactory(excused_notice_hours=24)
    track_a = factories.TrackFactory(site=site_a, program=program, start_date=dt.date(2026, 3, 2))
    track_b = factories.TrackFactory(site=site_b, program=program_b,
                                     start_date=dt.date(2026, 3, 2))
    past_a = _session(track_a, dt.date(2026, 3, 9))
    session_a = _session(track_a, dt.date(2026, 3, 16))
    _session(track_b, dt.date(2026, 3, 16))
    participant_a = _participant(site_a, track_a, "avery")
    participant_b = _participant(site_b, track_b, "blake")
    personas["participant_a"] = participant_a.user
    personas["participant_b"] = participant_b.user
    attendance_a = Attendance.objects.get(participant=participant_a, session=session_a)
    missed = Attendance.objects.get(participant=participant_a, session=past_a)
    missed.status = "absent"
    missed.save()
    followup_a = FollowUp.objects.create(participant=participant_a, kind="unexcused_absence",
                                         attendance=missed, session=past_a,
                                         enrollment=participant_a.enrollments.get())
    excuse_a = ExcusedAbsenceRequest.objects.create(
        attendance=Attendance.objects.get(participant=participant_a, session=session_a),
        reason="Work", requested_at=NOW, requested_by=participant_a.user)
    link = portal_services._link_create  # the one place that mints link tokens
    # Someone without a login, waiting at site A, offered a seat: their one-time answer link.
    # (Built at the real time too, by the axe tests: so "now", not NOW.)
    offered_at = timezone.now()
    offered = factories.EnrollmentFactory(
        participant=factories.ParticipantFactory(home_site=site_a), track=track_a,
        status="waitlisted", waitlisted_at=offered_at - dt.timedelta(days=3),
        seat_offered_at=offered_at)
    offer_link = portal_services.seat_offer_link_mint(
        enrollment_id=offered.pk, participant_id=offered.participant_id,
        expires_at=offered_at + dt.timedelta(hours=48))
    return World(
        site_a=site_a, site_b=site_b, personas=personas, participant_a=participant_a,
        participant_b=participant_b, track_a=track_a, session_a=session_a,
        attendance_a=attendance_a, followup_a=followup_a, excuse_a=excuse_a,
        feed_token=portal_services.calendar_token_regenerate(participant=participant_a),
        invitation_token=link(participant=participant_a, purpose=PortalLinkPurpose.INVITATION,
                              lifetime=dt.timedelta(days=7), by=None),
        sign_in_token=link(participant=participant_a, purpose=PortalLinkPurpose.SIGN_IN,
                           lifetime=dt.timedelta(minutes=30), by=None),
        offer_token=offer_link.token,
        enrollment_a=participant_a.enrollments.get(),
        export_a=ReportExport.objects.create(requested_by=personas["director"], report="census",
                                             file_format="csv", filters={}),
        census_a=CensusUpload.objects.create(uploaded_by=personas["director"],
                                             file_name="census.csv", sha256="0" * 64,
                                             content=b"record_number\n", report={}),
        authorization_a=Authorization.objects.create(
            enrollment=participant_a.enrollments.get(),
            payer=Payer.objects.create(name="Matrix health plan (invented)"), number="MX-1",
            service_code="H0015", units_authorized=20, start_date=dt.date(2026, 3, 2),
            end_date=dt.date(2026, 4, 30), status="approved"),
    )


@pytest.fixture
def world():
    with time_machine.travel(NOW, tick=False):
        yield build_world()


# --- Asking ---------------------------------------------------------------------------------

# The clinic's data: a POST that is refused, or carries no valid data, must leave it as it was.
CLINIC_APPS = ("programs", "participants", "iop_sessions")


def clinic_data() -> dict[str, list[dict]]:
    return {model._meta.label: list(model.objects.order_by("pk").values())
            for label in CLINIC_APPS for model in apps.get_app_config(label).get_models()}


def answer_of(response) -> str:
    if response.status_code != 302:
        return str(response.status_code)
    target = urlsplit(response.url).path
    places = {reverse("login"): "login", reverse("admin:login"): "admin", reverse("home"): "home",
              reverse("portal-home"): "portal", reverse("two_factor_setup"): "setup"}
    return places.get(target, "302")


def ask(world: World, persona: str, method: str, url: str) -> tuple[str, bool]:
    """(the answer, whether the clinic's data changed), with every effect rolled back."""
    client = Client()
    with transaction.atomic():
        if persona != "anonymous":
            sign_in(client, world.personas[persona])
        before = clinic_data() if method == "POST" else None
        response = client.post(url) if method == "POST" else client.get(url)
        changed = before is not None and clinic_data() != before
        transaction.set_rollback(True)
    return answer_of(response), changed


def check(world: World, key: str, entry: E, url: str,
          personas: tuple[str, ...] = PERSONAS) -> list[str]:
    problems = []
    for persona, expected in zip(personas, entry.expected, strict=True):
        may_change = expected.endswith("*")
        expected = expected.rstrip("*")
        answer, changed = ask(world, persona, entry.method, url)
        if answer != expected:
            problems.append(f"{key} {entry.method} {url} as {persona}: expected {expected}, "
                            f"got {answer}")
        if changed and not may_change:
            problems.append(f"{key} POST {url} as {persona} changed the clinic's data")
    return problems


# --- Tests ----------------------------------------------------------------------------------

def missing_entries(patterns: list[Pattern]) -> list[str]:
    return [p.key for p in patterns if not p.is_admin and p.key not in MATRIX]


def test_it_has_an_entry_for_every_url_pattern():
    patterns = all_patterns()
    missing = missing_entries(patterns)
    assert not missing, ("URL patterns without an access-matrix entry in "
                         f"tests/security/test_access_matrix.py: {', '.join(missing)}")
    stale = set(MATRIX) - {p.key for p in patterns}
    assert not stale, f"Matrix entries for URLs that no longer exist: {', '.join(sorted(stale))}"
    assert set(ADMIN_EXCEPTIONS) <= {p.key for p in patterns if p.is_admin}


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_it_answers_each_visitor_as_the_matrix_says(world, key):
    entry = MATRIX[key]
    url = reverse(key, args=entry.args(world))

    with time_machine.travel(NOW, tick=False):
        problems = check(world, key, entry, url)

    assert not problems, "\n".join(problems)


def program_url_names() -> set[str]:
    """Every page under /programs/: programs, their tracks, schedules and closures."""
    return {p.key for p in all_patterns() if p.route.startswith("programs/")}


def test_it_asks_every_program_url_of_the_directors_of_no_site_and_another_site():
    assert program_url_names() >= {"program_list", "program_edit", "track_edit"}
    asked = {key.split()[0] for key in PROGRAM_MATRIX}
    assert asked == program_url_names()


@pytest.mark.parametrize("key", sorted(PROGRAM_MATRIX))
def test_it_keeps_programs_to_their_sites(world, key):
    entry = PROGRAM_MATRIX[key]
    name = key.split()[0]
    url = reverse(name, args=entry.args(world))

    with time_machine.travel(NOW, tick=False):
        problems = check(world, key, entry, url, personas=PROGRAM_PERSONAS)

    assert not problems, "\n".join(problems)


def test_it_sends_everyone_without_admin_access_to_the_admin_sign_in(world):
    admin_patterns = [p for p in all_patterns() if p.is_admin]
    assert len(admin_patterns) > 50, "every registered model's admin URLs are asked"

    # Only GETs here, which change nothing: one sign-in per persona serves every URL.
    problems = []
    with time_machine.travel(NOW, tick=False):
        for index, persona in enumerate(PERSONAS):
            client = Client()
            if persona != "anonymous":
                sign_in(client, world.personas[persona])
            for pattern in admin_patterns:
                expected = admin_entry(pattern).expected[index]
                url = admin_url(pattern)
                answer = answer_of(client.get(url))
                if answer != expected:
                    problems.append(f"{pattern.key} GET {url} as {persona}: expected "
                                    f"{expected}, got {answer}")

    assert not problems, "\n".join(problems)


@pytest.mark.urls("tests.security.urls")
def test_it_names_a_url_pattern_that_has_no_entry():
    # tests/security/urls.py adds test-only pages to the project's URLs.
    assert "test/crash/<str:secret>/" in missing_entries(all_patterns())
