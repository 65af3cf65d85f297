"""Every admin changelist and every change page with inlines costs the same queries at 10 and 200 rows."""
import datetime as dt

import pytest
from django.urls import reverse

from django.contrib.contenttypes.models import ContentType

from audit.models import AccessEvent
from authorizations.models import Authorization, AuthorizationOverride, Coverage, Payer
from participants.models import (
    Contact, ContactConsent, ContinuingCarePlan, DisclosureConsent, Enrollment, PortalLink,
)
from programs.models import Closure, WeeklySlot
from sessions.models import (
    Attendance, AttendanceChange, ContactAttendance, ExcusedAbsenceRequest, FollowUp,
)

from . import factories

SIZES = [10, 200]
T0 = dt.datetime(2026, 1, 1, 14, 0, tzinfo=dt.UTC)


def _participants(n, **kwargs):
    return factories.ParticipantFactory.create_batch(n, **kwargs)


def _enrollments(n):
    track = factories.TrackFactory()
    return Enrollment.objects.bulk_create(
        Enrollment(participant=p, track=track, status="active", admission_date=track.start_date,
                   planned_end_date=track.end_date)
        for p in _participants(n, home_site=track.site)
    )


def _care_plans(n, created_by=None):
    return ContinuingCarePlan.objects.bulk_create(
        ContinuingCarePlan(enrollment=e, step_down_level="1", created_by=created_by)
        for e in _enrollments(n)
    )


def _weekly_slots(track, n):
    session_type = factories.SessionTypeFactory()
    room = factories.RoomFactory(site=track.site)
    facilitator = factories.UserFactory()
    return WeeklySlot.objects.bulk_create(
        WeeklySlot(track=track, weekday=i % 7, start_time=dt.time((i // 7) % 24, (i // 168) * 5),
                   duration_minutes=90, session_type=session_type, room=room,
                   facilitator=facilitator, title=f"Topic {i}")
        for i in range(n)
    )


def _closures(site, n):
    return Closure.objects.bulk_create(
        Closure(site=site, date=dt.date(2026, 1, 1) + dt.timedelta(days=i), reason="Holiday")
        for i in range(n)
    )


def _attendances(session, n, marked_by=None):
    participants = _participants(n, home_site=session.site)
    return Attendance.objects.bulk_create(
        Attendance(session=session, participant=p, status="present", minutes_attended=60,
                   marked_by=marked_by, marked_at=T0 if marked_by else None)
        for p in participants
    )


def build_sites(n):
    sites = factories.SiteFactory.create_batch(n)
    factories.RoomFactory(site=sites[0])
    return sites[0]


def build_rooms(n):
    return factories.RoomFactory.create_batch(n, site=factories.SiteFactory())[0]


def build_programs(n):
    return factories.ProgramFactory.create_batch(n)[0]


def build_session_types(n):
    return factories.SessionTypeFactory.create_batch(n)[0]


def build_tracks(n):
    return factories.TrackFactory.create_batch(
        n, program=factories.ProgramFactory(), site=factories.SiteFactory(),
        lead_clinician=factories.UserFactory(),
    )[0]


def build_weekly_slots(n):
    return _weekly_slots(factories.TrackFactory(), n)[0]


def build_closures(n):
    return _closures(factories.SiteFactory(), n)[0]


def build_participants(n):
    site = factories.SiteFactory()
    participants = _participants(n, home_site=site, primary_clinician=factories.UserFactory())
    factories.EnrollmentFactory(participant=participants[0], track__site=site)
    return participants[0]


def build_consents(n):
    return ContactConsent.objects.bulk_create(
        ContactConsent(participant=p, channel="sms", given_at=T0, source="intake")
        for p in _participants(n, home_site=factories.SiteFactory())
    )[0]


def build_contacts(n):
    return Contact.objects.bulk_create(
        Contact(participant=p, name=f"Contact {i}", relationship="parent")
        for i, p in enumerate(_participants(n, home_site=factories.SiteFactory())))[0]


def build_disclosure_consents(n):
    return DisclosureConsent.objects.bulk_create(
        DisclosureConsent(contact=c, signed_on=T0.date(), expires_on=T0.date().replace(year=2027),
                          recorded_by=None)
        for c in _contacts_for(n))[0]


def _contacts_for(n):
    return Contact.objects.bulk_create(
        Contact(participant=p, name=f"Contact {i}") for i, p in enumerate(
            _participants(n, home_site=factories.SiteFactory())))


def build_contact_attendance(n):
    staff = factories.UserFactory()
    family = factories.SessionTypeFactory(kind="family")
    rows = []
    for i, contact in enumerate(_contacts_for(n)):
        session = factories.TherapySessionFactory(
            track=None, participant=contact.participant, site=contact.participant.home_site,
            kind="family", session_type=family, starts_at=T0 + dt.timedelta(hours=i))
        rows.append(ContactAttendance(session=session, contact=contact, status="present",
                                      marked_by=staff, marked_at=T0))
    return ContactAttendance.objects.bulk_create(rows)[0]


def build_enrollments(n):
    enrollments = _enrollments(n)
    ContinuingCarePlan.objects.create(enrollment=enrollments[0])
    return enrollments[0]


def build_care_plans(n):
    return _care_plans(n, created_by=factories.UserFactory())[0]


def build_sessions(n):
    track = factories.TrackFactory()
    sessions = factories.TherapySessionFactory.create_batch(
        n, track=track, site=track.site, session_type=factories.SessionTypeFactory(),
        room=factories.RoomFactory(site=track.site), facilitator=factories.UserFactory(),
    )
    _attendances(sessions[0], 3)
    return sessions[0]


def build_attendances(n):
    return _attendances(factories.TherapySessionFactory(), n, marked_by=factories.UserFactory())[0]


def build_followups(n):
    session = factories.TherapySessionFactory(facilitator=factories.UserFactory())
    staff = factories.UserFactory()
    return FollowUp.objects.bulk_create(
        FollowUp(participant=a.participant, attendance=a, session=session,
                 kind="unexcused_absence", status="resolved", assignee=staff, resolved_by=staff,
                 resolved_at=T0, outcome_note="Called back")
        for a in _attendances(session, n)
    )[0]


def build_attendance_changes(n):
    staff = factories.UserFactory()
    return AttendanceChange.objects.bulk_create(
        AttendanceChange(attendance=a, old_status="absent", new_status="present", new_minutes=60,
                         changed_by=staff, changed_at=T0)
        for a in _attendances(factories.TherapySessionFactory(), n, marked_by=staff)
    )[0]


def build_excuse_requests(n):
    staff = factories.UserFactory()
    return ExcusedAbsenceRequest.objects.bulk_create(
        ExcusedAbsenceRequest(attendance=a, reason="Work shift", status="approved",
                              requested_at=T0, requested_by=staff, decided_at=T0, decided_by=staff)
        for a in _attendances(factories.TherapySessionFactory(), n)
    )[0]


def build_portal_links(n):
    login, staff = factories.UserFactory(), factories.UserFactory()
    return PortalLink.objects.bulk_create(
        PortalLink(participant=p, user=login, purpose="invitation", token_hash=f"{i:064x}",
                   created_at=T0, expires_at=T0 + dt.timedelta(days=3), created_by=staff)
        for i, p in enumerate(_participants(n, home_site=factories.SiteFactory()))
    )[0]


def build_access_events(n):
    participants = _participants(n, home_site=factories.SiteFactory())
    staff = factories.UserFactory()
    content_type = ContentType.objects.get_for_model(participants[0])
    return AccessEvent.objects.bulk_create(
        AccessEvent(actor=staff, participant=p, content_type=content_type, object_pk=str(p.pk),
                    object_repr="chart", what="chart", path="/participants/", at=T0)
        for p in participants
    )[0]


def build_payers(n):
    return Payer.objects.bulk_create(Payer(name=f"Invented plan {i}") for i in range(n))[0]


def build_coverages(n):
    payer = Payer.objects.create(name="Invented plan")
    return Coverage.objects.bulk_create(Coverage(enrollment=e, payer=payer, member_id=f"M{i}")
                                        for i, e in enumerate(_enrollments(n)))[0]


def build_authorizations(n):
    payer = Payer.objects.create(name="Invented plan")
    return Authorization.objects.bulk_create(
        Authorization(enrollment=e, payer=payer, number=f"A{i}", service_code="H0015",
                      units_authorized=20, start_date=e.admission_date,
                      end_date=e.admission_date + dt.timedelta(days=30), status="approved")
        for i, e in enumerate(_enrollments(n)))[0]


def build_authorization_overrides(n):
    staff = factories.UserFactory()
    return AuthorizationOverride.objects.bulk_create(
        AuthorizationOverride(enrollment=e, action="book", warning="2 days beyond", on_date=T0,
                              created_by=staff)
        for e in _enrollments(n))[0]


def build_users(n):
    site = factories.SiteFactory()
    return factories.StaffFactory.create_batch(n, role="clinician", sites=[site])[0]


# (admin URL prefix, builder returning one of the n listed objects, its str, query budget)
# Every budget includes the one query django-otp spends loading the signed-in admin's device;
# the test adds the one that finds the sites' time zone (programs.middleware.AdminClockMiddleware).
ADMIN_CLOCK_QUERY = 1
CHANGELISTS = {
    "programs_site": (build_sites, 7),
    "programs_room": (build_rooms, 7),
    "programs_program": (build_programs, 6),
    "programs_sessiontype": (build_session_types, 6),
    "programs_track": (build_tracks, 10),
    "programs_weeklyslot": (build_weekly_slots, 7),
    "programs_closure": (build_closures, 9),
    "participants_participant": (build_participants, 6),
    "participants_contactconsent": (build_consents, 8),
    "participants_contact": (build_contacts, 7),
    "participants_disclosureconsent": (build_disclosure_consents, 8),
    "iop_sessions_contactattendance": (build_contact_attendance, 8),
    "participants_enrollment": (build_enrollments, 10),
    "participants_continuingcareplan": (build_care_plans, 8),
    "iop_sessions_therapysession": (build_sessions, 10),
    "iop_sessions_attendance": (build_attendances, 9),
    "accounts_user": (build_users, 9),
    "iop_sessions_followup": (build_followups, 9),
    "iop_sessions_attendancechange": (build_attendance_changes, 9),
    "iop_sessions_excusedabsencerequest": (build_excuse_requests, 9),
    "participants_portallink": (build_portal_links, 9),
    "audit_accessevent": (build_access_events, 10),
    "authorizations_payer": (build_payers, 7),
    "authorizations_coverage": (build_coverages, 9),
    "authorizations_authorization": (build_authorizations, 10),
    "authorizations_authorizationoverride": (build_authorization_overrides, 9),
}


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", list(CHANGELISTS))
def test_it_lists_every_model_within_a_fixed_query_budget(
    admin_client, django_assert_max_num_queries, name, n
):
    build, budget = CHANGELISTS[name]
    build(n)
    model = next(m for m, a in _registry() if f"{m._meta.app_label}_{m._meta.model_name}" == name)
    expected_rows = model._default_manager.count()

    with django_assert_max_num_queries(budget + ADMIN_CLOCK_QUERY):
        response = admin_client.get(reverse(f"admin:{name}_changelist"))

    assert response.status_code == 200
    cl = response.context["cl"]
    assert cl.result_count == expected_rows >= n
    # What a person sees above the pager, e.g. "200 participants", and a full first page.
    assert f"{expected_rows} {model._meta.verbose_name_plural}" in response.text
    shown = min(expected_rows, cl.list_per_page)
    assert len(cl.result_list) == shown
    if cl.model_admin.get_actions(response.wsgi_request):  # read-only history has no actions
        assert response.text.count('class="action-select"') == shown


def _registry():
    from django.contrib import admin

    return admin.site._registry.items()


def test_it_registers_every_project_model_in_the_admin():
    from django.apps import apps

    registered = {model for model, _ in _registry()}
    ours = [m for m in apps.get_models()
            if m._meta.app_label in {"accounts", "programs", "participants", "iop_sessions",
                                     "authorizations"}
            and not m._meta.auto_created]
    assert ours and [m for m in ours if m not in registered] == []


# Change pages whose inlines grow with the data: (builder of an object with n inline rows, budget)
def change_site(n):
    site = factories.SiteFactory()
    factories.RoomFactory.create_batch(n, site=site)
    _closures(site, n)
    return site, 2 * n


def change_track(n):
    track = factories.TrackFactory()
    _weekly_slots(track, n)
    _closures(track.site, n)
    return track, n


def change_participant(n):
    participant = factories.ParticipantFactory()
    tracks = factories.TrackFactory.create_batch(2, site=participant.home_site)
    Enrollment.objects.bulk_create(
        Enrollment(participant=participant, track=tracks[i % 2], status="referred",
                   admission_date=dt.date(2026, 1, 5), planned_end_date=dt.date(2026, 3, 30))
        for i in range(n)
    )
    ContactConsent.objects.bulk_create(
        ContactConsent(participant=participant, channel="email", given_at=T0, source="intake",
                       revoked_at=T0 + dt.timedelta(days=1), revoked_source="portal")
        for _ in range(n)
    )
    return participant, 2 * n


def change_enrollment(n):
    _enrollments(n)  # other people's enrollments must not cost anything
    plan = factories.ContinuingCarePlanFactory(created_by=factories.UserFactory())
    return plan.enrollment, 1


def change_session(n):
    session = factories.TherapySessionFactory(facilitator=factories.UserFactory())
    _attendances(session, n, marked_by=session.facilitator)
    return session, n


def change_user(n):
    user = factories.StaffFactory(role="clinician")
    for site in factories.SiteFactory.create_batch(n):
        site.staff.add(user)
    return user, n


CHANGE_PAGES = {
    "programs_site": (change_site, 9),
    "programs_track": (change_track, 15),
    "participants_participant": (change_participant, 12),
    "participants_enrollment": (change_enrollment, 11),
    "iop_sessions_therapysession": (change_session, 11),
    "accounts_user": (change_user, 11),
}


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", list(CHANGE_PAGES))
def test_it_shows_change_pages_with_inlines_within_a_fixed_query_budget(
    admin_client, django_assert_max_num_queries, name, n
):
    build, budget = CHANGE_PAGES[name]
    obj, inline_rows = build(n)

    with django_assert_max_num_queries(budget + ADMIN_CLOCK_QUERY):
        response = admin_client.get(reverse(f"admin:{name}_change", args=[obj.pk]))

    assert response.status_code == 200
    formsets = response.context["inline_admin_formsets"]
    assert sum(f.formset.initial_form_count() for f in formsets) == inline_rows


@pytest.mark.django_db
def test_it_names_a_users_site_rows_by_person_and_site(admin_client):
    user = factories.StaffFactory(role="clinician", first_name="Ana", last_name="Ruiz")
    factories.SiteFactory(name="Riverside").staff.add(user)

    page = admin_client.get(reverse("admin:accounts_user_change", args=[user.pk])).content.decode()

    assert "Ana Ruiz at Riverside" in page
    assert "object (" not in page


@pytest.mark.django_db
def test_it_renders_the_participants_selection_checkboxes_as_django_does(admin_client):
    from django.contrib.admin import site
    from django.forms import CheckboxInput

    from participants.models import Participant

    person = factories.ParticipantFactory()
    admin_class = site._registry[Participant]
    django_markup = CheckboxInput(
        {"class": "action-select",
         "aria-label": f"Select this object for an action - {person}"},
        lambda value: False,
    ).render("_selected_action", str(person.pk))
    assert admin_class.action_checkbox(person) == django_markup
    page = admin_client.get("/admin/participants/participant/").content.decode()
    assert django_markup in page
