"""Each report's figures against the hand-computed clinic in tests/reports/world.py."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from reports import selectors as reports
from sessions.models import Attendance, TherapySession
from tests import factories
from tests.reports.world import FROM, TODAY, build_report_world

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

D = Decimal


@pytest.fixture
def w():
    return build_report_world()


def test_it_counts_the_census_per_track_and_week(w):
    census = reports.census_report(scope=w.scope())

    (t1,) = census.tracks  # T0 is closed; the other site's track is not ours
    assert (t1.track, t1.capacity, t1.active, t1.on_hold, t1.waitlisted, t1.offered,
            t1.seats_free) == ("T1", 3, 2, 0, 2, 1, 0)
    assert [(wk.week_start, wk.count) for wk in census.trend] == [
        (dt.date(2026, 2, 2), 2), (dt.date(2026, 2, 9), 3), (dt.date(2026, 2, 16), 2)]


def test_it_limits_the_census_to_a_clinicians_caseload_but_keeps_the_seats(w):
    census = reports.census_report(scope=w.scope(clinician_id=w.clinician.pk))

    (t1,) = census.tracks
    assert (t1.active, t1.waitlisted, t1.offered, t1.seats_free) == (1, 0, 0, 0)
    assert [wk.count for wk in census.trend] == [1, 1, 1]


def test_it_rates_attendance_in_minutes_with_excused_apart(w):
    report = reports.attendance_report(scope=w.scope())

    total = report.total
    # Held: Avery 180+180+60, Blake 180+180, Casey 180; the cancelled S3/S4 are left out.
    assert (total.held_minutes, total.attended_minutes, total.excused_minutes) == (960, 750, 180)
    assert (total.attended, total.absent, total.excused, total.unmarked) == (5, 1, 1, 2)
    assert total.rate == D("78.1") and total.no_show_rate == D("16.7")
    assert [(r.label, r.held_minutes, r.attended_minutes, r.rate) for r in report.by_kind] == [
        ("Group", 900, 690, D("76.7")), ("Individual", 60, 60, D("100.0"))]
    assert [(r.label, r.rate) for r in report.by_track] == [
        ("Individual and family sessions", D("100.0")), ("T1", D("76.7"))]
    assert [(r.label, r.held_minutes, r.attended_minutes) for r in report.by_weekday] == [
        ("Monday", 540, 360), ("Tuesday", 60, 60), ("Wednesday", 360, 330)]
    assert [(r.label[:7], r.held_minutes) for r in report.by_time_of_day] == [
        ("Morning", 60), ("Evening", 900)]


def test_it_lists_who_is_below_the_weekly_minimum_and_why(w):
    report = reports.attendance_report(scope=w.scope())

    # Last week both sessions were cancelled (closure, clinic): the clinic offered nothing.
    assert [(b.participant, b.offered_minutes, b.reason) for b in report.below_last_week] == [
        ("Adams, Avery", 0, "clinic"), ("Clark, Casey", 0, "clinic")]
    # This week Avery was offered 7 h (S5 excused, individual, S6 tonight) but can reach only
    # 1 h attended + 3 h still ahead, under the 6 h minimum: at risk (the ledger says why once
    # the week is over). Casey
    # can still make 3 + 3 = 6 h. Blake was discharged (not a full week).
    (avery,) = report.below_this_week
    assert (avery.participant, avery.attended_minutes, avery.ahead_minutes,
            avery.offered_minutes, avery.excused_minutes, avery.reason) == (
        "Adams, Avery", 60, 180, 420, 180, "at_risk")


def test_it_lists_someone_below_only_because_of_rows_left_unmarked(w):
    # Dale, admitted this Monday (so only this week is judged), is expected at Monday's S5 and
    # tonight's S6: the 6 h minimum on paper, but Monday is over and was never marked: 3 h
    # unmarked, 3 h ahead, so below this week, with nothing else that would list Dale.
    dale = factories.ParticipantFactory(home_site=w.site, first_name="Dale", last_name="Dunn")
    enrollment = factories.EnrollmentFactory(participant=dale, track=w.t1,
                                             admission_date=dt.date(2026, 2, 16))
    Attendance.objects.bulk_create([
        Attendance(session=session, participant=dale, enrollment=enrollment, status="expected")
        for session in TherapySession.objects.filter(
            track=w.t1, local_date__in=[dt.date(2026, 2, 16), dt.date(2026, 2, 18)])])

    report = reports.attendance_report(scope=w.scope())

    assert [(b.participant, b.attended_minutes, b.ahead_minutes, b.unmarked_minutes)
            for b in report.below_this_week] == [("Adams, Avery", 60, 180, 0),
                                                 ("Dunn, Dale", 0, 180, 180)]
    assert "Dunn, Dale" not in [b.participant for b in report.below_last_week]


def test_unmarked_time_is_each_persons_own_and_goes_once_their_row_is_marked(w):
    """The unmarked time is read only at sessions still holding an unmarked row (the tally),
    and only the person's own rows: Dale and Erin, admitted this Monday, both left unmarked at
    Monday's S5 (tonight's S6 still ahead). Marking Erin present leaves S5 with Dale's row
    unmarked: Dale is still listed for 3 h unmarked, Erin no longer (3 h attended + 3 h ahead
    reach the 6 h minimum). Marking Dale absent too clears S5: Dale stays below with nothing
    unmarked (missed time), not counted twice nor dropped."""
    people = {}
    s5, s6 = TherapySession.objects.filter(
        track=w.t1, local_date__in=[dt.date(2026, 2, 16), dt.date(2026, 2, 18)]).order_by(
        "local_date")
    for first, last in (("Dale", "Dunn"), ("Erin", "Ellis")):
        person = factories.ParticipantFactory(home_site=w.site, first_name=first, last_name=last)
        enrollment = factories.EnrollmentFactory(participant=person, track=w.t1,
                                                 admission_date=dt.date(2026, 2, 16))
        people[first] = Attendance.objects.bulk_create([
            Attendance(session=session, participant=person, enrollment=enrollment,
                       status="expected") for session in (s5, s6)])[0]

    def listed():
        return [(b.participant, b.attended_minutes, b.ahead_minutes, b.unmarked_minutes)
                for b in reports.attendance_report(scope=w.scope()).below_this_week
                if b.participant != "Adams, Avery"]

    assert listed() == [("Dunn, Dale", 0, 180, 180), ("Ellis, Erin", 0, 180, 180)]
    Attendance.objects.filter(pk=people["Erin"].pk).update(status="present")
    assert listed() == [("Dunn, Dale", 0, 180, 180)]
    Attendance.objects.filter(pk=people["Dale"].pk).update(status="absent")
    assert listed() == [("Dunn, Dale", 0, 180, 0)]


def test_it_limits_attendance_to_the_caseload(w):
    report = reports.attendance_report(scope=w.scope(clinician_id=w.clinician.pk))

    assert (report.total.held_minutes, report.total.attended_minutes) == (420, 390)
    assert [b.participant for b in report.below_last_week] == ["Adams, Avery"]


def test_it_counts_outcomes_with_a_transfer_and_a_readmission(w):
    report = reports.outcomes_report(scope=w.scope())

    assert (report.admissions, report.readmissions) == (3, 1)
    assert {r.key: r.count for r in report.discharges if r.count} == {"transferred": 1}
    assert (report.discharged, report.completed, report.completion_rate) == (1, 0, D("0.0"))
    # Blake: 2–10 Feb is 9 days; attended S2 only: 3 hours.
    assert (report.stay_days_mean, report.stay_days_median) == (D("9.0"), D("9.0"))
    assert (report.stay_hours_mean, report.stay_hours_median) == (D("3.0"), D("3.0"))
    assert {r.key: r.count for r in report.step_down if r.count} == {"1": 1}


def test_it_counts_the_earlier_completion_when_the_range_covers_it(w):
    report = reports.outcomes_report(scope=w.scope(date_from=dt.date(2025, 10, 1)))

    assert (report.admissions, report.readmissions) == (4, 1)
    assert (report.discharged, report.completed, report.completion_rate) == (2, 1, D("50.0"))
    assert report.stay_days_median == D("46.5")  # median of 84 (T0: 6 Oct–28 Dec) and 9 days


def test_it_measures_the_wait_from_referral_to_admission(w):
    report = reports.access_report(scope=w.scope())

    # Waits: Avery 7 days, Blake 0, Casey 20.
    assert report.admitted == 3
    assert (report.wait_median_days, report.wait_p90_days, report.wait_mean_days) == (
        D("7.0"), D("17.4"), D("9.0"))
    assert [(wk.week_start, wk.count) for wk in report.waitlist_trend] == [
        (dt.date(2026, 2, 2), 2), (dt.date(2026, 2, 9), 3), (dt.date(2026, 2, 16), 2)]
    assert (report.waiting_now, report.offers_open, report.left_waitlist) == (2, 1, 1)


def test_it_bills_h0015_by_day_of_three_hours_and_other_codes_by_session(w):
    report = reports.billing_report(scope=w.scope())

    assert [(s.week_start, s.service_code, s.participants, s.sessions, s.days, s.minutes,
             s.units) for s in report.summary] == [
        (FROM, "H0015", 2, 3, 3, 510, 2),
        (dt.date(2026, 2, 16), "90832", 1, 1, 1, 60, 1),
        (dt.date(2026, 2, 16), "H0015", 1, 1, 1, 180, 1),
    ]
    # The page lists the range's last week; the export every week's lines.
    assert [(line.participant, line.service_code, line.minutes, line.units)
            for line in report.lines] == [
        ("Adams, Avery", "90832", 60, 1), ("Clark, Casey", "H0015", 180, 1)]
    assert report.lines_from == dt.date(2026, 2, 16)
    assert report.line_count == 2 and not report.truncated
    with connection.cursor() as cursor:
        cursor.execute(*reports.billing_lines_sql(w.scope()))
        lines = [reports.billing_line(row) for row in cursor.fetchall()]
    assert [(line.participant, line.week_start, line.service_code, line.minutes, line.units)
            for line in lines] == [
        ("Adams, Avery", FROM, "H0015", 330, 1), ("Brown, Blake", FROM, "H0015", 180, 1),
        ("Adams, Avery", dt.date(2026, 2, 16), "90832", 60, 1),
        ("Clark, Casey", dt.date(2026, 2, 16), "H0015", 180, 1),
    ]


def test_it_follows_the_clinics_billing_rules(w, settings):
    settings.REPORT_BILLING_RULES = {"H0015": {"unit": "day", "min_minutes": 150}}
    report = reports.billing_report(scope=w.scope(clinician_id=w.clinician.pk))

    assert [(s.service_code, s.units) for s in report.summary] == [("H0015", 2), ("90832", 1)]


def test_it_sums_each_clinicians_load(w):
    rows = reports.staff_load_report(scope=w.scope())

    assert [(r.clinician, r.sessions, r.session_minutes, r.participant_minutes)
            for r in rows] == [("Kim Clinician", 1, 60, 60), ("Lee Lead", 4, 720, 690)]
    mine = reports.staff_load_report(scope=w.scope(clinician_id=w.clinician.pk))
    assert [r.clinician for r in mine] == ["Kim Clinician"]


def test_it_filters_by_track(w):
    other = reports.attendance_report(scope=w.scope(track_id=w.t1.pk + 1000))
    assert other.total.held_minutes == 0
    mine = reports.attendance_report(scope=w.scope(track_id=w.t1.pk))
    assert mine.total.held_minutes == 960  # Avery's individual session counts for T1


@pytest.mark.parametrize("name", ["census", "attendance", "outcomes", "access", "billing",
                                  "staff_load"])
def test_it_answers_in_a_fixed_number_of_queries(w, name, django_assert_max_num_queries):
    from tests.factories import AttendanceFactory, EnrollmentFactory, ParticipantFactory

    selector = getattr(reports, f"{name}_report")
    budget = {"census": 2, "attendance": 2, "outcomes": 1, "access": 1, "billing": 2,
              "staff_load": 1}[name]
    with django_assert_max_num_queries(budget):
        selector(scope=w.scope())
    session = w.t1.sessions.get(local_date=dt.date(2026, 2, 16))
    for _ in range(15):
        enrollment = EnrollmentFactory(track=w.t1, participant=ParticipantFactory(
            home_site=w.site), admission_date=FROM)
        AttendanceFactory(session=session, participant=enrollment.participant,
                          enrollment=enrollment, status="present")
    with django_assert_max_num_queries(budget):
        selector(scope=w.scope())
    assert TODAY  # the fixture's today


@pytest.mark.parametrize("offered, attended, excused, unmarked, reason", [
    (300, 300, 0, 0, "clinic"),  # 5 h offered against a 6 h minimum
    (540, 180, 180, 0, "excused"),  # 3 h attended + 3 h excused cover the 6 h
    (540, 180, 60, 120, "unmarked"),  # unmarked sessions would cover the rest
    (540, 180, 60, 60, "participant"),
])
def test_it_says_why_a_finished_week_fell_short_by_the_ledgers_rule(offered, attended, excused,
                                                                     unmarked, reason):
    week = reports.BelowMinimum(
        week_start=FROM, participant_code="x", participant="x", record_number="x", track="x",
        minimum_hours=D(6), attended_minutes=attended, offered_minutes=offered, ahead_minutes=0,
        excused_minutes=excused, unmarked_minutes=unmarked, today=TODAY)
    assert week.reason == reason
