"""The stays' attended time kept by triggers (iop_sessions.StayHours) is never stale.

Attendance, sessions and enrollments are changed in every way that moves a stay's hours (marks,
minutes recorded, a row moved to another enrollment or session, continuing-care rows with no
enrollment, sessions cancelled, restored, moved out of the stay or retyped, a type that stops
counting, admission and discharge dates set and changed, a readmission, bulk and plain-SQL
writes, deletes), and after each the stored sums must equal the rows summed afresh in Python,
and the outcomes report's old SQL (which summed the rows) must give every stay the same minutes.
"""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from participants.models import Enrollment
from reports.selectors import ReportScope, outcomes_report
from sessions.models import Attendance, AttendanceStatus, StayHours, TherapySession
from sessions.services.attendance import MarkRequest, attendance_mark, attendance_mark_many
from sessions.services.enrollment import enrollment_discharge
from sessions.services.schedule import session_cancel
from tests.factories import EnrollmentFactory, SessionTypeFactory, TrackFactory

from .test_ledger import at_local, attend, session

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

MONDAY = dt.date(2026, 1, 5)
ATTENDED = AttendanceStatus.attended()
MICROSECONDS_PER_MINUTE = 60_000_000


def _day(offset: int) -> dt.date:
    return MONDAY + dt.timedelta(days=offset)


def sums_afresh() -> dict:
    """(enrollment, session type) -> microseconds, from the rows, by the report's definition."""
    sums: dict = defaultdict(int)
    enrollments = {e.pk: e for e in Enrollment.objects.all()}
    for row in Attendance.objects.select_related("session"):
        stay, therapy_session = enrollments.get(row.enrollment_id), row.session
        if (stay is None or row.status not in ATTENDED or therapy_session.status != "scheduled"
                or stay.admission_date is None or stay.discharge_date is None
                or not stay.admission_date <= therapy_session.local_date <= stay.discharge_date):
            continue
        length = therapy_session.ends_at - therapy_session.starts_at
        sums[(stay.pk, therapy_session.session_type_id)] += (
            row.minutes_attended * MICROSECONDS_PER_MINUTE if row.minutes_attended is not None
            else length // dt.timedelta(microseconds=1))
    return {key: value for key, value in sums.items() if value}


def sums_stored() -> dict:
    return {(row.enrollment_id, row.session_type_id): row.attended_microseconds
            for row in StayHours.objects.all() if row.attended_microseconds}


# The outcomes report's SQL before the sums were kept (its `h`), over every enrollment.
OLD_H = """
    SELECT r.enrollment_id, SUM(COALESCE(r.minutes_attended,
                                         (EXTRACT(EPOCH FROM (s.ends_at - s.starts_at)) / 60)))
    FROM iop_sessions_attendance r JOIN participants_enrollment e ON e.id = r.enrollment_id
    JOIN iop_sessions_therapysession s ON s.id = r.session_id
    JOIN programs_sessiontype st ON st.id = s.session_type_id AND st.counts_toward_hours
    WHERE r.status = ANY(%s) AND s.status = 'scheduled' AND s.local_date >= e.admission_date
        AND s.local_date <= e.discharge_date GROUP BY 1
"""
NEW_H = """
    SELECT k.enrollment_id, SUM(k.attended_microseconds) / 60000000.0
    FROM iop_sessions_stay_hours k
    JOIN programs_sessiontype st ON st.id = k.session_type_id AND st.counts_toward_hours
    GROUP BY 1
"""


def _minutes(sql: str, params=()) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk: Decimal(m) for pk, m in cursor.fetchall() if m}


SEEN: dict[str, int] = defaultdict(int)


def assert_fresh() -> None:
    stored = sums_stored()
    assert stored == sums_afresh()
    assert _minutes(NEW_H) == _minutes(OLD_H, [list(ATTENDED)])
    SEEN["sums"] = max(SEEN["sums"], len(stored))


def test_it_keeps_the_stays_hours_fresh_through_every_change(site, director):
    SEEN.clear()
    track = TrackFactory(site=site, mode="rolling", end_date=None, start_date=_day(-14))
    other_type = SessionTypeFactory(counts_toward_hours=True)
    not_counting = SessionTypeFactory(counts_toward_hours=False)
    # Two weeks before MONDAY, the week of MONDAY and the next: evenings, plus a Wednesday
    # morning of another type, a session that does not count, and one of 50.5 minutes.
    evenings = {offset: session(track, _day(offset)) for offset in range(-14, 12) if offset % 7 < 5}
    morning = session(track, _day(2), hour=10, hours=1.5, session_type=other_type)
    chat = session(track, _day(1), hour=12, hours=1, session_type=not_counting)
    odd = session(track, _day(3), hour=9, hours=50.5 / 60)
    # A stay admitted on a Wednesday (a partial first week); a first stay of a person discharged
    # on a Tuesday, then readmitted; another person, still active.
    first = EnrollmentFactory(track=track, admission_date=_day(-12), status="discharged",
                              discharge_date=_day(-6), discharge_reason="transferred")
    person = first.participant
    again = EnrollmentFactory(track=track, participant=person, admission_date=_day(0))
    other = EnrollmentFactory(track=track, admission_date=_day(-14))
    for therapy_session in [*evenings.values(), morning, chat, odd]:
        # The readmitted person's rows belong to the stay they fall in; between the stays,
        # continuing-care rows with no enrollment.
        day = therapy_session.local_date
        stay = first if day <= _day(-6) else again if day >= _day(0) else None
        row = Attendance.objects.create(session=therapy_session, participant=person,
                                        enrollment=stay, status="expected")
        if day < _day(0):
            row.status = "present"
            row.save()
        attend(other, therapy_session, "present" if day < _day(0) else "expected")
    assert_fresh()
    assert SEEN["sums"] >= 1  # the first stay, discharged, has its sums

    with time_machine.travel(at_local(site, _day(3), 22), tick=False):
        def row(enrollment, therapy_session) -> Attendance:
            return Attendance.objects.get(participant=enrollment.participant,
                                          session=therapy_session)

        # Marks, a minutes override, several at once, a correction.
        attendance_mark(attendance=row(again, evenings[0]), status="present", by=director)
        attendance_mark(attendance=row(again, evenings[1]), status="late", minutes=100,
                        by=director)
        attendance_mark_many(marks=[
            MarkRequest(attendance_id=row(again, s).pk, status="present", minutes=None)
            for s in (evenings[2], morning, chat, odd)] + [
            MarkRequest(attendance_id=row(other, s).pk, status="left_early", minutes=30)
            for s in (evenings[0], evenings[1], morning)], by=director)
        attendance_mark(attendance=row(again, evenings[2]), status="absent", by=director)
        assert_fresh()

        # Discharges: the active stays end (their sums appear); then the discharge dates move
        # (a session drops out of the stay, then comes back) and an admission date moves.
        enrollment_discharge(enrollment=again, discharge_date=_day(3), reason="transferred",
                             by=director)
        enrollment_discharge(enrollment=other, discharge_date=_day(3), reason="transferred",
                             by=director)
        assert_fresh()
        Enrollment.objects.filter(pk=again.pk).update(discharge_date=_day(1))
        assert_fresh()
        Enrollment.objects.filter(pk=again.pk).update(discharge_date=_day(3),
                                                      admission_date=_day(1))
        Enrollment.objects.filter(pk=first.pk).update(admission_date=_day(-11))
        assert_fresh()

        # Sessions: cancelled and restored, moved out of a stay and back, retyped.
        session_cancel(session=evenings[1], reason="Facilitator ill", by=director, notify=False)
        assert_fresh()
        TherapySession.objects.filter(pk=evenings[1].pk).update(
            status="scheduled", cancel_reason="", cancelled_at=None, cancelled_by=None)
        TherapySession.objects.filter(pk=odd.pk).update(
            starts_at=at_local(site, _day(8), 9), ends_at=at_local(site, _day(8), 10, 7),
            local_date=_day(8))
        assert_fresh()
        TherapySession.objects.filter(pk=odd.pk).update(
            starts_at=at_local(site, _day(2), 9), ends_at=at_local(site, _day(2), 9, 45),
            local_date=_day(2), session_type=other_type)
        TherapySession.objects.filter(pk=evenings[-14].pk).update(session_type=not_counting)
        assert_fresh()

        # A type that stops counting, then counts again (nothing stored moves; the sums read
        # the flag live).
        other_type.counts_toward_hours = False
        other_type.save()
        assert_fresh()
        other_type.counts_toward_hours = True
        other_type.save()

        # Rows moved between enrollments (to the other stay, to no enrollment) and sessions.
        Attendance.objects.filter(pk=row(again, evenings[0]).pk).update(enrollment=None)
        Attendance.objects.filter(pk=row(other, evenings[-13]).pk).update(enrollment=first)
        extra = session(track, _day(2), hour=14, hours=2)  # nobody's yet
        Attendance.objects.filter(pk=row(other, evenings[-12]).pk).update(session=extra)
        assert_fresh()

        # Bulk and plain SQL writes, deletes of a row, a session, an enrollment's rows.
        Attendance.objects.filter(session=evenings[-11]).update(status="late",
                                                                minutes_attended=45)
        newcomer = EnrollmentFactory(track=track, admission_date=_day(-7), status="discharged",
                                     discharge_date=_day(2), discharge_reason="transferred")
        Attendance.objects.bulk_create([
            Attendance(session=s, participant=newcomer.participant, enrollment=newcomer,
                       status="present") for s in (evenings[-7], evenings[-4], evenings[1])])
        with connection.cursor() as cursor:
            cursor.execute("UPDATE iop_sessions_attendance SET minutes_attended = 20 "
                           "WHERE enrollment_id = %s AND session_id = %s",
                           [newcomer.pk, evenings[-7].pk])
        assert_fresh()
        row(other, evenings[-10]).delete()
        evenings[-6].delete()  # the last day of the first stay
        Attendance.objects.filter(enrollment=newcomer).delete()
        assert_fresh()

    # An enrollment deleted (its rows go first, as Django deletes them; then none is left).
    Attendance.objects.filter(enrollment=first).update(enrollment=None)
    first.delete()
    assert_fresh()
    assert SEEN["sums"] >= 6


def test_a_mark_on_an_active_stay_writes_no_sum(site, director):
    """Marks while a stay is open (no discharge date) move nothing: the sums appear at the
    discharge, which sums the stay once."""
    track = TrackFactory(site=site, mode="rolling", end_date=None, start_date=MONDAY)
    stay = EnrollmentFactory(track=track, admission_date=MONDAY)
    row = attend(stay, session(track, MONDAY), "expected")
    with time_machine.travel(at_local(site, _day(1), 12), tick=False):
        attendance_mark(attendance=row, status="present", by=director)
        assert not StayHours.objects.exists()
        enrollment_discharge(enrollment=stay, discharge_date=_day(1), reason="transferred",
                             by=director)
    assert sums_stored() == {(stay.pk, row.session.session_type_id): 180 * MICROSECONDS_PER_MINUTE}


def test_the_outcomes_report_reads_the_kept_sums(site, director):
    """The report's hours are the stored sums': a sum changed behind the triggers' back shows."""
    track = TrackFactory(site=site, mode="rolling", end_date=None, start_date=MONDAY)
    stay = EnrollmentFactory(track=track, admission_date=MONDAY, status="discharged",
                             discharge_date=_day(4), discharge_reason="transferred")
    attend(stay, session(track, MONDAY), "present")
    scope = ReportScope(site_ids=(site.pk,), date_from=MONDAY, date_to=_day(6), today=_day(6))
    assert outcomes_report(scope=scope).stay_hours_mean == Decimal("3.0")
    StayHours.objects.update(attended_microseconds=90 * MICROSECONDS_PER_MINUTE)
    assert outcomes_report(scope=scope).stay_hours_mean == Decimal("1.5")
