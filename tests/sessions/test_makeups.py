"""Make-up sessions: another track's session of the same kind with a free seat; the seat counts
in that session, the hours in the participant's own week."""
import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from sessions.models import Attendance
from sessions.selectors.ledger import hours_ledger
from sessions.selectors.makeups import makeup_options
from sessions.services.makeups import makeup_book
from tests import factories

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 2, 2)
NOW = dt.datetime(2026, 2, 9, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def clinic():
    site = factories.SiteFactory()
    program = factories.ProgramFactory()
    mine = factories.TrackFactory(site=site, program=program, start_date=MONDAY, capacity=5)
    other = factories.TrackFactory(site=site, program=program, start_date=MONDAY, capacity=2)
    person = factories.ParticipantFactory(home_site=site)
    enrollment = factories.EnrollmentFactory(participant=person, track=mine)

    def session(track, day, hour=18, kind="group"):
        starts = dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)
        return factories.TherapySessionFactory(
            track=track, site=site, kind=kind, starts_at=starts,
            ends_at=starts + dt.timedelta(hours=3), local_date=day,
            session_type=factories.SessionTypeFactory(kind=kind))

    missed_session = session(mine, MONDAY + dt.timedelta(days=7), hour=2)
    missed = factories.AttendanceFactory(session=missed_session, participant=person,
                                         enrollment=enrollment, status="absent")
    host = session(other, MONDAY + dt.timedelta(days=9))
    someone = factories.EnrollmentFactory(track=other, participant=factories.ParticipantFactory(
        home_site=site))
    factories.AttendanceFactory(session=host, participant=someone.participant,
                                enrollment=someone)
    with time_machine.travel(NOW, tick=False):
        yield locals()


def test_it_books_a_make_up_that_takes_a_seat_there_and_credits_the_own_week(clinic):
    c = clinic
    assert makeup_options(enrollment=c["enrollment"], kind="group", now=NOW) == [c["host"]]

    row = makeup_book(participant=c["person"], session=c["host"], missed=c["missed"])

    assert row.enrollment == c["enrollment"] and row.session.track == c["other"]
    # The host session (capacity 2) is now full: nobody else gets it as a make-up.
    assert makeup_options(enrollment=c["enrollment"], kind="group", now=NOW) == []
    third = factories.EnrollmentFactory(track=c["mine"], participant=factories.ParticipantFactory(
        home_site=c["site"]))
    with pytest.raises(ValidationError) as full:
        makeup_book(participant=third.participant, session=c["host"])
    assert full.value.code == "session_full"
    # Marked present, the three hours count in the participant's own week.
    Attendance.objects.filter(pk=row.pk).update(status="present")
    later = NOW + dt.timedelta(days=7)
    ledger = hours_ledger(enrollment=c["enrollment"], today=later.date(), now=later)
    week = next(w for w in ledger.weeks if w.week_start == MONDAY + dt.timedelta(days=7))
    assert week.attended_minutes == 180


def test_it_refuses_the_own_track_another_kind_and_a_clash(clinic):
    c = clinic
    own = c["session"](c["mine"], MONDAY + dt.timedelta(days=10))
    workshop = c["session"](c["other"], MONDAY + dt.timedelta(days=11), kind="workshop")
    for session, code in ((own, "own_track"), (workshop, "kind_differs")):
        with pytest.raises(ValidationError) as refused:
            makeup_book(participant=c["person"], session=session, missed=c["missed"])
        assert refused.value.code == code
    busy = c["session"](c["mine"], c["host"].local_date, hour=19)
    factories.AttendanceFactory(session=busy, participant=c["person"],
                                enrollment=c["enrollment"])
    with pytest.raises(ValidationError) as clash:
        makeup_book(participant=c["person"], session=c["host"], missed=c["missed"])
    assert clash.value.code == "schedule_conflict"
    assert not Attendance.objects.filter(session=c["host"], participant=c["person"]).exists()


def test_staff_book_a_make_up_from_the_chart_and_the_roster_shows_it(clinic, client,
                                                                     django_assert_max_num_queries):
    from django.urls import reverse

    from accounts.roles import Role
    from tests.auth import sign_in

    c = clinic
    desk = sign_in(client, factories.StaffFactory(role=Role.FRONT_DESK, sites=[c["site"]]))
    chart = desk.get(reverse("participant_chart", args=[c["person"].code])).text
    url = reverse("makeup_book", args=[c["missed"].pk])
    assert url in chart
    for extra in range(2):  # the page's cost does not grow with the options
        c["session"](c["other"], MONDAY + dt.timedelta(days=10 + extra))
        # 9, and one to see whether the miss is already made up.
        with django_assert_max_num_queries(10):
            assert desk.get(url).status_code == 200

    response = desk.post(url, {"session": c["host"].pk})

    assert response.status_code == 302
    roster = desk.get(reverse("roster", args=[c["host"].pk])).text
    assert roster.count("makeup-badge") == 1
    assert desk.post(url, {"session": c["host"].pk}).status_code == 200  # already booked


def test_a_make_up_seat_counts_against_the_host_tracks_capacity_not_the_own(clinic):
    from participants.models import EnrollmentStatus
    from participants.selectors import track_seats_taken
    from sessions.services.enrollment import enrollment_enroll

    c = clinic
    c["other"].mode = "rolling"
    c["other"].save()
    own_seats = track_seats_taken(track=c["mine"])
    makeup_book(participant=c["person"], session=c["host"], missed=c["missed"])

    # The host track (capacity 2) has one member and one make-up seat at its session ahead:
    # a newcomer would be expected there too, so they wait for a seat.
    newcomer = factories.ParticipantFactory(home_site=c["site"])
    joined = enrollment_enroll(participant=newcomer, track=c["other"],
                               admission_date=MONDAY + dt.timedelta(days=8))
    assert joined.status == EnrollmentStatus.WAITLISTED
    assert track_seats_taken(track=c["mine"]) == own_seats  # the make-up keeps its own seat

    # Once the make-up is over the seat is free again, and the waitlist gets it first: the
    # newcomer who waited is offered it, and the next person queues behind them.
    with time_machine.travel(c["host"].ends_at + dt.timedelta(hours=1), tick=False):
        later = enrollment_enroll(participant=factories.ParticipantFactory(home_site=c["site"]),
                                  track=c["other"],
                                  admission_date=c["host"].local_date + dt.timedelta(days=1))
    joined.refresh_from_db()
    assert joined.seat_offered_at is not None
    assert later.status == EnrollmentStatus.WAITLISTED and later.seat_offered_at is None


def test_a_made_up_miss_is_offered_no_other_until_its_make_up_is_cancelled(clinic, client):
    from django.urls import reverse

    from accounts.roles import Role
    from sessions.services.schedule import session_cancel
    from tests.auth import sign_in

    c = clinic
    desk = sign_in(client, factories.StaffFactory(role=Role.FRONT_DESK, sites=[c["site"]]))
    chart_url = reverse("participant_chart", args=[c["person"].code])
    offer = reverse("makeup_book", args=[c["missed"].pk])
    later = c["session"](c["other"], MONDAY + dt.timedelta(days=10))
    assert desk.post(offer, {"session": c["host"].pk}).status_code == 302
    assert Attendance.objects.get(session=c["host"], participant=c["person"]).makeup_for == \
        c["missed"]

    # Booked: the chart says when it is made up and offers no second make-up for it.
    chart = desk.get(chart_url).text
    assert "made up Wed, Feb 11" in chart and offer not in chart
    page = desk.get(offer).text
    assert "Already made up" in page and "makeup-option" not in page
    with pytest.raises(ValidationError) as twice:
        makeup_book(participant=c["person"], session=later, missed=c["missed"])
    assert twice.value.code == "already_made_up"

    # The clinic cancels the host session: the miss is open again and can be made up later.
    session_cancel(session=c["host"], reason="Facilitator ill", notify=False)
    chart = desk.get(chart_url).text
    assert "made up" not in chart and offer in chart
    # The cancelled make-up offers nothing of its own: one miss, one offer.
    cancelled = Attendance.objects.get(session=c["host"], participant=c["person"])
    assert reverse("makeup_book", args=[cancelled.pk]) not in chart
    assert desk.post(offer, {"session": later.pk}).status_code == 302
    assert "made up Thu, Feb 12" in desk.get(chart_url).text


def test_a_make_up_the_participant_missed_too_reopens_the_offer(clinic):
    c = clinic
    row = makeup_book(participant=c["person"], session=c["host"], missed=c["missed"])
    Attendance.objects.filter(pk=row.pk).update(status="absent")
    later = c["session"](c["other"], MONDAY + dt.timedelta(days=10))

    # Offered from the missed make-up's own row, it still makes up for the first miss.
    again = makeup_book(participant=c["person"], session=later, missed=row)

    assert again.makeup_for == c["missed"]


def test_only_a_missed_session_of_the_participant_is_made_up(clinic):
    c = clinic
    later = c["session"](c["other"], MONDAY + dt.timedelta(days=10))
    attended = factories.AttendanceFactory(
        session=c["session"](c["mine"], MONDAY + dt.timedelta(days=8), hour=1),
        participant=c["person"], enrollment=c["enrollment"], status="present")
    with pytest.raises(ValidationError) as refused:
        makeup_book(participant=c["person"], session=later, missed=attended)
    assert refused.value.code == "not_missed"


def test_cancelling_a_make_up_frees_its_seat_and_reopens_the_offer(clinic, client):
    from django.urls import reverse

    from accounts.roles import Role
    from sessions.services.makeups import makeup_cancel
    from tests.auth import sign_in

    c = clinic
    desk = sign_in(client, factories.StaffFactory(role=Role.FRONT_DESK, sites=[c["site"]]))
    chart_url = reverse("participant_chart", args=[c["person"].code])
    row = makeup_book(participant=c["person"], session=c["host"], missed=c["missed"])
    assert makeup_options(enrollment=c["enrollment"], kind="group", now=NOW) == []  # full
    chart = desk.get(chart_url).text
    cancel = reverse("makeup_cancel", args=[row.pk])
    assert cancel in chart and "made up Wed, Feb 11" in chart

    response = desk.post(cancel)

    assert response.status_code == 302
    assert not Attendance.objects.filter(pk=row.pk).exists()
    # The host session's seat is free again, and the miss is offered a make-up once more.
    assert makeup_options(enrollment=c["enrollment"], kind="group", now=NOW) == [c["host"]]
    chart = desk.get(chart_url).text
    assert "made up" not in chart and reverse("makeup_book", args=[c["missed"].pk]) in chart
    # Only a make-up still ahead is taken back this way; the own track's rows are not make-ups.
    with pytest.raises(ValidationError) as own:
        makeup_cancel(attendance=c["missed"])
    assert own.value.code == "not_a_makeup"
    again = makeup_book(participant=c["person"], session=c["host"], missed=c["missed"])
    with time_machine.travel(c["host"].starts_at, tick=False), \
            pytest.raises(ValidationError) as begun:
        makeup_cancel(attendance=again)
    assert begun.value.code == "not_ahead"


def test_a_cancelled_make_up_gives_its_seat_to_the_host_tracks_waitlist(clinic):
    from participants.models import EnrollmentStatus
    from sessions.services.enrollment import enrollment_enroll
    from sessions.services.makeups import makeup_cancel

    c = clinic
    c["other"].mode = "rolling"
    c["other"].save()
    row = makeup_book(participant=c["person"], session=c["host"], missed=c["missed"])
    waiting = enrollment_enroll(participant=factories.ParticipantFactory(home_site=c["site"]),
                                track=c["other"], admission_date=MONDAY + dt.timedelta(days=8))
    assert waiting.status == EnrollmentStatus.WAITLISTED and waiting.seat_offered_at is None

    makeup_cancel(attendance=row)

    waiting.refresh_from_db()
    assert waiting.seat_offered_at is not None


def test_the_chart_offers_a_make_up_for_a_group_the_clinic_closed_not_for_one_attended(
        clinic, client):
    from django.urls import reverse

    from accounts.roles import Role
    from sessions.services.schedule import closure_add
    from tests.auth import sign_in

    c = clinic
    closed_day = MONDAY + dt.timedelta(days=10)
    closed = factories.AttendanceFactory(session=c["session"](c["mine"], closed_day, hour=14),
                                         participant=c["person"], enrollment=c["enrollment"])
    attended = factories.AttendanceFactory(
        session=c["session"](c["mine"], MONDAY + dt.timedelta(days=8), hour=1),
        participant=c["person"], enrollment=c["enrollment"], status="present")
    closure_add(site=c["site"], date=closed_day, reason="Snow", notify=False)
    closed.refresh_from_db()
    assert closed.status == "cancelled"

    later = NOW + dt.timedelta(days=4)  # the closed day is past, shown in history
    with time_machine.travel(later, tick=False):
        desk = sign_in(client, factories.StaffFactory(role=Role.FRONT_DESK, sites=[c["site"]]))
        chart = desk.get(reverse("participant_chart", args=[c["person"].code])).text

    assert reverse("makeup_book", args=[closed.pk]) in chart
    assert reverse("makeup_book", args=[c["missed"].pk]) in chart
    assert reverse("makeup_book", args=[attended.pk]) not in chart
