"""Today's hottest statements are prepared once a database connection (iop_clinic.prepared),
then only EXECUTEd: the page reads the same as with plain statements, a later request on the
connection prepares nothing more, and a new connection prepares them again."""
import datetime as dt
import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions.services.attendance import attendance_mark
from tests import factories

from .conftest import MONDAY, make_group_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("frozen_now"),
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="PREPARE is PostgreSQL's")]


def _page(client) -> str:
    html = client.get(reverse("home")).content.decode()
    html = re.sub(r'(csrfmiddlewaretoken" value=")[^"]+', r"\1-", html)
    return re.sub(r'nonce="[^"]+"', 'nonce="-"', html)


def _prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


@pytest.fixture
def busy_day(track, front_desk, clinician):
    """A session with someone at risk, someone not, and an open follow-up: each box has rows."""
    monday, rows = make_group_session(track, size=2, hour=9, facilitator=clinician)
    for day in (7, 8):
        later = factories.TherapySessionFactory(
            track=track, site=track.site, session_type=monday.session_type,
            starts_at=dt.datetime.combine(MONDAY + dt.timedelta(days=day - 5), dt.time(18),
                                          tzinfo=track.site.zone).astimezone(dt.UTC))
        for row in rows:
            factories.AttendanceFactory(session=later, participant=row.participant,
                                        enrollment=row.enrollment)
    attendance_mark(attendance=rows[0], status="absent", by=front_desk)
    attendance_mark(attendance=rows[1], status="present", by=front_desk)
    return rows


def test_it_reads_the_same_page_through_prepared_statements(as_clinician, busy_day):
    with transaction.atomic():  # inside a transaction the statements run plainly
        plain = _page(as_clinician)
        assert not any(name.startswith("iop_") for name in _prepared_names())
    first = _page(as_clinician)
    prepared = {name for name in _prepared_names() if name.startswith("iop_")}
    with CaptureQueriesContext(connection) as captured:
        second = _page(as_clinician)

    assert first == second == plain
    assert busy_day[0].participant.full_name in plain  # the at-risk box has its person
    statements = [query["sql"] for query in captured.captured_queries]
    executed = {sql.split()[1] for sql in statements if sql.startswith("EXECUTE ")}
    assert len(executed) >= 6 and executed <= prepared
    assert not [sql for sql in statements if sql.startswith("PREPARE ")]
    assert len(statements) <= 12  # the page's budget (tests/staff/test_today.py)


def test_a_new_connection_prepares_them_again(as_clinician, busy_day):
    page = _page(as_clinician)
    connection.close()  # as CONN_MAX_AGE does; the server forgets its prepared statements

    with CaptureQueriesContext(connection) as captured:
        assert _page(as_clinician) == page
    prepares = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("PREPARE ")]
    assert len(prepares) >= 6
    assert {sql.split()[1] for sql in prepares} <= _prepared_names()
