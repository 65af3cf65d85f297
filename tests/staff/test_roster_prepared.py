"""The roster's session look-up and its attendance read are prepared once a database
connection (iop_clinic.prepared), then only EXECUTEd: the roster reads the same as with plain
statements, and a later request on the connection prepares nothing more."""
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from sessions.models import Attendance
from tests.auth import sign_in

from .conftest import make_group_session
from .prepared_pages import read_plain_then_prepared

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres,
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="PREPARE is PostgreSQL's")]


def test_it_reads_the_same_roster_through_prepared_statements(track, clinician):
    session, rows = make_group_session(track, size=3, facilitator=clinician)
    Attendance.objects.filter(pk=rows[0].pk).update(
        status="late", minutes_attended=40, note='Bus <"late">', marked_by=clinician)

    # 9: the roster's budget (tests/staff/test_roster.py)
    page = read_plain_then_prepared(sign_in(Client(), clinician),
                                    reverse("roster", args=[session.pk]), at_least=4, budget=9)

    assert page.count('class="list-group-item roster-row"') == 3
    assert "Bus &lt;&quot;late&quot;&gt;" in page and "40 min" in page
