"""The reports' querysets compiled once a process (reports.selectors._scope_sql) give the very
SQL and parameters the ORM compiles for each scope: every filter, one site or two, other days."""
import datetime as dt
import itertools

import pytest
from django.utils import timezone

from iop_clinic.prepared import fetchall
from reports import selectors as reports
from reports.selectors import ReportScope
from tests.reports.world import build_report_world

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

BUILDERS = [(reports._census_tracks, 0), (reports._in_care, 2),
            (reports._below_enrollments, 2), (reports._admitted_in, 2), (reports._ended_in, 2),
            (reports._access_enrollments, 0), (reports._staff_load_rows, 2),
            (reports._held_session_counts, 2), (reports._personal_session_counts, 2)]


def _scopes(site_ids: tuple[int, ...]):
    for program, track, clinician in itertools.product((None, 41), (None, 42), (None, 43)):
        yield ReportScope(site_ids=site_ids, date_from=dt.date(2026, 2, 2),
                          date_to=dt.date(2026, 3, 1), today=dt.date(2026, 2, 18),
                          program_id=program, track_id=track, clinician_id=clinician)


@pytest.mark.parametrize(("build", "n_days"), BUILDERS,
                         ids=[build.__name__ for build, _ in BUILDERS])
def test_it_compiles_the_same_sql_and_parameters_as_the_orm(build, n_days):
    days = [(dt.date(2026, 2, 2), dt.date(2026, 3, 1)), (dt.date(2025, 12, 29), dt.date(2026, 1, 4))]
    for site_ids in ((7,), (7, 9), (3, 5, 8)):
        for scope in _scopes(site_ids):
            for pair in days:
                chosen = pair[:n_days]
                assert reports._scope_sql(build, scope, *chosen) == reports._subquery_sql(
                    build(scope, *chosen)), (build.__name__, scope, chosen)


def test_it_compiles_the_current_time_zone_as_the_orm_does():
    scope = next(_scopes((7, 9)))
    for zone in ("America/New_York", "America/Los_Angeles", "UTC"):
        with timezone.override(zone):
            sql, params = reports._scope_sql(reports._access_enrollments, scope)
            assert (sql, params) == reports._subquery_sql(reports._access_enrollments(scope))
            assert zone in params


def test_it_refuses_a_builder_that_reads_a_date_of_the_scope():
    def reads_the_range(scope):
        return reports._access_enrollments(scope).filter(admission_date__gte=scope.date_from)

    scope = next(_scopes((1,)))
    with pytest.raises(AssertionError, match="as a constant"):
        reports._scope_sql(reads_the_range, scope)


def test_the_census_and_staff_load_read_the_same_rows_as_the_orm():
    w = build_report_world()
    for scope in (w.scope(), w.scope(clinician_id=w.lead.pk), w.scope(track_id=w.t1.pk),
                  w.scope(program_id=w.program.pk)):
        rows = fetchall(*reports._scope_sql(reports._census_tracks, scope))
        assert rows and rows == list(reports._census_tracks(scope))
        days = (scope.date_from, scope.held_until)
        rows = fetchall(*reports._scope_sql(reports._staff_load_rows, scope, *days))
        assert rows and rows == list(reports._staff_load_rows(scope, *days))
