"""Issue 13, item 7: one session moved on a staff page or in the admin, always through the
service: clashes named, nothing half-written, reminders re-planned."""
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from sessions.models import TherapySession
from sessions.services.session_change import session_change
from tests import factories

from .conftest import MONDAY, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

TUESDAY = MONDAY + dt.timedelta(days=1)


@pytest.fixture
def two_groups(track, clinician, site):
    """Tuesday: ours 10:00-13:00 in Room A with 3 people; theirs 18:00-21:00 in Room B with 2 of
    the same people and the same facilitator."""
    room_b = factories.RoomFactory(site=site, name="Room B")
    ours, rows = make_group_session(track, size=3, day=TUESDAY, hour=10, facilitator=clinician)
    other_track = factories.TrackFactory(site=site)
    other_track.room_for_tests = room_b
    theirs, _ = make_group_session(other_track, size=0, day=TUESDAY, hour=18,
                                   facilitator=clinician)
    for row in rows[:2]:
        factories.AttendanceFactory(session=theirs, participant=row.participant)
    return ours, theirs, room_b


def test_it_refuses_a_move_onto_a_clash_and_names_each_one(two_groups, clinician):
    ours, theirs, room_b = two_groups
    with pytest.raises(ValidationError) as error:
        session_change(session=ours, starts_at_local=dt.datetime(2026, 1, 6, 18, 30),
                       room=room_b)
    text = " ".join(error.value.messages)
    assert error.value.code == "schedule_conflict"
    assert "Room B" in text and clinician.get_full_name() in text
    shared = ours.attendances.order_by("participant_id").first().participant
    assert "clashes with the schedule" in text
    assert any(a.participant.full_name in text for a in theirs.attendances.all())
    assert shared  # the two people booked in both are among the named clashes
    ours.refresh_from_db()
    assert ours.starts_at.astimezone(ours.site.zone).hour == 10 and ours.room.name == "Room A"


def test_it_moves_a_session_and_replans_everyones_reminders(two_groups, replans):
    ours, _theirs, _room_b = two_groups
    moved = session_change(session=ours, starts_at_local=dt.datetime(2026, 1, 7, 9, 0),
                           duration_minutes=120)
    assert (moved.local_date, moved.duration_minutes) == (dt.date(2026, 1, 7), 120)
    expected = sorted(ours.attendances.values_list("participant_id", flat=True))
    assert sorted(pk for call in replans for pk in call) == expected


def test_it_refuses_to_move_a_session_that_has_started(track, clinician):
    tonight, _ = make_group_session(track, size=1, facilitator=clinician)  # 18:00, now 20:00
    with pytest.raises(ValidationError) as error:
        session_change(session=tonight, starts_at_local=dt.datetime(2026, 1, 8, 18, 0))
    assert error.value.code == "session_started"


def test_the_staff_page_names_the_clashes_and_then_saves(as_front_desk, two_groups):
    ours, _theirs, room_b = two_groups
    url = reverse("session_change", args=[ours.pk])
    form = as_front_desk.get(url).content.decode()
    assert 'value="2026-01-06"' in form and 'value="10:00"' in form

    clash = as_front_desk.post(url, {"day": "2026-01-06", "start_time": "18:30",
                                     "duration_minutes": "180", "room": room_b.pk,
                                     "facilitator": ""})
    assert clash.status_code == 200 and "Room B" in clash.content.decode()
    ok = as_front_desk.post(url, {"day": "2026-01-06", "start_time": "14:00",
                                  "duration_minutes": "180", "room": room_b.pk,
                                  "facilitator": ""})
    assert ok.status_code == 302
    ours.refresh_from_db()
    assert ours.starts_at.astimezone(ours.site.zone).hour == 14 and ours.room == room_b


def test_the_admin_changes_a_session_only_through_the_service(admin_client, two_groups):
    ours, theirs, room_b = two_groups
    url = reverse("admin:iop_sessions_therapysession_change", args=[ours.pk])
    # Typed at the site's clock (New York), as the page shows them.
    data = {"title": ours.title, "starts_at_0": "2026-01-06", "starts_at_1": "18:30:00",
            "ends_at_0": "2026-01-06", "ends_at_1": "21:30:00", "room": room_b.pk,
            "facilitator": ours.facilitator_id,
            "attendances-TOTAL_FORMS": "0", "attendances-INITIAL_FORMS": "0",
            "attendances-MIN_NUM_FORMS": "0", "attendances-MAX_NUM_FORMS": "1000"}
    refused = admin_client.post(url, data)
    assert refused.status_code == 200 and "Room B" in refused.content.decode()
    assert TherapySession.objects.get(pk=ours.pk).room.name == "Room A"

    data |= {"starts_at_1": "14:00:00", "ends_at_0": "2026-01-06", "ends_at_1": "17:00:00",
             "facilitator": ""}  # in New York, before theirs
    saved = admin_client.post(url, data)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    ours.refresh_from_db()
    assert ours.room == room_b and ours.starts_at.astimezone(ours.site.zone).hour == 14
    assert not admin_client.get(reverse("admin:iop_sessions_therapysession_add")).status_code \
        == 200


def test_the_admin_keeps_the_timetable_read_only(admin_client, track):
    slot = factories.WeeklySlotFactory(track=track)
    page = admin_client.get(reverse("admin:programs_weeklyslot_change", args=[slot.pk]))
    assert 'name="start_time"' not in page.content.decode()
    assert admin_client.get(reverse("admin:programs_weeklyslot_add")).status_code == 403
