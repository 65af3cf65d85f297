"""The attendance report's two statements (its cells, "below the minimum") and the report menus
are prepared once a database connection (iop_clinic.prepared), then only EXECUTEd: the report
reads the same as with plain statements, and a later request on the connection prepares nothing
more. The statements carry their dates written in (reports.selectors._dates_written)."""
import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.auth import sign_in
from tests.reports.world import NOW, build_report_world

from .prepared_pages import read_plain_then_prepared, statements_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres,
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="PREPARE is PostgreSQL's")]


def _report_statements_run_plainly(client) -> list[str]:
    """The report's own statements (its table's grouping, below the minimum's week sums) that a
    request ran as plain SQL rather than EXECUTE."""
    _html, statements = statements_of(client, reverse("report_attendance"))
    return [sql for sql in statements if not sql.startswith("EXECUTE ")
            and ("GROUPING(" in sql or "week_hours" in sql)]


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield build_report_world()


def test_it_reads_the_same_report_through_a_prepared_statement(w):
    director = sign_in(Client(), w.director)
    # 9: the report's budget (tests/staff/test_reports.py)
    plain = read_plain_then_prepared(director, reverse("report_attendance"), at_least=3, budget=9)
    assert "Can no longer reach the minimum this week" in plain  # someone found below
    assert _report_statements_run_plainly(director) == []


def test_it_reads_the_same_caseload_through_a_prepared_statement(w):
    """A clinician's report sums their caseload's attendance rows (not the per-session tallies):
    that statement too is prepared and reads the same."""
    clinician = sign_in(Client(), w.clinician)
    plain = read_plain_then_prepared(clinician, reverse("report_attendance"), at_least=3, budget=9)
    assert "Attendance rate 92.9%" in plain and "your caseload only" in plain
    assert _report_statements_run_plainly(clinician) == []
