import datetime as dt

import pytest
from django.urls import reverse

from programs.models import Program, Track, WeeklySlot
from sessions.models import Attendance, TherapySession
from tests import factories

from .conftest import MONDAY, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

PROGRAM = {
    "name": "Evening Adult IOP", "level_of_care": "2.1", "population": "adult",
    "duration_weeks": "12", "min_weekly_hours": "", "min_attendance_percent": "80",
    "max_unexcused_absences": "6", "excused_notice_hours": "48",
    "consecutive_absences_to_escalate": "2", "marking_opens_minutes_before": "0",
    "seat_offer_hours": "48", "cant_come_reply": "follow_up",
    "is_active": "on",
}


def _track_post(program, site, lead=None, slots=(), existing=0, **overrides):
    data = {
        "program": program.pk, "site": site.pk, "name": "Evening — Mon/Wed/Thu 6–9 pm",
        "mode": "cohort", "start_date": "2026-02-02", "end_date": "", "capacity": "10",
        "lead_clinician": lead.pk if lead else "", "is_active": "on",
        "slots-TOTAL_FORMS": str(len(slots)), "slots-INITIAL_FORMS": str(existing),
        "slots-MIN_NUM_FORMS": "0", "slots-MAX_NUM_FORMS": "1000",
    }
    for index, slot in enumerate(slots):
        for key, value in slot.items():
            data[f"slots-{index}-{key}"] = value
    data.update(overrides)
    return data


def _slot(session_type, room, **overrides):
    slot = {"weekday": "0", "start_time": "18:00", "duration_minutes": "180",
            "session_type": session_type.pk, "title": "Process group", "facilitator": "",
            "room": room.pk if room else ""}
    slot.update(overrides)
    return slot


def test_it_lets_a_director_create_and_edit_a_program(as_director, site):
    response = as_director.post(reverse("program_create"), {**PROGRAM, "offered_at": [site.pk]})
    assert response.status_code == 302
    program = Program.objects.get(name="Evening Adult IOP")
    assert program.min_weekly_hours == 9  # the ASAM default for adult IOP

    as_director.post(reverse("program_edit", args=[program.pk]),
                     {**PROGRAM, "duration_weeks": "8"})
    program.refresh_from_db()
    assert program.duration_weeks == 8


def test_it_lets_a_director_choose_what_a_cant_come_reply_opens(as_director, site):
    program = factories.ProgramFactory(sites=[site])
    page = as_director.get(reverse("program_edit", args=[program.pk])).content.decode()
    assert 'name="cant_come_reply"' in page and "A follow-up for the clinician to call" in page

    as_director.post(reverse("program_edit", args=[program.pk]),
                     {**PROGRAM, "cant_come_reply": "excuse", "seat_offer_hours": "24",
                      "offered_at": [site.pk]})

    program.refresh_from_db()
    assert program.cant_come_reply == "excuse" and program.seat_offer_hours == 24
    bad = as_director.post(reverse("program_edit", args=[program.pk]),
                           {**PROGRAM, "cant_come_reply": "ignore", "offered_at": [site.pk]})
    assert bad.status_code == 200 and "is-invalid" in bad.content.decode()


@pytest.mark.parametrize("bad", [{"duration_weeks": "99"}, {"duration_weeks": "-1"},
                                 {"min_attendance_percent": "150"}, {"name": ""},
                                 {"level_of_care": "9"}, {"min_weekly_hours": "abc"}])
def test_it_shows_field_errors_for_a_bad_program_and_saves_nothing(as_director, site, bad):
    response = as_director.post(reverse("program_create"),
                                {**PROGRAM, "offered_at": [site.pk], **bad})
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert not Program.objects.exists()


def test_it_creates_a_track_with_its_weekly_slots(as_director, site, clinician):
    program = factories.ProgramFactory(sites=[site])
    room = factories.RoomFactory(site=site)
    group = factories.SessionTypeFactory()
    data = _track_post(program, site, clinician, slots=[
        _slot(group, room), _slot(group, room, weekday="2"), _slot(group, room, weekday="3")])

    response = as_director.post(reverse("track_create"), data)

    assert response.status_code == 302, response.content.decode()[-3000:]
    track = Track.objects.get()
    assert track.lead_clinician == clinician
    assert track.end_date is not None  # a cohort gets start + program duration
    assert sorted(track.weekly_slots.values_list("weekday", flat=True)) == [0, 2, 3]


def test_it_refuses_a_room_at_another_site(as_director, site, other_site):
    program = factories.ProgramFactory(sites=[site])
    other_site.staff.add(*site.staff.all())  # the director sees both sites' rooms
    far_room = factories.RoomFactory(site=other_site)
    data = _track_post(program, site, slots=[_slot(factories.SessionTypeFactory(), far_room)])
    response = as_director.post(reverse("track_create"), data)
    assert response.status_code == 200
    assert "at the track" in response.content.decode()
    assert not Track.objects.exists()


def test_it_refuses_an_individual_session_type_in_a_timetable(as_director, site):
    program = factories.ProgramFactory(sites=[site])
    individual = factories.SessionTypeFactory(kind="individual")
    data = _track_post(program, site, slots=[_slot(individual, None)])
    response = as_director.post(reverse("track_create"), data)
    assert response.status_code == 200
    assert not Track.objects.exists() and not WeeklySlot.objects.exists()


def test_it_refuses_two_slots_at_the_same_start(as_director, site):
    program = factories.ProgramFactory(sites=[site])
    group = factories.SessionTypeFactory()
    data = _track_post(program, site, slots=[_slot(group, None), _slot(group, None)])
    response = as_director.post(reverse("track_create"), data)
    assert response.status_code == 200
    assert not Track.objects.exists()


@pytest.mark.parametrize("bad", [{"end_date": "2026-01-01"}, {"capacity": "0"},
                                 {"start_date": "someday"}, {"site": "999999"},
                                 {"mode": "rolling", "end_date": "2020-01-01"}])
def test_it_shows_field_errors_for_a_bad_track(as_director, site, bad):
    program = factories.ProgramFactory(sites=[site])
    response = as_director.post(reverse("track_create"), {**_track_post(program, site), **bad})
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode() or "alert-danger" in response.content.decode()
    assert not Track.objects.exists()


def test_it_survives_a_broken_management_form(as_director, site):
    program = factories.ProgramFactory(sites=[site])
    data = _track_post(program, site)
    del data["slots-TOTAL_FORMS"]
    response = as_director.post(reverse("track_create"), data)
    assert response.status_code == 200
    assert not Track.objects.exists()


def test_it_edits_a_slot_of_a_track_without_sessions(as_director, site):
    slot = factories.WeeklySlotFactory(track=factories.TrackFactory(site=site))
    track = slot.track
    data = _track_post(track.program, site, existing=1, name=track.name, start_date="2026-01-05",
                       slots=[{**_slot(slot.session_type, None, start_time="17:30"),
                               "id": slot.pk, "track": track.pk}])
    response = as_director.post(reverse("track_edit", args=[track.pk]), data)
    assert response.status_code == 302
    slot.refresh_from_db()
    assert slot.start_time.strftime("%H:%M") == "17:30"


def test_it_moves_only_future_unmarked_sessions_with_an_edited_slot(as_director, site):
    slot = factories.WeeklySlotFactory(track=factories.TrackFactory(site=site))
    track = slot.track
    past, _ = make_group_session(track, size=0)  # Monday 5 Jan 18:00, before "now" (20:00)
    future, _ = make_group_session(track, size=0, day=MONDAY + dt.timedelta(days=7))
    marked, (row,) = make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=14))
    # Marked ahead of time (e.g. excused in advance): that session must stay where it is.
    Attendance.objects.filter(pk=row.pk).update(status="excused")
    for session in (past, future, marked):
        session.weekly_slot = slot
        session.save()
    data = _track_post(track.program, site, existing=1, name=track.name, start_date="2026-01-05",
                       slots=[{**_slot(slot.session_type, None, start_time="17:30"),
                               "id": slot.pk, "track": track.pk}])
    response = as_director.post(reverse("track_edit", args=[track.pk]), data, follow=True)
    assert "1 changed" in response.content.decode()
    assert "1 kept as they were" in response.content.decode()
    slot.refresh_from_db()
    assert slot.start_time.strftime("%H:%M") == "17:30"

    def local_start(session):
        session.refresh_from_db()
        return session.starts_at.astimezone(site.zone).strftime("%H:%M")

    assert local_start(future) == "17:30"
    assert local_start(past) == "18:00"
    assert local_start(marked) == "18:00"


@pytest.mark.parametrize("size", [1, 6])
def test_it_keeps_fixed_query_budgets(as_director, site, size, django_assert_max_num_queries):
    for _ in range(size):
        track = factories.TrackFactory(site=site)
        factories.WeeklySlotFactory(track=track)
        factories.EnrollmentFactory(track=track)
    # +1 on each page since directors' second factor is checked per request.
    with django_assert_max_num_queries(9):
        assert as_director.get(reverse("program_list")).status_code == 200
    with django_assert_max_num_queries(17):
        assert as_director.get(reverse("track_edit", args=[track.pk])).status_code == 200


@pytest.mark.parametrize("tracks", [0, 8])
def test_it_keeps_a_fixed_query_budget_on_the_program_form(as_director, site, tracks,
                                                          django_assert_max_num_queries):
    program = factories.ProgramFactory(sites=[site])
    for _ in range(tracks):
        factories.TrackFactory(site=site, program=program)
    # 7 before programs belonged to sites; +2: the director's sites to offer it at, and which
    # of them already do.
    with django_assert_max_num_queries(9):
        assert as_director.get(reverse("program_edit", args=[program.pk])).status_code == 200


def test_it_removes_future_sessions_with_a_deleted_slot(as_director, site):
    slot = factories.WeeklySlotFactory(track=factories.TrackFactory(site=site))
    track = slot.track
    past, _ = make_group_session(track, size=0)
    future, _ = make_group_session(track, size=0, day=MONDAY + dt.timedelta(days=7))
    TherapySession.objects.filter(pk__in=[past.pk, future.pk]).update(weekly_slot=slot)
    data = _track_post(track.program, site, existing=1, name=track.name, start_date="2026-01-05",
                       slots=[{**_slot(slot.session_type, None), "id": slot.pk,
                               "track": track.pk, "DELETE": "on"}])
    response = as_director.post(reverse("track_edit", args=[track.pk]), data, follow=True)
    assert "1 removed" in response.content.decode()
    assert not WeeklySlot.objects.filter(pk=slot.pk).exists()
    assert list(TherapySession.objects.filter(track=track)) == [past]
