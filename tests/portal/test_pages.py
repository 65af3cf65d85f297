import datetime as dt

import pytest
from django.urls import reverse

from accounts.roles import Role
from accounts.access import post_login_redirect
from sessions.models import Attendance, AttendanceStatus
from reminders.models import Reminder
from tests import factories
from tests.auth import sign_in

from .conftest import NOW, make_sessions, portal_participant

pytestmark = pytest.mark.django_db

# Recording the visit in the audit trail: the INSERT, and the content type the first time.
AUDIT_QUERIES = 2
# session, user, participant, enrollment, attendance, excuses (+ consent on reminders).
PAGE_BUDGET = 7 + AUDIT_QUERIES
PORTAL_PAGES = ["portal-home", "portal-progress", "portal-reminders", "portal-calendar"]


@pytest.mark.parametrize("name", PORTAL_PAGES)
def test_it_sends_anonymous_visitors_to_sign_in(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_sends_staff_to_their_own_home(client, clinician):
    client.force_login(clinician)

    response = client.get(reverse("portal-home"))

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_it_refuses_a_user_who_is_neither_participant_nor_staff(client):
    client.force_login(factories.UserFactory())

    assert client.get(reverse("portal-home")).status_code == 403


def test_it_lands_each_kind_of_user_in_their_own_part(alice, clinician):
    assert post_login_redirect(alice.user) == reverse("portal-home")
    assert post_login_redirect(clinician) == reverse("home")


def test_it_signs_a_participant_in_to_the_portal_through_the_shared_page(client, alice):
    alice.user.set_password("a-long-secret-phrase")
    alice.user.save()

    response = client.post(reverse("login"), {"username": alice.user.username,
                                              "password": "a-long-secret-phrase"})

    assert response.status_code == 302
    assert response.url == reverse("portal-home")


def test_it_shows_the_next_visit_first_with_place_and_room(alice_client, alice, site, now):
    response = alice_client.get(reverse("portal-home"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Today" in html.split('id="next-visit"')[1][:400]
    assert site.public_alias in html and site.address in html
    assert "Room 2B" in html
    assert "6:00 PM" in html
    # The rest of the week follows (Thursday), then coming weeks.
    order = [html.index(h) for h in ("Your next visit", "Later this week", "Coming weeks")]
    assert order == sorted(order)


def test_it_shows_cancelled_sessions_as_cancelled(alice_client, alice, schedule, now):
    thursday = schedule[5]
    thursday.status = "cancelled"
    thursday.cancel_reason = "Closure"
    thursday.save()

    html = alice_client.get(reverse("portal-home")).content.decode()

    later = html.split('id="this-week"')[1]
    assert "Cancelled" in later.split("</section>")[0]


def test_it_lists_only_sessions_the_participant_has_attendance_for(alice_client, alice, site, now):
    other = factories.ParticipantFactory(home_site=site)
    factories.TherapySessionFactory(
        track=None, participant=other, site=site,
        session_type=factories.SessionTypeFactory(kind="individual"),
        starts_at=dt.datetime(2026, 3, 12, 14, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 3, 12, 15, 0, tzinfo=dt.UTC),
    )

    html = alice_client.get(reverse("portal-home")).content.decode()

    assert "Individual session" not in html


def test_it_lists_the_participants_own_individual_and_family_sessions(alice_client, alice, site,
                                                                     now):
    for kind, hour in (("individual", 14), ("family", 16)):
        session = factories.TherapySessionFactory(
            track=None, participant=alice, site=site,
            session_type=factories.SessionTypeFactory(kind=kind),
            starts_at=dt.datetime(2026, 3, 13, hour, 0, tzinfo=dt.UTC),
            ends_at=dt.datetime(2026, 3, 13, hour + 1, 0, tzinfo=dt.UTC),
        )
        Attendance.objects.create(participant=alice, session=session)

    html = alice_client.get(reverse("portal-home")).content.decode()

    assert "Individual session" in html and "Family session" in html


def test_it_shows_this_weeks_hours_against_the_minimum(alice_client, alice, schedule, now):
    monday = Attendance.objects.get(participant=alice, session=schedule[3])
    monday.status = AttendanceStatus.PRESENT
    monday.save()

    html = alice_client.get(reverse("portal-progress")).content.decode()

    assert "3.0</span> of 9 hours" in html
    assert "6.0 more hours are scheduled" in html
    assert "Weeks completed</dt><dd>1 of 12" in html
    # The same ledger staff see: last week fell short only by sessions nobody marked, which
    # does not count against the participant, so the 12 weeks from Monday 2 March still end
    # on Sunday 24 May.
    assert "Expected to finish</dt><dd>May 24, 2026" in html


def test_it_flags_a_week_at_risk_before_it_ends(alice_client, alice, schedule, now):
    Attendance.objects.filter(participant=alice, session=schedule[3]).update(status="absent")

    html = alice_client.get(reverse("portal-progress")).content.decode()

    assert "you would miss this week" in html
    assert "Attendance</dt><dd>0%" in html


def test_it_shows_the_care_plan_and_history_but_no_future_schedule_after_discharge(
        client, site, track, room, now):
    make_sessions(track, room, weeks=3)
    participant = portal_participant(site, track, first_name="Dana", last_name="Xylo")
    enrollment = participant.enrollments.get()
    Attendance.objects.filter(participant=participant,
                              session__starts_at__lt=dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
                              ).update(status="present")
    enrollment.status = "discharged"
    enrollment.discharge_date = dt.date(2026, 3, 10)
    enrollment.discharge_reason = "step_down"
    enrollment.save()
    plan = factories.ContinuingCarePlanFactory(enrollment=enrollment,
                                               support_groups="Tuesday peer meeting")
    factories.TherapySessionFactory(
        track=None, participant=participant, site=site, care_plan=plan,
        session_type=factories.SessionTypeFactory(kind="individual"),
        starts_at=dt.datetime(2026, 3, 20, 15, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 3, 20, 16, 0, tzinfo=dt.UTC),
    )
    Attendance.objects.create(participant=participant, session=participant.personal_sessions.get())
    client.force_login(participant.user)

    html = client.get(reverse("portal-home")).content.decode()

    assert "continuing-care plan" in html and "Tuesday peer meeting" in html
    assert "Next follow-up" in html and "Friday, March 20" in html.replace("\n", " ")
    assert "Group session" not in html.split('id="history"')[0]
    assert "Present" in html.split('id="history"')[1]


def _grow(track, room, site, extra_participants: int):
    for n in range(extra_participants):
        portal_participant(site, track, first_name=f"Extra{n}", last_name="Person")
    make_sessions(track, room, weeks=3, weekdays=(1, 4))
    from participants.models import Enrollment
    from sessions.services.expected import attendance_expect
    attendance_expect(enrollments=Enrollment.objects.all())


@pytest.mark.parametrize("name", PORTAL_PAGES)
def test_it_keeps_a_fixed_query_budget(alice_client, alice, track, room, site, name, now,
                                       django_assert_max_num_queries):
    Attendance.objects.filter(participant=alice, session__local_date__lt=dt.date(2026, 3, 11)
                              ).update(status="present")
    with django_assert_max_num_queries(PAGE_BUDGET):
        assert alice_client.get(reverse(name)).status_code == 200
    _grow(track, room, site, extra_participants=3)
    with django_assert_max_num_queries(PAGE_BUDGET):
        assert alice_client.get(reverse(name)).status_code == 200


def test_it_keeps_the_excuse_page_on_a_fixed_query_budget(alice_client, alice, schedule, track,
                                                          room, site, now,
                                                          django_assert_max_num_queries):
    url = reverse("portal-excuse", args=[schedule[7].pk])
    with django_assert_max_num_queries(PAGE_BUDGET):
        assert alice_client.get(url).status_code == 200
    _grow(track, room, site, extra_participants=3)
    with django_assert_max_num_queries(PAGE_BUDGET):
        assert alice_client.get(url).status_code == 200


def test_it_answers_404_for_every_portal_url_of_another_participant(client, alice, bob, site,
                                                                    now):
    individual = factories.TherapySessionFactory(
        track=None, participant=bob, site=site,
        session_type=factories.SessionTypeFactory(kind="individual"),
        starts_at=dt.datetime(2026, 3, 20, 15, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 3, 20, 16, 0, tzinfo=dt.UTC),
    )
    Attendance.objects.create(participant=bob, session=individual)
    client.force_login(alice.user)

    assert client.get(reverse("portal-excuse", args=[individual.pk])).status_code == 404
    response = client.post(reverse("portal-excuse", args=[individual.pk]), {"reason": "Work"})
    assert response.status_code == 404
    assert not individual.attendances.get().excuse_requests.exists()


def test_it_refuses_staff_pages_to_participants(alice_client, alice, bob):
    from sessions.models import ExcusedAbsenceRequest
    excuse = ExcusedAbsenceRequest.objects.create(
        attendance=bob.attendances.last(), reason="Work", requested_at=dt.datetime.now(dt.UTC))

    # Refused by being sent to the portal's home (issue 13), never shown the staff page.
    portal = reverse("portal-home")
    assert alice_client.post(reverse("portal_invite", args=[bob.code]))["Location"] == portal
    assert alice_client.get(reverse("excuse_review", args=[excuse.code]))["Location"] == portal
    for name in ("excuse_approve", "excuse_decline"):
        assert alice_client.post(reverse(name, args=[excuse.code]))["Location"] == portal
    excuse.refresh_from_db()
    assert excuse.status == "pending"
    excuse.refresh_from_db()
    assert excuse.status == "pending"


def test_it_refuses_staff_pages_to_front_desk_where_clinical(client, front_desk, bob):
    from sessions.models import ExcusedAbsenceRequest
    excuse = ExcusedAbsenceRequest.objects.create(
        attendance=bob.attendances.last(), reason="Work", requested_at=dt.datetime.now(dt.UTC))
    client.force_login(front_desk)

    assert client.post(reverse("excuse_approve", args=[excuse.code])).status_code == 403


def test_it_lets_a_director_in_too(client, site, bob):
    director = factories.StaffFactory(role=Role.DIRECTOR, sites=[site])
    sign_in(client, director)

    response = client.post(reverse("portal_invite", args=[bob.code]))

    assert response.status_code == 302


def test_it_lists_my_upcoming_reminders_but_not_sent_ones_or_anyone_elses(
        alice_client, alice, bob, site, now):
    visit = NOW + dt.timedelta(days=2)

    def reminder(participant, *, kind, status, channel="sms"):
        return Reminder.objects.create(
            participant=participant, site=site, visit_date=visit.date(), kind=kind,
            channel=channel, status=status, due_at=visit - dt.timedelta(hours=20),
            send_before=visit, sent_at=NOW if status == "sent" else None)

    reminder(alice, kind="day_before", status="pending")
    reminder(alice, kind="same_day", status="sent")
    reminder(bob, kind="day_before", status="pending", channel="email")

    page = alice_client.get(reverse("portal-reminders")).content.decode()

    coming_up = page.split('id="upcoming-reminders"')[1]
    assert coming_up.count("<li") == 1
    assert "Text message (SMS) on" in coming_up or "SMS on" in coming_up
    assert "Email on" not in coming_up
