"""Admin actions run the services: schedule generation, cancelling sessions, enrollment steps."""
import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from participants.models import Enrollment
from sessions.models import Attendance, TherapySession
from tests import factories

UTC = dt.UTC
MONDAY_12_JAN_6PM = dt.datetime(2026, 1, 12, 23, 0, tzinfo=UTC)  # 18:00 in New York


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def _act(client, changelist: str, action: str, objects, **extra):
    return client.post(reverse(f"admin:{changelist}_changelist"), {
        "action": action, "_selected_action": [o.pk for o in objects], **extra,
    }, follow=True)


@pytest.fixture
def three_week_track(site):
    """Mondays 18:00–21:00 in Room 2 from 5 to 19 January 2026."""
    track = factories.TrackFactory(site=site, name="Evening", start_date=dt.date(2026, 1, 5),
                                   end_date=dt.date(2026, 1, 25))
    room = factories.RoomFactory(site=site, name="Room 2")
    factories.WeeklySlotFactory(track=track, weekday=0, room=room)
    return track


# --- Generate schedule -------------------------------------------------------------------------

def test_it_generates_the_selected_tracks_and_says_how_many(admin_client, three_week_track, site):
    factories.ClosureFactory(site=site, date=dt.date(2026, 1, 19))

    response = _act(admin_client, "programs_track", "generate_schedule", [three_week_track])

    assert _messages(response) == [
        ("success", f"{three_week_track}: 2 sessions created, 1 closure days skipped.")]
    assert TherapySession.objects.filter(track=three_week_track).count() == 2


def test_it_reports_a_clash_and_creates_nothing_for_that_track_only(admin_client,
                                                                     three_week_track, site):
    room = three_week_track.weekly_slots.get().room
    factories.TherapySessionFactory(track=factories.TrackFactory(site=site), room=room,
                                    title="Relapse prevention", starts_at=MONDAY_12_JAN_6PM)
    fine = factories.TrackFactory(site=site, name="Morning", start_date=dt.date(2026, 1, 5),
                                  end_date=dt.date(2026, 1, 11))
    factories.WeeklySlotFactory(track=fine, weekday=1, start_time=dt.time(9))

    response = _act(admin_client, "programs_track", "generate_schedule", [three_week_track, fine])

    levels = {text.split(":")[0]: level for level, text in _messages(response)}
    assert levels == {str(three_week_track): "error", str(fine): "success"}
    error = next(text for level, text in _messages(response) if level == "error")
    assert "nothing created" in error and "Room 2 is booked for Relapse prevention" in error
    assert not TherapySession.objects.filter(track=three_week_track).exists()
    assert TherapySession.objects.filter(track=fine).count() == 1


def test_it_reports_a_track_the_service_refuses(admin_client, three_week_track):
    three_week_track.is_active = False
    three_week_track.save()

    response = _act(admin_client, "programs_track", "generate_schedule", [three_week_track])

    [(level, text)] = _messages(response)
    assert level == "error" and text.startswith(f"{three_week_track}: nothing created.")
    assert "is not active" in text
    assert not TherapySession.objects.exists()


# --- Cancel sessions ---------------------------------------------------------------------------

@pytest.fixture
def two_sessions(site):
    sessions = [factories.TherapySessionFactory(track=factories.TrackFactory(site=site),
                                                starts_at=MONDAY_12_JAN_6PM + dt.timedelta(days=d))
                for d in (0, 1)]
    for session in sessions:
        factories.AttendanceFactory(session=session, participant__home_site=site)
    return sessions


def test_it_asks_for_a_reason_before_cancelling(admin_client, two_sessions):
    response = _act(admin_client, "iop_sessions_therapysession", "cancel_sessions", two_sessions)

    assert response.status_code == 200
    assert "Cancel the sessions" in response.text and 'name="reason"' in response.text
    assert not TherapySession.objects.filter(status="cancelled").exists()


def test_it_refuses_an_empty_reason_and_cancels_nothing(admin_client, two_sessions):
    response = _act(admin_client, "iop_sessions_therapysession", "cancel_sessions", two_sessions,
                    confirm="yes", reason="   ")

    assert response.context["form"].errors["reason"]
    assert not TherapySession.objects.filter(status="cancelled").exists()


def test_it_cancels_each_session_through_the_service(admin_client, two_sessions):
    response = _act(admin_client, "iop_sessions_therapysession", "cancel_sessions", two_sessions,
                    confirm="yes", reason="Snow storm")

    assert _messages(response)[0][0] == "success"
    assert set(TherapySession.objects.values_list("status", "cancel_reason")) == {
        ("cancelled", "Snow storm")}
    assert set(Attendance.objects.values_list("status", flat=True)) == {"cancelled"}


def test_it_names_a_session_already_cancelled_and_cancels_the_rest(admin_client, two_sessions):
    TherapySession.objects.filter(pk=two_sessions[0].pk).update(status="cancelled",
                                                                cancel_reason="Earlier")

    response = _act(admin_client, "iop_sessions_therapysession", "cancel_sessions", two_sessions,
                    confirm="yes", reason="Snow storm")

    levels = [level for level, _text in _messages(response)]
    assert levels == ["error", "success"]
    assert TherapySession.objects.get(pk=two_sessions[0].pk).cancel_reason == "Earlier"
    assert TherapySession.objects.get(pk=two_sessions[1].pk).cancel_reason == "Snow storm"


def test_it_keeps_the_status_out_of_the_session_form(admin_client, two_sessions):
    response = admin_client.get(reverse("admin:iop_sessions_therapysession_change",
                                        args=[two_sessions[0].pk]))

    assert 'name="status"' not in response.text and 'name="cancel_reason"' not in response.text


# --- Enrollments -------------------------------------------------------------------------------

@pytest.fixture
def full_track(site):
    return factories.TrackFactory(site=site, capacity=1, mode="rolling",
                                  start_date=dt.date(2026, 1, 5))


def test_it_shows_lifecycle_fields_read_only_and_offers_no_add(admin_client, site):
    enrollment = factories.EnrollmentFactory(track__site=site, participant__home_site=site)

    page = admin_client.get(reverse("admin:participants_enrollment_change", args=[enrollment.pk]))

    for field in ("status", "admission_date", "planned_end_date", "discharge_date",
                  "discharge_reason"):
        assert f'name="{field}"' not in page.text
    assert admin_client.get(reverse("admin:participants_enrollment_add")).status_code == 403


@time_machine.travel(dt.datetime(2026, 1, 7, 15, 0, tzinfo=UTC), tick=False)
def test_it_admits_from_the_waitlist_and_refuses_the_rest(admin_client, full_track, site):
    waiting = factories.EnrollmentFactory(track=full_track, status="waitlisted",
                                          waitlisted_at=dt.datetime(2026, 1, 2, tzinfo=UTC),
                                          participant__home_site=site)
    active = factories.EnrollmentFactory(track=factories.TrackFactory(site=site),
                                         participant__home_site=site)

    response = _act(admin_client, "participants_enrollment", "admit_from_waitlist",
                    [waiting, active])

    assert sorted(level for level, _text in _messages(response)) == ["error", "success"]
    assert Enrollment.objects.get(pk=waiting.pk).status == "active"
    assert Enrollment.objects.get(pk=active.pk).status == "active"


@time_machine.travel(dt.datetime(2026, 1, 7, 15, 0, tzinfo=UTC), tick=False)
def test_it_refuses_to_admit_past_capacity(admin_client, full_track, site):
    factories.EnrollmentFactory(track=full_track, participant__home_site=site)
    waiting = factories.EnrollmentFactory(track=full_track, status="waitlisted",
                                          waitlisted_at=dt.datetime(2026, 1, 2, tzinfo=UTC),
                                          participant__home_site=site)

    response = _act(admin_client, "participants_enrollment", "admit_from_waitlist", [waiting])

    [(level, _text)] = _messages(response)
    assert level == "error"
    assert Enrollment.objects.get(pk=waiting.pk).status == "waitlisted"


@time_machine.travel(dt.datetime(2026, 1, 7, 15, 0, tzinfo=UTC), tick=False)
def test_it_resumes_an_enrollment_on_hold_and_refuses_an_active_one(admin_client, site):
    held = factories.EnrollmentFactory(track__site=site, participant__home_site=site,
                                       status="on_hold",
                                       held_at=dt.datetime(2026, 1, 6, tzinfo=UTC),
                                       hold_reason="Medical leave")
    active = factories.EnrollmentFactory(track__site=site, participant__home_site=site)

    response = _act(admin_client, "participants_enrollment", "resume", [held, active])

    assert sorted(level for level, _text in _messages(response)) == ["error", "success"]
    assert Enrollment.objects.get(pk=held.pk).status == "active"


@time_machine.travel(dt.datetime(2026, 1, 7, 15, 0, tzinfo=UTC), tick=False)
def test_it_withdraws_someone_waiting_and_refuses_someone_admitted(admin_client, full_track,
                                                                   site):
    waiting = factories.EnrollmentFactory(track=full_track, status="waitlisted",
                                          waitlisted_at=dt.datetime(2026, 1, 2, tzinfo=UTC),
                                          participant__home_site=site)
    admitted = factories.EnrollmentFactory(track=full_track, participant__home_site=site)

    response = _act(admin_client, "participants_enrollment", "withdraw", [waiting, admitted])

    assert sorted(level for level, _text in _messages(response)) == ["error", "success"]
    assert Enrollment.objects.get(pk=waiting.pk).status == "withdrawn"
    assert Enrollment.objects.get(pk=admitted.pk).status == "active"
