"""The chart's heaviest statements (the participant, their enrollments, the lists, the
authorizations' usage) are prepared once a database connection (iop_clinic.prepared), then
only EXECUTEd: the chart reads the same as with plain statements, a later request on the
connection prepares nothing more, and a new connection prepares them again."""
import datetime as dt

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.auth import sign_in
from tests.authorizations.world import MONDAY, TODAY, build_world

from .prepared_pages import (executed, page_html, prepared_names, prepares,
                             read_plain_then_prepared, statements_of)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres,
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="PREPARE is PostgreSQL's")]


@pytest.fixture
def w(site):
    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(17)), tick=False):
        world = build_world(site=site)
        world.authorize(number="PA-77")
        world.attend(MONDAY)
        world.attend(MONDAY + dt.timedelta(days=1))
        world.attend(MONDAY + dt.timedelta(days=9), "expected")
        yield world


@pytest.fixture
def as_director(director):
    return sign_in(Client(), director)


def test_it_reads_the_same_chart_through_prepared_statements(w, as_director):
    url = reverse("participant_chart", args=[w.participant.code])
    # 13: the chart's budget (tests/authorizations/test_pages.py)
    plain = read_plain_then_prepared(as_director, url, at_least=4, budget=13)
    section = plain.split('id="authorizations-heading"')[1].split('id="ledger-heading"')[0]
    assert "PA-77" in section and '<td class="text-end units-used">2</td>' in section


def test_a_new_connection_prepares_the_charts_statements_again(w, as_director):
    url = reverse("participant_chart", args=[w.participant.code])
    page = page_html(as_director, url)
    connection.close()  # as CONN_MAX_AGE does; the server forgets its prepared statements

    again, statements = statements_of(as_director, url)
    assert again == page
    assert len(prepares(statements)) >= 4
    assert {sql.split()[1] for sql in prepares(statements)} <= prepared_names()


def test_it_reads_the_chart_of_someone_never_enrolled_the_same(site, as_director):
    # No enrollment: no hours-ledger window (NULL dates in the lists' statement), no usage.
    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(17)), tick=False):
        person = factories.ParticipantFactory(home_site=site)
        url = reverse("participant_chart", args=[person.code])
        with transaction.atomic():
            plain = page_html(as_director, url)
        first = page_html(as_director, url)
        second, statements = statements_of(as_director, url)

    assert first == second == plain
    assert person.full_name in plain
    assert len(executed(statements)) >= 3 and not prepares(statements)
