"""seed_demo builds the invented demo clinic on an empty database, once.

Seeding marks a few hundred attendances through the services (about 9 s on PostgreSQL), so the
clinic is built once and every check below reads that one build.
"""
import datetime as dt

import pytest
import time_machine
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db.models import Count

from accounts.roles import Role
from participants.models import Enrollment, Participant
from programs.models import Closure, Program, SessionKind, Site, Track, TrackMode
from staff.management.commands.seed_demo import DEMO_PASSWORD
from sessions.models import Attendance, AttendanceStatus, TherapySession

pytestmark = pytest.mark.django_db

# A Wednesday afternoon: the evening cohort is five weeks in, the autumn teen cohort is over.
NOW = dt.datetime(2026, 2, 11, 20, 0, tzinfo=dt.UTC)
PROJECT_APPS = {"accounts", "programs", "participants", "iop_sessions", "auth", "otp_totp",
                "authorizations"}


def _seed(*args: str) -> None:
    with open("/dev/null", "w") as quiet:
        call_command("seed_demo", *args, stdout=quiet)


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()
            if model._meta.app_label in PROJECT_APPS}


def test_it_refuses_to_seed_with_debug_off_unless_forced(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError):
        call_command("seed_demo")

    assert not Site.objects.exists()


def _builds_two_sites_in_different_zones_and_three_programs():
    assert Site.objects.count() == 2
    assert len({site.time_zone for site in Site.objects.all()}) == 2
    programs = {(p.level_of_care, p.duration_weeks) for p in Program.objects.all()}
    assert {("2.1", 12), ("2.1", 8)} <= programs
    assert any(level == "2.5" for level, _weeks in programs)
    assert {t.mode for t in Track.objects.all()} == {TrackMode.COHORT, TrackMode.ROLLING}
    assert set(TherapySession.objects.values_list("kind", flat=True)) == set(SessionKind.values)
    assert Closure.objects.count() >= 2


def _enrolls_about_forty_people_at_every_status():
    assert 35 <= Participant.objects.count() <= 45
    statuses = set(Enrollment.objects.values_list("status", flat=True))
    assert {"referred", "waitlisted", "active", "on_hold", "completed", "discharged"} <= statuses
    past = Attendance.objects.filter(session__ends_at__lt=NOW, session__status="scheduled",
                                     session__track__isnull=False)
    assert past.exists()
    assert not past.filter(status=AttendanceStatus.EXPECTED).exists()
    assert past.filter(status=AttendanceStatus.ABSENT).exists()


def _makes_one_login_per_role_and_a_portal_login():
    for role in Role:
        assert apps.get_model("accounts.User").objects.filter(groups__name=role.label).exists()
    users = apps.get_model("accounts.User").objects
    admin = users.get(username="admin")
    assert admin.is_superuser and admin.check_password(DEMO_PASSWORD)
    participant_user = users.get(username="participant")
    assert participant_user.check_password(DEMO_PASSWORD)
    assert Participant.objects.filter(user=participant_user).exists()


def _changes_nothing_when_run_twice():
    before = _row_counts()
    _seed("--force")
    assert _row_counts() == before


def _schedules_every_track_exactly_as_its_slots_and_closures_say():
    for track in Track.objects.select_related("site").prefetch_related("weekly_slots"):
        zone = track.site.zone
        closed = set(Closure.objects.filter(site=track.site).values_list("date", flat=True))
        first = track.start_date
        if track.mode == TrackMode.ROLLING:
            first = max(first, NOW.astimezone(zone).date())
        last = track.scheduled_until
        assert last is not None, track
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        for slot in track.weekly_slots.all():
            wanted = [d for d in days if d.weekday() == slot.weekday and d not in closed]
            sessions = TherapySession.objects.filter(weekly_slot=slot).order_by("starts_at")
            assert [s.local_date for s in sessions] == wanted, (track, slot)
            assert {s.starts_at.astimezone(zone).time() for s in sessions} == {slot.start_time}


def _leaves_no_session_twice_in_one_room_at_once():
    rooms = (TherapySession.objects.filter(room__isnull=False)
             .values("room", "starts_at").annotate(n=Count("pk")).filter(n__gt=1))
    assert not rooms.exists()


def test_it_builds_the_demo_clinic_on_an_empty_database_once(settings):
    settings.DEBUG = True
    with time_machine.travel(NOW, tick=False):
        _seed()

        _builds_two_sites_in_different_zones_and_three_programs()
        _enrolls_about_forty_people_at_every_status()
        _makes_one_login_per_role_and_a_portal_login()
        _schedules_every_track_exactly_as_its_slots_and_closures_say()
        _leaves_no_session_twice_in_one_room_at_once()
        _records_payers_and_authorizations_that_raise_each_alert()
        _adds_family_contacts_with_standing_consent()
        _changes_nothing_when_run_twice()


def _adds_family_contacts_with_standing_consent():
    from participants.models import Contact

    contacts = list(Contact.objects.prefetch_related("disclosure_consents"))
    assert {c.relationship for c in contacts} == {"partner", "parent"}
    assert all(c.standing_disclosure(NOW.date()) for c in contacts)
    assert any(c.is_guardian_of_minor and c.language == "es" for c in contacts)


def _records_payers_and_authorizations_that_raise_each_alert():
    from authorizations.models import Authorization, Payer
    from authorizations.selectors import AlertKind, authorization_alerts

    assert Payer.objects.count() == 3
    assert Authorization.objects.filter(status="approved").count() >= 10
    kinds = {a.kind for a in authorization_alerts(
        site_ids=list(Site.objects.values_list("pk", flat=True)), today=NOW.date())}
    assert {AlertKind.LOW_UNITS, AlertKind.REVIEW_DUE, AlertKind.EXPIRED,
            AlertKind.MISSING} <= kinds
