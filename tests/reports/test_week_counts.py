"""The census trend counted per (admission week, discharge week) equals the count per
enrollment it replaced, on random admissions and discharges (week edges included)."""
import datetime as dt
import random
import statistics

import pytest

from participants.models import Enrollment
from reports import selectors as reports
from tests import factories
from tests.reports.world import build_report_world

pytestmark = pytest.mark.django_db


def test_it_counts_people_in_care_per_week_as_the_row_by_row_count_did():
    w = build_report_world()
    rng = random.Random(7)
    start = dt.date(2025, 12, 1)  # a Monday, ten weeks before the range's end
    for _ in range(60):
        admitted = start + dt.timedelta(days=rng.randrange(0, 90))
        discharged = rng.choice([None, admitted + dt.timedelta(days=rng.randrange(0, 40))])
        status = rng.choice(["completed", "discharged"]) if discharged else "active"
        factories.EnrollmentFactory(
            track=w.t1, participant=factories.ParticipantFactory(home_site=w.site),
            status=status,
            admission_date=admitted, discharge_date=discharged,
            discharge_reason="transferred" if discharged else "")
    for scope in (w.scope(), w.scope(date_from=start, date_to=dt.date(2026, 3, 31)),
                  w.scope(date_from=dt.date(2026, 1, 7), date_to=dt.date(2026, 1, 7))):
        in_care = Enrollment.objects.filter(reports._enrollment_q(scope),
                                            status__in=reports.ADMITTED)
        row_by_row = reports._week_counts(
            scope, "e.admission_date <= w.monday + 6 "
                   "AND COALESCE(e.discharge_date, 'infinity'::date) >= w.monday", in_care)
        assert reports.census_report(scope=scope).trend == row_by_row
        assert any(week.count for week in row_by_row)


def test_the_census_trend_reads_only_the_stays_that_overlap_its_weeks():
    """The stays the trend groups (`_in_care`) are bounded by the range's weeks, so a clinic's
    years of earlier stays are not read: a stay ended the Sunday before the first Monday or
    admitted the Monday after the last Sunday is left out, one on either edge is read and
    counted."""
    w = build_report_world()
    scope = w.scope(date_from=dt.date(2026, 3, 4), date_to=dt.date(2026, 3, 18))  # Wed to Wed
    first, last = dt.date(2026, 3, 2), dt.date(2026, 3, 22)  # its weeks: Monday to Sunday

    def stay(admitted, discharged=None):
        return factories.EnrollmentFactory(
            track=w.t1, participant=factories.ParticipantFactory(home_site=w.site),
            status="completed" if discharged else "active", admission_date=admitted,
            discharge_date=discharged, discharge_reason="transferred" if discharged else "")

    ended_before = stay(dt.date(2026, 1, 5), first - dt.timedelta(days=1))
    ended_on_first = stay(dt.date(2026, 1, 5), first)
    admitted_on_last = stay(last)
    admitted_after = stay(last + dt.timedelta(days=1))
    read = set(reports._in_care(scope, first, last).values_list("pk", flat=True))
    assert {ended_on_first.pk, admitted_on_last.pk} <= read
    assert not {ended_before.pk, admitted_after.pk} & read
    before = {week.week_start: week.count for week in reports.census_report(scope=scope).trend}
    ended_on_first.delete()
    admitted_on_last.delete()
    after = {week.week_start: week.count for week in reports.census_report(scope=scope).trend}
    assert before[first] == after[first] + 1 and before[dt.date(2026, 3, 16)] == (
        after[dt.date(2026, 3, 16)] + 1)


def test_the_access_report_counts_as_the_queries_it_replaced_did():
    """Its one query against the three it replaced: the wait aggregates, the counts now and
    the waitlist per week (`_week_counts`, row by row), on random waitlists."""
    from django.db.models import Avg, Count, F, Q

    from participants.models import EnrollmentStatus

    w = build_report_world()
    rng = random.Random(11)
    start = dt.date(2025, 12, 1)
    for _ in range(50):
        listed = start + dt.timedelta(days=rng.randrange(0, 80))
        status = rng.choice(["waitlisted", "withdrawn", "active", "discharged"])
        admitted = listed + dt.timedelta(days=rng.randrange(0, 30))
        enrollment = factories.EnrollmentFactory(
            track=w.t1, participant=factories.ParticipantFactory(home_site=w.site),
            status=status, admission_date=admitted,
            waitlisted_at=dt.datetime.combine(listed, dt.time(12), tzinfo=dt.UTC),
            seat_offered_at=(dt.datetime.combine(listed, dt.time(13), tzinfo=dt.UTC)
                             if status == "waitlisted" and rng.random() < 0.5 else None),
            discharge_date=admitted + dt.timedelta(days=20) if status == "discharged" else None,
            discharge_reason="transferred" if status == "discharged" else "")
        changed = listed + dt.timedelta(days=rng.randrange(0, 40))
        Enrollment.objects.filter(pk=enrollment.pk).update(
            created_at=dt.datetime.combine(listed - dt.timedelta(days=rng.randrange(0, 9)),
                                           dt.time(23, 30), tzinfo=dt.UTC),
            updated_at=dt.datetime.combine(changed, dt.time(3), tzinfo=dt.UTC))
    for scope in (w.scope(), w.scope(date_from=start, date_to=dt.date(2026, 3, 31))):
        report = reports.access_report(scope=scope)
        mine = Enrollment.objects.filter(reports._enrollment_q(scope))
        statuses = "', '".join(reports.ADMITTED)
        assert report.waitlist_trend == reports._week_counts(
            scope,
            "e.waitlisted_at IS NOT NULL AND e.waitlisted_at::date <= w.monday + 6 AND ("
            f"e.status = 'waitlisted' OR (e.status IN ('{statuses}') "
            "AND e.admission_date > w.monday + 6) "
            "OR (e.status = 'withdrawn' AND e.updated_at::date > w.monday + 6))", mine)
        now = mine.aggregate(
            waiting=Count("pk", filter=Q(status=EnrollmentStatus.WAITLISTED)),
            offers=Count("pk", filter=Q(status=EnrollmentStatus.WAITLISTED,
                                        seat_offered_at__isnull=False)),
            left=Count("pk", filter=Q(status=EnrollmentStatus.WITHDRAWN,
                                      waitlisted_at__isnull=False,
                                      updated_at__date__gte=scope.date_from,
                                      updated_at__date__lte=scope.date_to)))
        assert (report.waiting_now, report.offers_open, report.left_waitlist) == (
            now["waiting"], now["offers"], now["left"])
        waits = mine.filter(status__in=reports.ADMITTED, admission_date__gte=scope.date_from,
                            admission_date__lte=scope.date_to).annotate(
            wait=reports.WaitDays(F("admission_date"), F("created_at"),
                                  F("track__site__time_zone")))
        values = sorted(waits.values_list("wait", flat=True))
        mean = waits.aggregate(mean=Avg("wait"))["mean"]
        assert report.admitted == len(values) > 5 and any(values)
        assert report.wait_mean_days == reports._decimal(mean)
        assert report.wait_median_days == reports._decimal(statistics.median(values))
        assert sum(week.count for week in report.waitlist_trend) > 0
        assert report.left_waitlist and report.offers_open
