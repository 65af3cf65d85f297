"""The attendance report's "below the minimum" statement and the report menus are prepared once
a database connection (iop_clinic.prepared), then only EXECUTEd: the report reads the same as
with plain statements, and a later request on the connection prepares nothing more."""
import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from tests.auth import sign_in
from tests.reports.world import NOW, build_report_world

from .prepared_pages import executed, page_html, prepared_names, prepares, statements_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres,
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="PREPARE is PostgreSQL's")]


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield build_report_world()


def test_it_reads_the_same_report_through_a_prepared_statement(w):
    director = sign_in(Client(), w.director)
    url = reverse("report_attendance")
    with transaction.atomic():  # inside a transaction the statements run plainly
        plain = page_html(director, url)
        assert not prepared_names()
    first = page_html(director, url)
    prepared = prepared_names()
    second, statements = statements_of(director, url)

    assert first == second == plain
    assert "Can no longer reach the minimum this week" in plain  # someone found below
    assert len(executed(statements)) >= 2 and executed(statements) <= prepared
    assert not prepares(statements)
    assert len(statements) <= 9  # the report's budget (tests/staff/test_reports.py)
