"""The billing report's summary and lines statements are prepared once a database connection
(iop_clinic.prepared), as the report menus, then only EXECUTEd: the report reads the same as
with plain statements, and a later request on the connection prepares nothing more."""
import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.auth import sign_in
from tests.reports.world import NOW, build_report_world

from .prepared_pages import read_plain_then_prepared

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres,
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="PREPARE is PostgreSQL's")]


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield build_report_world()


@pytest.mark.parametrize("query", ["", "?date_from=2026-01-28&date_to=2026-02-18"])
def test_it_reads_the_same_report_through_prepared_statements(w, query):
    director = sign_in(Client(), w.director)
    # 9: the report's budget (tests/staff/test_reports.py); the menus, summary and lines
    plain = read_plain_then_prepared(director, reverse("report_billing") + query, at_least=3,
                                     budget=9)
    assert "H0015" in plain and "Nothing billable in this range." not in plain
