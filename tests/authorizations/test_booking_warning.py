"""Booking a session past the authorized units or dates warns with the figures; staff may
still book, and the warning is recorded (audited)."""
import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from authorizations.models import AuthorizationOverride
from sessions.models import TherapySession
from tests.authorizations.world import MONDAY
from tests.factories import SessionTypeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def individual(db):
    return SessionTypeFactory(name="Individual therapy", kind="individual",
                              default_duration_minutes=60, service_code="90832")


def booking(individual, **changes):
    data = {"session_type": individual.pk, "starts_at_local": "2026-02-12T10:00",
            "duration_minutes": "60", "title": "Check-in"}
    data.update(changes)
    return data


def test_it_warns_with_the_figures_and_books_only_when_told_to(w, individual, as_front_desk):
    auth = w.authorize(number="IND-1", unit="session", service_code="90832", units_authorized=1,
                       end_date=MONDAY + dt.timedelta(days=13))
    w.attend(MONDAY, minutes=60, session_type=individual, hour=15)
    url = reverse("personal_session_new", args=[w.participant.code])

    page = as_front_desk.post(url, booking(individual))

    assert page.status_code == 200
    text = page.text
    assert "1 used + 0 scheduled + 1 for this booking = 2 session units, over the 1 authorized" \
        in text
    assert "Book anyway" in text
    assert not TherapySession.objects.filter(title="Check-in").exists()

    done = as_front_desk.post(url, booking(individual, book_anyway="1"))

    assert done.status_code == 302
    assert TherapySession.objects.filter(title="Check-in").count() == 1
    override = AuthorizationOverride.objects.get()
    assert (override.authorization_id, override.on_date) == (auth.pk, dt.date(2026, 2, 12))
    assert "over the 1 authorized by 1" in override.warning
    assert LogEntry.objects.filter(
        content_type__model="authorizationoverride",
        additional_data__participant=w.participant.pk).exists()


def test_it_warns_of_weekly_sessions_past_the_last_covered_day(w, individual, as_front_desk):
    w.authorize(number="IND-2", unit="session", service_code="90832", units_authorized=50,
                end_date=dt.date(2026, 2, 20))
    url = reverse("personal_session_new", args=[w.participant.code])

    text = as_front_desk.post(url, booking(individual, repeat_weekly="on")).text

    assert "fall outside every approved 90832 authorization; the last covered day is " \
           "Feb 20, 2026" in text


def test_it_books_without_a_word_within_the_authorization(w, individual, as_front_desk):
    w.authorize(number="IND-3", unit="session", service_code="90832", units_authorized=5)
    url = reverse("personal_session_new", args=[w.participant.code])

    assert as_front_desk.post(url, booking(individual)).status_code == 302
    assert not AuthorizationOverride.objects.exists()


def test_it_warns_before_admitting_past_the_authorization_and_records_it(w, as_front_desk):
    from tests.factories import EnrollmentFactory, ParticipantFactory, TrackFactory

    track = TrackFactory(site=w.site, program=w.track.program, mode="rolling",
                         start_date=MONDAY, capacity=10)
    waiting = EnrollmentFactory(
        track=track, participant=ParticipantFactory(home_site=w.site, first_name="Wren",
                                                    last_name="Ortiz"),
        status="waitlisted", waitlisted_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        admission_date=dt.date(2026, 2, 11))
    w.enrollment = waiting
    auth = w.authorize(number="ADM-1", units_authorized=2, start_date=dt.date(2026, 2, 11),
                       end_date=dt.date(2026, 2, 16))
    for day in (11, 12, 13):
        starts = dt.datetime(2026, 2, day, 14, 0, tzinfo=dt.UTC)
        TherapySession.objects.create(
            track=track, site=w.site, session_type=w.group, kind="group", title="Group",
            starts_at=starts, ends_at=starts + dt.timedelta(hours=3),
            local_date=dt.date(2026, 2, day))
    url = reverse("waitlist_admit", args=[waiting.pk])

    page = as_front_desk.post(url, {"next": "home"})

    assert page.status_code == 200
    assert "The timetable offers 3 day units of H0015 within authorization" in page.text
    assert "runs past authorization" in page.text and "Feb 16, 2026" in page.text
    waiting.refresh_from_db()
    assert waiting.status == "waitlisted"

    done = as_front_desk.post(url, {"next": "home", "admit_anyway": "1"})

    assert done.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == "active"
    assert set(AuthorizationOverride.objects.values_list("action", "authorization_id")) == {
        ("admit", auth.pk)}
    assert AuthorizationOverride.objects.count() == 2


def test_a_make_up_past_the_units_warns_with_the_figures_and_is_recorded(w, as_front_desk):
    from sessions.models import Attendance
    from tests.factories import TherapySessionFactory, TrackFactory

    auth = w.authorize(number="MU-1", units_authorized=1)
    w.attend(MONDAY)  # the one authorized day, used
    missed = w.attend(MONDAY + dt.timedelta(days=7), "absent")
    evening = TrackFactory(site=w.site, program=w.track.program, start_date=MONDAY)
    starts = dt.datetime(2026, 2, 12, 22, 0, tzinfo=dt.UTC)
    host = TherapySessionFactory(track=evening, site=w.site, session_type=w.group,
                                 title="Evening group", starts_at=starts,
                                 ends_at=starts + dt.timedelta(hours=3))
    url = reverse("makeup_book", args=[missed.pk])

    page = as_front_desk.post(url, {"session": host.pk})

    assert page.status_code == 200
    assert "1 used + 0 scheduled + 1 for this booking = 2 day units, over the 1 authorized " \
           "by 1" in page.text
    assert "Book anyway" in page.text
    assert not Attendance.objects.filter(session=host).exists()

    done = as_front_desk.post(url, {"session": host.pk, "book_anyway": "1"})

    assert done.status_code == 302
    assert Attendance.objects.get(session=host).makeup_for == missed
    override = AuthorizationOverride.objects.get()
    assert (override.action, override.authorization_id, override.on_date) == (
        "book", auth.pk, dt.date(2026, 2, 12))
    assert "over the 1 authorized by 1" in override.warning


def test_a_make_up_within_the_authorization_books_without_a_word(w, as_front_desk):
    from sessions.models import Attendance
    from tests.factories import TherapySessionFactory, TrackFactory

    w.authorize(number="MU-2", units_authorized=10)
    missed = w.attend(MONDAY + dt.timedelta(days=7), "absent")
    evening = TrackFactory(site=w.site, program=w.track.program, start_date=MONDAY)
    starts = dt.datetime(2026, 2, 12, 22, 0, tzinfo=dt.UTC)
    host = TherapySessionFactory(track=evening, site=w.site, session_type=w.group,
                                 starts_at=starts, ends_at=starts + dt.timedelta(hours=3))

    assert as_front_desk.post(reverse("makeup_book", args=[missed.pk]),
                              {"session": host.pk}).status_code == 302
    assert Attendance.objects.filter(session=host, makeup_for=missed).exists()
    assert not AuthorizationOverride.objects.exists()


def test_resuming_past_the_authorization_warns_with_the_figures_and_is_recorded(
        w, front_desk, as_front_desk):
    from sessions.models import Attendance
    from sessions.services.enrollment import enrollment_hold

    # Held last week; the authorization ended during the hold and its units are nearly used.
    auth = w.authorize(number="HOLD-1", units_authorized=3,
                       end_date=dt.date(2026, 2, 13))
    for n in (0, 1):
        w.attend(MONDAY + dt.timedelta(days=n))
    ahead = [w.session(dt.date(2026, 2, day)) for day in (12, 13, 16, 17)]
    enrollment_hold(enrollment=w.enrollment, reason="Family emergency", by=front_desk)
    url = reverse("enrollment_resume", args=[w.enrollment.pk])

    page = as_front_desk.post(url)

    assert page.status_code == 200
    assert "Resume Avery Adams in" in page.text
    assert "2 used + 0 scheduled + 2 the timetable offers from Feb 11, 2026 = 4 day units, " \
           "over the 3 authorized by 1" in page.text
    assert "past authorization Lakeside Health Plan (invented) HOLD-1, which covers " \
           "Feb 2, 2026 to Feb 13, 2026" in page.text
    w.enrollment.refresh_from_db()
    assert w.enrollment.status == "on_hold"

    done = as_front_desk.post(url, {"resume_anyway": "1"})

    assert done.status_code == 302
    w.enrollment.refresh_from_db()
    assert w.enrollment.status == "active"
    assert Attendance.objects.filter(session__in=ahead, status="expected").count() == 4
    overrides = list(AuthorizationOverride.objects.values_list("action", "authorization_id",
                                                               "on_date"))
    assert sorted(overrides) == [("resume", auth.pk, dt.date(2026, 2, 11)),
                                 ("resume", auth.pk, dt.date(2026, 2, 14))]


def test_resuming_within_the_authorization_says_nothing(w, front_desk, as_front_desk):
    from sessions.services.enrollment import enrollment_hold

    w.authorize(number="HOLD-2", units_authorized=20, end_date=dt.date(2026, 4, 30))
    w.session(dt.date(2026, 2, 12))
    enrollment_hold(enrollment=w.enrollment, reason="Travel", by=front_desk)

    assert as_front_desk.post(reverse("enrollment_resume",
                                      args=[w.enrollment.pk])).status_code == 302
    w.enrollment.refresh_from_db()
    assert w.enrollment.status == "active" and not AuthorizationOverride.objects.exists()


def test_it_warns_when_the_payer_needs_an_authorization_and_none_is_recorded(
        w, individual, as_front_desk):
    from authorizations.models import Coverage

    Coverage.objects.create(enrollment=w.enrollment, payer=w.payer)
    url = reverse("personal_session_new", args=[w.participant.code])

    text = as_front_desk.post(url, booking(individual)).text

    assert "Lakeside Health Plan (invented) requires an authorization and none is recorded: " \
           "the 1 session(s) from Feb 12, 2026 are not authorized." in text
    assert not TherapySession.objects.filter(title="Check-in").exists()
    # Once one is requested, the booking goes through without a word.
    w.authorize(status="requested", number="")
    assert as_front_desk.post(url, booking(individual)).status_code == 302
    assert not AuthorizationOverride.objects.exists()
