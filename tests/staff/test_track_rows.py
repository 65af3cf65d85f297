"""The track page's timetable rows written in Python (staff/track_rows.py) and its reads compiled
once a process (sessions/selectors/care.py, staff/access.py) show what the template loop and
the ORM querysets showed."""
import datetime as dt

import pytest
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from accounts.roles import Role
from participants.models import Enrollment, EnrollmentStatus
from programs.models import Track, WeeklySlot
from sessions.models import SessionStatus
from sessions.selectors import care
from staff.access import get_track_or_404, tracks_for
from staff.track_rows import slots_html
from tests import factories

pytestmark = pytest.mark.django_db

# The timetable loop as track_detail.html wrote it before staff/track_rows.py wrote it itself.
_OLD_LOOP = (
    '{% for slot in slots %}\n      <tr><td>{{ slot.get_weekday_display }}</td><td>'
    '{{ slot.start_time|clock }} · {{ slot.duration_minutes }} min</td><td>'
    '{{ slot.title|default:slot.session_type.name }}</td><td>'
    '{{ slot.facilitator.get_full_name|default:"—" }}</td><td>'
    '{{ slot.room.name|default:"—" }}</td></tr>\n      {% endfor %}')

_TRICKY = 'O\'Brien & <"Sons">'


@pytest.fixture
def timetabled(site):
    track = factories.TrackFactory(site=site)
    tricky_type = factories.SessionTypeFactory(name=_TRICKY)
    facilitator = factories.StaffFactory(role=Role.CLINICIAN, sites=[site], first_name="Ana",
                                         last_name=_TRICKY)
    nameless = factories.StaffFactory(role=Role.CLINICIAN, sites=[site], first_name="",
                                      last_name="")
    room = factories.RoomFactory(site=site, name=_TRICKY)
    factories.WeeklySlotFactory(track=track, weekday=0, start_time=dt.time(9, 0),
                                duration_minutes=1500, title="", session_type=tricky_type,
                                facilitator=facilitator, room=room)
    factories.WeeklySlotFactory(track=track, weekday=0, start_time=dt.time(13, 30),
                                title=_TRICKY, facilitator=None, room=None)
    factories.WeeklySlotFactory(track=track, weekday=6, start_time=dt.time(9, 0),
                                title="Skills", facilitator=nameless, room=room)
    return track


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_timetable_rows_are_written_as_the_loop_wrote_them(timetabled, language):
    slots = care.track_slots(track=timetabled)
    assert len(slots) == 3
    with translation.override(language):
        loop = Template(_OLD_LOOP).render(Context({"slots": slots}))
        assert slots_html(slots=slots) == loop
    assert "O&#x27;Brien &amp; &lt;&quot;Sons&quot;&gt;" in loop and "<td>—</td>" in loop


def test_the_track_page_shows_its_timetable_people_and_sessions(as_director, site, timetabled):
    person = factories.EnrollmentFactory(track=timetabled, status=EnrollmentStatus.ACTIVE)
    factories.TherapySessionFactory(track=timetabled, site=site, status=SessionStatus.SCHEDULED,
                                    local_date=dt.date.today() + dt.timedelta(days=2))
    page = as_director.get(reverse("track_detail", args=[timetabled.pk])).content.decode()
    assert "<tr><td>Monday</td>" in page and "<td>O&#x27;Brien &amp; &lt;&quot;Sons" in page
    assert person.participant.full_name in page
    assert "1 session scheduled from today" in page


def _fields(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_the_track_reads_find_what_the_orm_querysets_find(site, timetabled):
    today = dt.date.today()
    factories.EnrollmentFactory(track=timetabled, status=EnrollmentStatus.ACTIVE)
    factories.EnrollmentFactory(track=timetabled, status=EnrollmentStatus.ON_HOLD,
                                held_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    factories.EnrollmentFactory(track=timetabled, status=EnrollmentStatus.DISCHARGED,
                                discharge_date=dt.date(2026, 2, 1), discharge_reason="other")
    factories.EnrollmentFactory(track=timetabled, status=EnrollmentStatus.WAITLISTED,
                                waitlisted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    for days, status in ((-1, SessionStatus.SCHEDULED), (0, SessionStatus.SCHEDULED),
                         (3, SessionStatus.CANCELLED), (4, SessionStatus.SCHEDULED)):
        factories.TherapySessionFactory(track=timetabled, site=site, status=status,
                                        local_date=today + dt.timedelta(days=days))

    people = care.track_people(track=timetabled)
    expected = list(Enrollment.objects.filter(
        track=timetabled,
        status__in=(*EnrollmentStatus.seat_holding(), EnrollmentStatus.WAITLISTED))
        .order_by("participant__last_name", "participant__first_name", "pk")
        .values_list(*care._TRACK_PERSON_FIELDS))
    assert [tuple(vars(p).values())[:9] for p in people.in_care + people.waitlist] == [
        row for row in expected if row[2] != EnrollmentStatus.WAITLISTED] + [
        row for row in expected if row[2] == EnrollmentStatus.WAITLISTED]
    assert len(people.in_care) == 2 and len(people.waitlist) == 1

    slots = care.track_slots(track=timetabled)
    orm = list(timetabled.weekly_slots.select_related("session_type", "room", "facilitator")
               .order_by("weekday", "start_time", "pk"))
    assert [_fields(s) for s in slots] == [_fields(s) for s in orm]
    for slot, want in zip(slots, orm, strict=True):
        for name in ("session_type", "room", "facilitator", "track"):
            field = WeeklySlot._meta.get_field(name)
            assert field.is_cached(slot), name  # no query to show it
            assert getattr(slot, name) == getattr(want, name)

    assert care.track_session_counts(track=timetabled, today=today) == timetabled.sessions.aggregate(
        ahead=Count("pk", filter=Q(local_date__gte=today, status=SessionStatus.SCHEDULED)),
        total=Count("pk")) == {"ahead": 2, "total": 4}
    empty = factories.TrackFactory(site=site)
    assert care.track_session_counts(track=empty, today=today) == {"ahead": 0, "total": 0}


def test_a_track_is_found_only_at_ones_own_sites(site, other_site, timetabled):
    mine = factories.StaffFactory(role=Role.CLINICIAN, sites=[site])
    both = factories.StaffFactory(role=Role.CLINICIAN, sites=[site, other_site])
    elsewhere = factories.StaffFactory(role=Role.CLINICIAN, sites=[other_site])
    there = factories.TrackFactory(site=other_site)
    for user in (mine, both, elsewhere):
        for track in (timetabled, there):
            try:
                want = get_object_or_404(tracks_for(user).select_related("program", "site"),
                                         pk=track.pk)
            except Http404:
                with pytest.raises(Http404):
                    get_track_or_404(user, track.pk)
                continue
            found = get_track_or_404(user, track.pk)
            assert _fields(found) == _fields(want)
            assert found.program == want.program and found.site == want.site
            assert Track._meta.get_field("program").is_cached(found)
            assert Track._meta.get_field("site").is_cached(found)
    with pytest.raises(Http404):
        get_track_or_404(mine, 2**31)
    with pytest.raises(Http404):
        get_track_or_404(mine, 999_999)
