"""The roster's session look-up and attendance read, and the week calendar's sessions, are
prepared once a database connection (iop_clinic.prepared), then only EXECUTEd: each page reads
the same as with plain statements, and a later request on the connection prepares nothing
more."""
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from sessions.models import Attendance
from tests.auth import sign_in

from .conftest import make_group_session
from .prepared_pages import read_plain_then_prepared

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres,
              pytest.mark.usefixtures("frozen_now"),
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


@pytest.mark.parametrize("filtered", [False, True])
def test_it_reads_the_same_week_calendar_through_prepared_statements(track, clinician,
                                                                     filtered):
    make_group_session(track, size=2, title="Skills <& more>", facilitator=clinician)
    make_group_session(track, size=1, hour=12, title="Called off", status="cancelled")
    url = reverse("calendar") + (f"?facilitator={clinician.pk}" if filtered else "")

    # 6: the calendar's budget (tests/staff/test_calendar.py)
    page = read_plain_then_prepared(sign_in(Client(), clinician), url, at_least=3, budget=6)

    assert "Skills &lt;&amp; more&gt;" in page
    assert ("Called off" in page) is not filtered
