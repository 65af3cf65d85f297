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
    "seat_offer_hours": "48", "cant_come_reply": "follow_up", "minor_disclosure_signer": "both",
    "is_active": "on",
}


def _track_post(program, site, lead=None, **overrides):
    data = {
        "program": program.pk, "site": site.pk, "name": "Evening — Mon/Wed/Thu 6–9 pm",
        "mode": "cohort", "start_date": "2026-02-02", "end_date": "", "capacity": "10",
        "lead_clinician": lead.pk if lead else "", "is_active": "on",
    }
    data.update(overrides)
    return data


def _slot(session_type, room, **overrides):
    """A timetable line as the builder's form posts it: Monday 6 to 9 pm."""
    slot = {"weekday": "0", "start_time": "18:00", "end_time": "21:00",
            "session_type": session_type.pk, "title": "Process group", "facilitator": "",
            "room": room.pk if room else ""}
    slot.update(overrides)
    return slot


def _slots(track):
    return list(track.weekly_slots.order_by("weekday", "start_time")
                .values_list("weekday", "start_time", "duration_minutes"))


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


def test_it_creates_a_track_then_builds_its_timetable_slot_by_slot(as_director, site, clinician):
    program = factories.ProgramFactory(sites=[site])
    room = factories.RoomFactory(site=site)
    group = factories.SessionTypeFactory()

    response = as_director.post(reverse("track_create"), _track_post(program, site, clinician))

    track = Track.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("track_timetable", args=[track.pk])
    assert track.lead_clinician == clinician
    assert track.end_date is not None  # a cohort gets start + program duration
    for weekday in ("0", "2", "3"):
        response = as_director.post(reverse("slot_add", args=[track.pk]),
                                    _slot(group, room, weekday=weekday))
        assert response.status_code == 302, response.content.decode()[-3000:]
    assert _slots(track) == [(day, dt.time(18, 0), 180) for day in (0, 2, 3)]
    page = as_director.get(reverse("track_timetable", args=[track.pk]), follow=True)
    assert page.content.decode().count("6:00 PM – 9:00 PM") == 3


def _refused(response, field: str) -> str:
    """The page came back with `field` marked wrong; returns the page."""
    page = response.content.decode()
    assert response.status_code == 200
    assert f'id="id_{field}"' in page
    tag = page[page.index(f'id="id_{field}"') - 200:page.index(f'id="id_{field}"') + 200]
    assert "is-invalid" in tag, tag
    return page


def test_it_refuses_a_room_at_another_site(as_director, site, other_site):
    track = factories.TrackFactory(site=site)
    other_site.staff.add(*site.staff.all())  # the director sees both sites' rooms
    far_room = factories.RoomFactory(site=other_site)
    response = as_director.post(reverse("slot_add", args=[track.pk]),
                                _slot(factories.SessionTypeFactory(), far_room))
    _refused(response, "room")
    assert not WeeklySlot.objects.exists()


def test_it_refuses_an_individual_session_type_in_a_timetable(as_director, site):
    track = factories.TrackFactory(site=site)
    individual = factories.SessionTypeFactory(kind="individual")
    response = as_director.post(reverse("slot_add", args=[track.pk]), _slot(individual, None))
    _refused(response, "session_type")
    assert not WeeklySlot.objects.exists()


@pytest.mark.parametrize("bad, field, message", [
    ({"start_time": "18:00"}, "start_time", "overlaps Process group on Monday, 6:00 PM to 9:00 PM"),
    ({"start_time": "20:30", "end_time": "22:00"}, "start_time", "overlaps"),
    ({"start_time": "16:00", "end_time": "18:30"}, "start_time", "overlaps"),
    ({"start_time": "21:00", "end_time": "20:00"}, "end_time", "The end must be after the start"),
    ({"start_time": "21:00", "end_time": "21:00"}, "end_time", "The end must be after the start"),
    ({"start_time": "21:00", "end_time": "21:03"}, "end_time", "lasts from 5 minutes to 12 hours"),
    ({"start_time": "soon"}, "start_time", "Enter a valid time"),
    ({"weekday": "9"}, "weekday", "Select a valid choice"),
])
def test_it_refuses_a_bad_new_slot_with_a_field_error_and_adds_nothing(as_director, site, bad,
                                                                        field, message):
    track = factories.TrackFactory(site=site)
    group = factories.SessionTypeFactory()
    factories.WeeklySlotFactory(track=track, weekday=0, start_time=dt.time(18), title="",
                                duration_minutes=180, session_type=group)
    group.name = "Process group"
    group.save()
    before = _slots(track)

    response = as_director.post(reverse("slot_add", args=[track.pk]), _slot(group, None, **bad))

    page = _refused(response, field)
    assert message.lower() in page.lower()
    assert _slots(track) == before


@pytest.mark.parametrize("bad", [{"end_date": "2026-01-01"}, {"capacity": "0"},
                                 {"start_date": "someday"}, {"site": "999999"},
                                 {"mode": "rolling", "end_date": "2020-01-01"}])
def test_it_shows_field_errors_for_a_bad_track(as_director, site, bad):
    program = factories.ProgramFactory(sites=[site])
    response = as_director.post(reverse("track_create"), {**_track_post(program, site), **bad})
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode() or "alert-danger" in response.content.decode()
    assert not Track.objects.exists()


def test_it_survives_a_slot_post_with_nothing_in_it(as_director, site):
    track = factories.TrackFactory(site=site)
    response = as_director.post(reverse("slot_add", args=[track.pk]), {})
    _refused(response, "start_time")
    assert not WeeklySlot.objects.exists()


def test_it_moves_a_slot_of_a_track_without_sessions(as_director, site):
    slot = factories.WeeklySlotFactory(track=factories.TrackFactory(site=site))
    track = slot.track
    response = as_director.post(reverse("slot_change", args=[track.pk, slot.pk]),
                                _slot(slot.session_type, None, weekday="3", start_time="17:30",
                                      end_time="19:00"))
    assert response.status_code == 302
    slot.refresh_from_db()
    assert (slot.weekday, slot.start_time, slot.duration_minutes) == (3, dt.time(17, 30), 90)


def test_it_moves_only_future_unmarked_sessions_with_a_moved_slot(as_director, site):
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
    page = as_director.get(reverse("slot_change", args=[track.pk, slot.pk])).content.decode()
    assert "2 sessions ahead" in page and "the 1 with marked attendance stay" in page
    response = as_director.post(reverse("slot_change", args=[track.pk, slot.pk]),
                                _slot(slot.session_type, None, start_time="17:30",
                                      end_time="20:30"), follow=True)
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


@pytest.mark.parametrize("bad, field", [
    ({"weekday": "2", "start_time": "19:00", "end_time": "20:00"}, "start_time"),  # Wednesday's
    ({"start_time": "18:00", "end_time": "17:00"}, "end_time"),
    ({"end_time": "nope"}, "end_time"),
])
def test_it_refuses_a_bad_move_with_a_field_error_and_moves_nothing(as_director, site, bad,
                                                                     field):
    track = factories.TrackFactory(site=site)
    slot = factories.WeeklySlotFactory(track=track, weekday=0)
    factories.WeeklySlotFactory(track=track, weekday=2, start_time=dt.time(18),
                                duration_minutes=180)
    future, _ = make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=7))
    TherapySession.objects.filter(pk=future.pk).update(weekly_slot=slot)
    before = _slots(track), TherapySession.objects.get(pk=future.pk).starts_at

    response = as_director.post(reverse("slot_change", args=[track.pk, slot.pk]),
                                _slot(slot.session_type, None, **bad))

    _refused(response, field)
    assert (_slots(track), TherapySession.objects.get(pk=future.pk).starts_at) == before


def test_it_asks_before_removing_a_slot(as_director, site):
    slot = factories.WeeklySlotFactory(track=factories.TrackFactory(site=site))
    future, _ = make_group_session(slot.track, size=0, day=MONDAY + dt.timedelta(days=7))
    TherapySession.objects.filter(pk=future.pk).update(weekly_slot=slot)
    page = as_director.get(reverse("slot_remove", args=[slot.track_id, slot.pk])).content.decode()
    assert "1 session ahead comes from this slot" in page
    assert WeeklySlot.objects.filter(pk=slot.pk).exists()


def test_it_answers_404_for_a_slot_of_another_track(as_director, site):
    slot = factories.WeeklySlotFactory(track=factories.TrackFactory(site=site))
    other = factories.TrackFactory(site=site)
    for name in ("slot_change", "slot_remove"):
        url = reverse(name, args=[other.pk, slot.pk])
        assert as_director.get(url).status_code == 404
        assert as_director.post(url, _slot(slot.session_type, None)).status_code == 404
    assert WeeklySlot.objects.filter(pk=slot.pk, weekday=0).exists()


def test_the_timetable_shows_each_slot_by_day_and_time_with_its_full_name(as_director, site):
    track = factories.TrackFactory(site=site)
    long_name = "Relapse prevention and coping skills workshop for families"
    factories.WeeklySlotFactory(track=track, weekday=2, start_time=dt.time(18, 30),
                                duration_minutes=90, title="",
                                session_type=factories.SessionTypeFactory(name=long_name))
    page = as_director.get(reverse("track_timetable", args=[track.pk])).content.decode()
    assert long_name in page
    at = page.index(long_name)
    block = page[page.rindex('<li class="tg-event', 0, at):at]
    # 6:30 PM is the grid's first row (it starts on the hour before), 90 minutes are 6 rows.
    assert "tg-start-3 tg-span-6" in block and "6:30 PM – 8:00 PM" in block
    wednesday = page.rindex("Wednesday", 0, at)
    assert "Thursday" not in page[wednesday:at]


def test_the_schedule_preview_is_a_calendar_of_the_first_week(as_director, site):
    track = factories.TrackFactory(site=site, start_date=MONDAY + dt.timedelta(days=7),
                                   end_date=MONDAY + dt.timedelta(days=34))
    factories.WeeklySlotFactory(track=track, weekday=3, start_time=dt.time(18),
                                duration_minutes=120, title="Thursday group")
    page = as_director.get(reverse("schedule_generate", args=[track.pk])).content.decode()
    assert "week of Monday, January 12, 2026" in page
    at = page.index("Thursday group")
    assert "Thu, Jan 15" in page[page.rindex("<section", 0, at):at]
    assert "6:00 PM – 8:00 PM" in page[at - 300:at]


@pytest.mark.parametrize("size", [1, 6])
def test_it_keeps_fixed_query_budgets(as_director, site, size, django_assert_max_num_queries):
    for _ in range(size):
        track = factories.TrackFactory(site=site)
        factories.EnrollmentFactory(track=track)
        for weekday in range(size):
            slot = factories.WeeklySlotFactory(track=track, weekday=weekday,
                                               facilitator=factories.StaffFactory(sites=[site]),
                                               room=factories.RoomFactory(site=site))
    # The line's next session has `size` people to tell if it moves (the count the slot pages show).
    session, rows = make_group_session(track, size=size, day=MONDAY + dt.timedelta(days=2),
                                       weekly_slot=slot)
    for row in rows:
        factories.ContactConsentFactory(participant=row.participant, channel="sms")
    # +1 on each page since directors' second factor is checked per request. The track form
    # lost its timetable formset (17 queries): the builder's pages each read what they show.
    # -2 since the user's roles, sites and participant check are one query (staff/access.py).
    with django_assert_max_num_queries(7):
        assert as_director.get(reverse("program_list")).status_code == 200
    with django_assert_max_num_queries(8):
        assert as_director.get(reverse("track_edit", args=[track.pk])).status_code == 200
    with django_assert_max_num_queries(6):
        assert as_director.get(reverse("track_timetable", args=[track.pk])).status_code == 200
    with django_assert_max_num_queries(8):
        assert as_director.get(reverse("slot_add", args=[track.pk])).status_code == 200
    # +9: the sessions the line would move and the people they would tell (notice_audience).
    with django_assert_max_num_queries(19):
        page = as_director.get(reverse("slot_change", args=[track.pk, slot.pk])).content.decode()
    assert f"{size} {'person' if size == 1 else 'people'} will be told" in page
    with django_assert_max_num_queries(16):
        page = as_director.get(reverse("slot_remove", args=[track.pk, slot.pk])).content.decode()
    assert f"{size} {'person' if size == 1 else 'people'} will be told" in page
    # 14 with a session already made: the preview reads the sessions it would not duplicate.
    with django_assert_max_num_queries(12):
        assert as_director.get(reverse("schedule_generate", args=[track.pk])).status_code == 200


@pytest.mark.parametrize("tracks", [0, 8])
def test_it_keeps_a_fixed_query_budget_on_the_program_form(as_director, site, tracks,
                                                          django_assert_max_num_queries):
    program = factories.ProgramFactory(sites=[site])
    for _ in range(tracks):
        factories.TrackFactory(site=site, program=program)
    # 7 before programs belonged to sites; +2: the director's sites to offer it at, and which
    # of them already do; -2: the user's roles, sites and participant check in one query.
    with django_assert_max_num_queries(7):
        assert as_director.get(reverse("program_edit", args=[program.pk])).status_code == 200


def test_it_removes_future_sessions_with_a_removed_slot(as_director, site):
    slot = factories.WeeklySlotFactory(track=factories.TrackFactory(site=site))
    track = slot.track
    past, _ = make_group_session(track, size=0)
    future, _ = make_group_session(track, size=0, day=MONDAY + dt.timedelta(days=7))
    TherapySession.objects.filter(pk__in=[past.pk, future.pk]).update(weekly_slot=slot)
    response = as_director.post(reverse("slot_remove", args=[track.pk, slot.pk]), follow=True)
    assert "Monday 6:00 PM, Skills group removed, with 1 future session(s)" in (
        response.content.decode())
    assert not WeeklySlot.objects.filter(pk=slot.pk).exists()
    assert list(TherapySession.objects.filter(track=track)) == [past]


def test_it_lets_a_director_set_the_family_contact_policy(as_director, site):
    from programs.models import Program

    response = as_director.post(reverse("program_create"), {
        **PROGRAM, "minor_disclosure_signer": "participant",
        "contacts_hear_all_minor_sessions": "on", "offered_at": [site.pk]})
    assert response.status_code == 302
    program = Program.objects.get(name=PROGRAM["name"])
    assert program.minor_disclosure_signer == "participant"
    assert program.contacts_hear_all_minor_sessions
