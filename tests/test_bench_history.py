"""The bench clinic's history (bench/history.py): earlier cohorts that ended, with their marked
attendance, and a current clinic the same as the standard one's, so figures stay comparable."""
import datetime as dt

import pytest
from django.db.models import Count, F, Q
from django.utils import timezone

from bench.clinic import TRACKS, WEEKS, WEEKS_PAST, ZONE, _monday, build_clinic, clinic_find
from participants.models import ContinuingCarePlan, Enrollment, Participant
from programs.models import Track
from sessions.models import Attendance, ExcusedAbsenceRequest, FollowUp, TherapySession

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

PER_TRACK = 2
SESSIONS_A_WEEK = 15  # bench/clinic.py: three a day, Monday to Friday


def _today(clinic) -> dt.date:
    """The clinic's day: the day of the moment it was built at (bench/clinic.py), not the
    machine's."""
    from zoneinfo import ZoneInfo

    return clinic.now.astimezone(ZoneInfo(ZONE)).date()


def current_figures(track_ids: list[int], today: dt.date) -> dict[str, int]:
    """What the standard clinic's pages read of its current cohorts, independent of the ids'
    hashes (which differ between two builds)."""
    current = Attendance.objects.filter(enrollment__status="active")
    return {
        "tracks": Track.objects.filter(pk__in=track_ids).count(),
        "sessions": TherapySession.objects.filter(track_id__in=track_ids).count(),
        "active": Enrollment.objects.filter(status="active", track_id__in=track_ids).count(),
        "rows": current.count(),
        "rows outside the current tracks": current.exclude(session__track_id__in=track_ids).count(),
        "unmarked rows before today": current.filter(session__local_date__lt=today,
                                                     status="expected").count(),
        "marked rows from today": current.filter(session__local_date__gte=today)
                                         .exclude(status="expected").count(),
        "absences without their follow-up": current.filter(status="absent")
                                                   .exclude(followups__isnull=False).count(),
    }


def expected_figures() -> dict[str, int]:
    sessions = TRACKS * WEEKS * SESSIONS_A_WEEK
    return {"tracks": TRACKS, "sessions": sessions, "active": TRACKS * PER_TRACK,
            "rows": sessions * PER_TRACK, "rows outside the current tracks": 0,
            "unmarked rows before today": 0, "marked rows from today": 0,
            "absences without their follow-up": 0}


def assert_current_clinic_is_the_standard_one(clinic) -> None:
    assert current_figures(clinic.track_ids, _today(clinic)) == expected_figures()
    found = clinic_find()
    assert found.participants == clinic.participants == TRACKS * PER_TRACK
    assert found.track_ids[:TRACKS] == clinic.track_ids
    assert (found.portal_participant_code, found.chart_participant_code) == (
        clinic.portal_participant_code, clinic.chart_participant_code)


def test_it_builds_the_standard_clinic_by_default():
    clinic = build_clinic(participants=TRACKS * PER_TRACK, quiet=True)

    assert_current_clinic_is_the_standard_one(clinic)
    assert not Enrollment.objects.exclude(status="active").exists()
    assert not ExcusedAbsenceRequest.objects.exists()


def test_it_builds_the_clinic_at_its_moment_and_finds_the_moment_again():
    """The clinic is built at its week's Wednesday, 11 am at its sites, and keeps that moment,
    so a benchmark run on any day or at any hour measures the same day: the data is that
    moment's (consents given then, the morning's sessions not yet marked, the day before
    marked) and the moment is found again with the clinic."""
    from zoneinfo import ZoneInfo

    from bench.clinic import clinic_clock
    from participants.models import ContactConsent

    clinic = build_clinic(participants=TRACKS * PER_TRACK, quiet=True)

    local = clinic.now.astimezone(ZoneInfo(ZONE))
    assert (local.weekday(), local.time()) == (2, dt.time(11, 0))
    assert clinic.now == clinic_clock() and _monday(local.date()) == _monday(
        timezone.now().astimezone(ZoneInfo(ZONE)).date())
    assert set(ContactConsent.objects.values_list("given_at", flat=True)) == {clinic.now}
    day = Attendance.objects.filter(enrollment__status="active")
    assert not day.filter(session__local_date=local.date()).exclude(status="expected").exists()
    assert not day.filter(session__local_date=local.date() - dt.timedelta(days=1),
                          status="expected").exists()
    assert clinic_find(new_feed_token=False).now == clinic.now


def test_it_adds_earlier_cohorts_that_ended_with_their_attendance_marked():
    clinic = build_clinic(participants=TRACKS * PER_TRACK, quiet=True, history_weeks=2)

    assert_current_clinic_is_the_standard_one(clinic)
    start = _monday(_today(clinic)) - dt.timedelta(weeks=WEEKS_PAST)
    go_live = start - dt.timedelta(weeks=2)

    ended = Enrollment.objects.filter(status__in=["completed", "discharged"])
    assert ended.count() == TRACKS * PER_TRACK  # one earlier cohort reaches back two weeks
    assert not ended.filter(Q(discharge_date__isnull=True) | Q(discharge_reason="")).exists()
    assert set(ended.values_list("track__end_date", flat=True)) == {start - dt.timedelta(days=1)}
    earlier_sessions = TherapySession.objects.exclude(track_id__in=clinic.track_ids)
    assert earlier_sessions.count() == TRACKS * 2 * SESSIONS_A_WEEK  # only from the go-live day
    assert not earlier_sessions.filter(Q(local_date__lt=go_live) | Q(local_date__gte=start)).exists()

    rows = Attendance.objects.filter(enrollment__in=ended)
    assert rows.exists()
    assert not rows.filter(status="expected").exists()
    assert not rows.exclude(session__track_id=F("enrollment__track_id")).exists()
    assert not rows.filter(session__local_date__gt=F("enrollment__discharge_date")).exists()
    # Those who completed have a row for every session from the go-live day to the end.
    completed = ended.filter(status="completed").annotate(n=Count("attendances"))
    assert completed.exists()
    assert all(e.n == 2 * SESSIONS_A_WEEK for e in completed)
    assert ContinuingCarePlan.objects.filter(enrollment__status="completed").count() == (
        completed.count())
    # Absences of the earlier cohort were followed up and resolved.
    absences = rows.filter(status="absent")
    assert FollowUp.objects.filter(attendance__in=absences, status="resolved").count() == (
        absences.count())
    assert not FollowUp.objects.filter(attendance__in=rows, status="open").exists()
    # The portal persona was in the earlier cohort too: its pages show a readmission.
    portal = Participant.objects.get(code=clinic.portal_participant_code)
    assert set(portal.enrollments.values_list("status", flat=True)) >= {"active"}
    assert portal.enrollments.count() == 2


def test_it_leaves_loose_ends_only_where_a_clinic_would():
    clinic = build_clinic(participants=TRACKS * PER_TRACK, quiet=True, loose_ends=True)
    today = _today(clinic)

    unmarked = Attendance.objects.filter(status="expected", session__local_date__lt=today)
    assert unmarked.exists()
    assert not unmarked.filter(session__local_date__lt=today - dt.timedelta(days=14)).exists()
    assert not unmarked.filter(Q(marked_by__isnull=False) | Q(marked_at__isnull=False)).exists()
    requests = ExcusedAbsenceRequest.objects.all()
    assert requests.filter(status="approved").exists()
    assert not requests.filter(status="approved").exclude(attendance__status="excused").exists()
    assert not requests.filter(status="pending", attendance__session__local_date__lt=today).exists()
    waiting = Enrollment.objects.filter(status="waitlisted")
    assert waiting.count() == 2 * TRACKS
    assert set(waiting.values_list("track_id", flat=True)) == set(clinic.track_ids)
    assert clinic_find().participants == TRACKS * PER_TRACK
