"""Today's hottest statements are prepared once a database connection (iop_clinic.prepared),
then only EXECUTEd: the page reads the same as with plain statements, a later request on the
connection prepares nothing more, and a new connection prepares them again."""
import pytest
from django.db import connection
from django.urls import reverse

from reports.models import SessionTally

from .conftest import make_someone_at_risk
from .prepared_pages import (page_html, prepared_names, prepares, read_plain_then_prepared,
                             statements_of)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("frozen_now"),
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="PREPARE is PostgreSQL's")]


@pytest.fixture
def busy_day(track, front_desk, clinician):
    """Someone at risk, someone not, and an open follow-up: each box has rows."""
    return make_someone_at_risk(track, by=front_desk, facilitator=clinician)


def test_it_reads_the_same_page_through_prepared_statements(as_clinician, busy_day):
    # 12: the page's budget (tests/staff/test_today.py)
    plain = read_plain_then_prepared(as_clinician, reverse("home"), at_least=6, budget=12)
    assert busy_day[0].participant.full_name in plain  # the at-risk box has its person


def test_a_new_connection_prepares_them_again(as_clinician, busy_day):
    page = page_html(as_clinician, reverse("home"))
    connection.close()  # as CONN_MAX_AGE does; the server forgets its prepared statements

    again, statements = statements_of(as_clinician, reverse("home"))
    assert again == page
    assert len(prepares(statements)) >= 6
    assert {sql.split()[1] for sql in prepares(statements)} <= prepared_names()


def test_its_day_list_and_at_risk_box_read_the_attendance_tally(as_clinician, busy_day):
    """The view hands reports' attendance tally to both selectors (sessions may not import
    reports): the day list's counts and the at-risk box's look-ups read it, nothing else does."""
    page_html(as_clinician, reverse("home"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name LIKE 'iop_%%'")
        tallied = [statement for (statement,) in cursor.fetchall()
                   if SessionTally._meta.db_table in statement]
    assert len(tallied) == 2
    assert sum("WITH stored AS" in statement for statement in tallied) == 1  # the at-risk box
