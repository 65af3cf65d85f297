"""The batch services (enroll many, mark many) obey the single services' rules, codes and audit,
at a cost that does not grow with the number of people."""
import datetime as dt

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from participants.models import Enrollment, EnrollmentStatus
from sessions.models import Attendance, AttendanceChange, FollowUp
from sessions.services.attendance import MarkRequest, attendance_mark, attendance_mark_many
from sessions.services.enrollment import (
    EnrollRequest, enrollment_enroll, enrollment_enroll_many,
)
from tests import factories

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MONDAY = dt.date(2026, 1, 5)  # the tracks' first day


@pytest.fixture
def first_evening_over():
    """Monday 5 January 2026, 10 pm in New York: the first evening session (6-9 pm) is over."""
    with time_machine.travel(dt.datetime(2026, 1, 6, 3, 0, tzinfo=UTC), tick=False):
        yield


def monday_sessions(track, weeks=3):
    sessions = []
    for week in range(weeks):
        day = MONDAY + dt.timedelta(weeks=week)
        starts = dt.datetime.combine(day, dt.time(18, 0), tzinfo=track.site.zone)
        sessions.append(factories.TherapySessionFactory(
            track=track, starts_at=starts.astimezone(UTC),
            ends_at=(starts + dt.timedelta(hours=3)).astimezone(UTC)))
    return sessions


def people(site, count):
    return [factories.ParticipantFactory(home_site=site) for _ in range(count)]


def requests(track, participants, day=MONDAY):
    return [EnrollRequest(participant=p, track=track, admission_date=day) for p in participants]


# --- enrollment_enroll_many ------------------------------------------------------------------

def test_it_waitlists_people_past_the_last_seat_as_one_by_one_enrolling_does(site, director):
    track = factories.TrackFactory(site=site, capacity=2, mode="rolling")
    monday_sessions(track)
    one_by_one = factories.TrackFactory(site=site, capacity=2, mode="rolling")
    monday_sessions(one_by_one)

    batch = enrollment_enroll_many(requests=requests(track, people(site, 3)), by=director)
    single = [enrollment_enroll(participant=p, track=one_by_one, admission_date=MONDAY,
                                by=director) for p in people(site, 3)]

    assert [e.status for e in batch] == [e.status for e in single] == [
        EnrollmentStatus.ACTIVE, EnrollmentStatus.ACTIVE, EnrollmentStatus.WAITLISTED]
    # The active ones are expected at each session; the waitlisted one nowhere.
    assert Attendance.objects.filter(session__track=track, status="expected").count() == 6
    assert not Attendance.objects.filter(participant=batch[2].participant).exists()


def test_it_gives_free_seats_to_people_already_waiting_first(site, director):
    track = factories.TrackFactory(site=site, capacity=1, mode="rolling")
    factories.EnrollmentFactory(track=track, status=EnrollmentStatus.WAITLISTED,
                                participant=factories.ParticipantFactory(home_site=site),
                                waitlisted_at=dt.datetime(2025, 12, 1, tzinfo=UTC))

    (newcomer,) = enrollment_enroll_many(requests=requests(track, people(site, 1)), by=director)

    assert newcomer.status == EnrollmentStatus.WAITLISTED
    assert Enrollment.objects.filter(track=track, seat_offered_at__isnull=False).count() == 1


def test_it_refuses_each_request_the_single_service_would_refuse_with_its_code(site):
    front_desk = factories.StaffFactory(role=Role.FRONT_DESK, sites=[site])
    started = factories.TrackFactory(site=site, mode="cohort", start_date=MONDAY)
    rolling, other = (factories.TrackFactory(site=site, mode="rolling") for _ in range(2))
    in_care, newcomer, early = people(site, 3)
    enrollment_enroll(participant=in_care, track=rolling, admission_date=MONDAY)

    with time_machine.travel(dt.datetime(2026, 1, 20, 15, 0, tzinfo=UTC), tick=False):
        results = enrollment_enroll_many(requests=[
            EnrollRequest(participant=newcomer, track=started, admission_date=MONDAY),
            EnrollRequest(participant=in_care, track=other, admission_date=MONDAY),
            EnrollRequest(participant=early, track=rolling,
                          admission_date=MONDAY - dt.timedelta(days=7)),
            EnrollRequest(participant=newcomer, track=rolling, admission_date=MONDAY),
        ], by=front_desk, director_override=True)

    codes = [r.code if isinstance(r, ValidationError) else r.status for r in results]
    assert codes == ["cohort_started", "already_active", "admission_before_track_start",
                     EnrollmentStatus.ACTIVE]
    assert not Enrollment.objects.filter(track=started).exists()


def test_it_refuses_the_second_request_for_someone_the_batch_already_enrolled(site):
    track = factories.TrackFactory(site=site, mode="rolling")
    other = factories.TrackFactory(site=site, mode="rolling")
    (person,) = people(site, 1)

    first, second = enrollment_enroll_many(requests=[
        EnrollRequest(participant=person, track=track, admission_date=MONDAY),
        EnrollRequest(participant=person, track=other, admission_date=MONDAY)])

    assert first.status == EnrollmentStatus.ACTIVE
    assert isinstance(second, ValidationError) and second.code == "already_active"


def test_it_audits_each_enrollment_and_each_expected_visit(site, director):
    track = factories.TrackFactory(site=site, mode="rolling")
    sessions = monday_sessions(track)

    (enrollment,) = enrollment_enroll_many(requests=requests(track, people(site, 1)),
                                           by=director)

    entries = LogEntry.objects.filter(additional_data__participant=enrollment.participant_id)
    assert entries.filter(content_type__model="enrollment").count() == 1
    attendance = entries.filter(content_type__model="attendance")
    assert attendance.count() == len(sessions)
    assert str(enrollment.participant) in attendance.first().object_repr


def test_enrolling_many_costs_the_same_queries_for_3_or_30_people(
    site, director, django_assert_max_num_queries
):
    track = factories.TrackFactory(site=site, mode="rolling", capacity=40)
    monday_sessions(track)
    for count in (3, 30):
        batch = requests(track, people(site, count))
        with django_assert_max_num_queries(24):
            enrollment_enroll_many(requests=batch, by=director)


# --- attendance_mark_many -------------------------------------------------------------------

@pytest.fixture
def roster(site, first_evening_over):
    """Six people enrolled in a rolling track; its first Monday evening is over."""
    track = factories.TrackFactory(site=site, mode="rolling", capacity=40,
                                   program__consecutive_absences_to_escalate=2)
    sessions = monday_sessions(track)
    enrollment_enroll_many(requests=requests(track, people(site, 6)))
    return track, sessions


def expected_at(session):
    return list(Attendance.objects.filter(session=session).order_by("pk"))


def test_it_marks_many_with_the_rules_of_marking_one(roster, clinician):
    _track, (first, later, *_rest) = roster
    rows = expected_at(first)

    results = attendance_mark_many(marks=[
        MarkRequest(attendance_id=rows[0].pk, status="present"),
        MarkRequest(attendance_id=rows[1].pk, status="late", minutes=150),
        MarkRequest(attendance_id=rows[2].pk, status="late"),           # minutes missing
        MarkRequest(attendance_id=rows[3].pk, status="present", minutes=181),
        MarkRequest(attendance_id=rows[4].pk, status="sometimes"),
        MarkRequest(attendance_id=expected_at(later)[0].pk, status="present"),  # not started
    ], by=clinician)

    assert [r.status for r in results[:2]] == ["present", "late"]
    assert "minutes" in results[2].error_dict and "minutes" in results[3].error_dict
    assert results[2].error_dict["minutes"][0].code == "minutes_required"
    assert "status" in results[4].error_dict
    assert results[5].code == "session_not_started"
    saved = {a.pk: (a.status, a.minutes_attended, a.marked_by) for a in expected_at(first)}
    assert saved[rows[0].pk] == ("present", 180, clinician)
    assert saved[rows[1].pk] == ("late", 150, clinician)
    assert saved[rows[2].pk] == ("expected", None, None)  # a refused mark writes nothing
    assert LogEntry.objects.filter(content_type__model="attendance", object_id=rows[1].pk,
                                   action=LogEntry.Action.UPDATE).exists()


def test_it_keeps_the_history_of_a_mark_changed_in_a_batch(roster, clinician, front_desk):
    _track, (first, *_rest) = roster
    row = expected_at(first)[0]
    attendance_mark(attendance=row, status="present", by=front_desk)

    attendance_mark_many(marks=[MarkRequest(attendance_id=row.pk, status="left_early",
                                            minutes=90)], by=clinician)

    change = AttendanceChange.objects.get()
    assert (change.old_status, change.new_status, change.changed_by) == (
        "present", "left_early", clinician)


def test_it_raises_the_follow_ups_of_absences_and_emails_each_assignee_once(
    roster, clinician, director, mailoutbox, django_capture_on_commit_callbacks
):
    track, (first, *_rest) = roster
    track.lead_clinician = clinician
    track.save()
    rows = expected_at(first)

    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark_many(marks=[MarkRequest(attendance_id=r.pk, status="absent")
                                    for r in rows[:4]], by=director)

    raised = FollowUp.objects.filter(kind="unexcused_absence")
    assert raised.count() == 4
    assert set(raised.values_list("assignee", flat=True)) == {clinician.pk}
    assert [m.to for m in mailoutbox] == [[clinician.email]]
    # Marking the same absences again raises nothing more.
    attendance_mark_many(marks=[MarkRequest(attendance_id=r.pk, status="absent")
                                for r in rows[:4]], by=director)
    assert raised.count() == 4


def test_its_follow_ups_match_marking_one_by_one(site, director):
    """Two missed evenings in a row escalate, whether marked together or one at a time."""
    def world():
        track = factories.TrackFactory(site=site, mode="rolling", capacity=40,
                                       program__consecutive_absences_to_escalate=2,
                                       program__max_unexcused_absences=2)
        sessions = monday_sessions(track)
        enrollment_enroll_many(requests=requests(track, people(site, 1)))
        return [expected_at(s)[0] for s in sessions[:2]]

    with time_machine.travel(dt.datetime(2026, 1, 13, 3, 0, tzinfo=UTC), tick=False):
        one_by_one = world()
        for row in one_by_one:
            attendance_mark(attendance=row, status="absent", by=director)
        together = world()
        attendance_mark_many(marks=[MarkRequest(attendance_id=r.pk, status="absent")
                                    for r in together], by=director)

    def kinds(rows):
        return sorted(FollowUp.objects.filter(participant_id=rows[0].participant_id)
                      .values_list("kind", flat=True))

    assert kinds(together) == kinds(one_by_one) == [
        "absence_limit", "consecutive_absences", "unexcused_absence", "unexcused_absence"]


def test_marking_many_costs_the_same_queries_for_3_or_30_marks(
    site, clinician, django_assert_max_num_queries, first_evening_over
):
    track = factories.TrackFactory(site=site, mode="rolling", capacity=40)
    (first, *_rest) = monday_sessions(track)
    enrollment_enroll_many(requests=requests(track, people(site, 33)))
    rows = expected_at(first)
    for batch, status in ((rows[:3], "present"), (rows[3:], "absent")):
        with django_assert_max_num_queries(20):
            attendance_mark_many(marks=[MarkRequest(attendance_id=r.pk, status=status)
                                        for r in batch], by=clinician)


# --- corrected absences in a batch ----------------------------------------------------------

def evenings(track, weeks=2):
    """Each Monday evening of `weeks`: a 3-hour group, then a 45-minute workshop (one visit day)."""
    days = []
    for week in range(weeks):
        day = MONDAY + dt.timedelta(weeks=week)
        group = dt.datetime.combine(day, dt.time(17, 0), tzinfo=track.site.zone)
        workshop = dt.datetime.combine(day, dt.time(20, 15), tzinfo=track.site.zone)
        days.append([factories.TherapySessionFactory(
            track=track, starts_at=start.astimezone(UTC),
            ends_at=(start + length).astimezone(UTC))
            for start, length in ((group, dt.timedelta(hours=3)),
                                  (workshop, dt.timedelta(minutes=45)))])
    return days


def clinic_with_missed_evening(site, count):
    """`count` people at `site` who missed both sessions of the first Monday (follow-ups raised,
    one per person) and have the second Monday to mark: {person: {(week, 0 or 1): row}}."""
    track = factories.TrackFactory(site=site, mode="rolling", capacity=100,
                                   program__consecutive_absences_to_escalate=2,
                                   program__max_unexcused_absences=3)
    days = evenings(track)
    enrollment_enroll_many(requests=requests(track, people(site, count)))
    rows: dict = {}
    for week, sessions in enumerate(days):
        for index, session in enumerate(sessions):
            for row in expected_at(session):
                rows.setdefault(row.participant_id, {})[(week, index)] = row
    attendance_mark_many(marks=[MarkRequest(attendance_id=r[(0, i)].pk, status="absent")
                                for r in rows.values() for i in (0, 1)], by=None)
    return rows


def corrections(rows):
    """Per person, alternately: the group of the missed evening corrected to present (its
    follow-up moves to the workshop, still missed), or both sessions excused or late (the
    follow-up is resolved); the next Monday marked absent, excused, late or present (the
    minutes and notes each person's own); then a refused mark and one that changes nothing. (The workshop is corrected before the group:
    one mark at a time, the other order would first move the follow-up to the workshop, then
    resolve it there; a batch judges corrections on the rows as saved, so it resolves it on the
    group.)"""
    marks = []
    for n, person in enumerate(rows.values()):
        if n % 2 == 0:
            marks += [MarkRequest(attendance_id=person[(0, 0)].pk, status="present"),
                      MarkRequest(attendance_id=person[(1, 0)].pk, status="absent"),
                      MarkRequest(attendance_id=person[(1, 1)].pk, status="excused",
                                  note=f"Called ahead ({n})")]
        else:
            marks += [MarkRequest(attendance_id=person[(0, 1)].pk, status="late", minutes=10 + n),
                      MarkRequest(attendance_id=person[(0, 0)].pk, status="excused"),
                      MarkRequest(attendance_id=person[(1, 0)].pk, status="present"),
                      MarkRequest(attendance_id=person[(1, 1)].pk, status="absent")]
    first = next(iter(rows.values()))
    return [*marks, MarkRequest(attendance_id=first[(1, 0)].pk, status="sometimes"),
            MarkRequest(attendance_id=first[(0, 1)].pk, status="absent")]


@pytest.fixture
def second_monday_over():
    """Monday 12 January 2026, 11 pm in New York: both Mondays' evenings are over."""
    with time_machine.travel(dt.datetime(2026, 1, 13, 4, 0, tzinfo=UTC), tick=False):
        yield


def followups_of(rows):
    """Each follow-up as a person would see it (whose, what, which visit, open or resolved, by
    whom), the ids of the people and visits given as their places in `rows`."""
    person_at = {pk: n for n, pk in enumerate(rows)}
    visit_at = {row.pk: (person_at[pk], key) for pk, person in rows.items()
                for key, row in person.items()}
    session_at = {row.session_id: key for person in rows.values() for key, row in person.items()}
    return sorted(
        (person_at[f.participant_id], f.kind, f.missed_on, visit_at[f.attendance_id],
         session_at[f.session_id], f.status, f.outcome_note, f.resolved_by_id, f.assignee_id)
        for f in FollowUp.objects.filter(participant_id__in=rows))


def test_corrected_absences_move_or_resolve_follow_ups_as_marking_one_by_one_does(
    site, director, clinician, second_monday_over
):
    together, one_by_one = (clinic_with_missed_evening(site, 2) for _ in range(2))
    pre_audit = LogEntry.objects.count()

    results = attendance_mark_many(marks=corrections(together), by=clinician)
    audit_together = LogEntry.objects.count() - pre_audit
    for mark in corrections(one_by_one):
        try:
            attendance_mark(attendance=Attendance.objects.get(pk=mark.attendance_id),
                            status=mark.status, minutes=mark.minutes, by=clinician)
        except ValidationError:
            pass
    audit_one_by_one = LogEntry.objects.count() - pre_audit - audit_together

    assert results[-2].error_dict["status"][0].code == "invalid_status"
    assert results[-1].status == "absent"
    even, odd = together.values()
    moved = FollowUp.objects.get(participant_id=even[(0, 0)].participant_id,
                                 missed_on=MONDAY, kind="unexcused_absence")
    assert (moved.status, moved.attendance_id, moved.session_id) == (
        "open", even[(0, 1)].pk, even[(0, 1)].session_id)
    resolved = FollowUp.objects.get(participant_id=odd[(0, 0)].participant_id,
                                    missed_on=MONDAY, kind="unexcused_absence")
    assert (resolved.status, resolved.resolved_by) == ("resolved", clinician)
    # The same follow-ups and as many audit entries as one mark after another.
    assert followups_of(together) == followups_of(one_by_one)
    assert audit_together == audit_one_by_one
    assert LogEntry.objects.filter(content_type__model="followup", object_id=moved.pk,
                                   action=LogEntry.Action.UPDATE).exists()
    assert LogEntry.objects.filter(content_type__model="followup", object_id=resolved.pk,
                                   action=LogEntry.Action.UPDATE).exists()


def test_marking_many_with_corrections_costs_the_same_queries_for_2_or_24_people(
    site, other_site, director, clinician, second_monday_over, django_capture_on_commit_callbacks
):
    """Absences, corrected absences (follow-ups moved or resolved), excuses, escalations,
    refusals, minutes and notes of each person's own: 9 marks of 2 people at one site, or 86
    of 24 people at two sites, 8 sessions; the on-commit work (authorization usage, emails)
    counted too."""
    factories.StaffFactory(role=Role.DIRECTOR, sites=[other_site])
    small = clinic_with_missed_evening(site, 2)
    large = {**clinic_with_missed_evening(site, 12), **clinic_with_missed_evening(other_site, 12)}
    counts = []
    for rows in (small, large):
        with CaptureQueriesContext(connection) as queries:
            with django_capture_on_commit_callbacks(execute=True):
                attendance_mark_many(marks=corrections(rows), by=clinician)
        counts.append(len(queries))

    assert counts[0] == counts[1] <= 36
    assert FollowUp.objects.filter(participant_id__in=large, status="resolved").count() == 12
