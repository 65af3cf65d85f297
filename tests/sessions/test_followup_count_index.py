"""Today's count of open follow-ups at my sites reads the open follow-ups' index alone: it
includes the person's home site and the session's site, both kept on the follow-up
(iop_sessions 0011 and 0015), so the count reads nothing of the participants, whose table keeps
everyone ever admitted (it hashed the ids of everyone whose home is at the sites)."""
import datetime as dt

import pytest
from django.db import connection, transaction

from participants.models import Participant
from sessions.models import FollowUp
from sessions.selectors import pages
from sessions.selectors.pages import open_followup_count
from tests import factories

pytestmark = [
    # VACUUM runs outside a transaction: the test commits, and the database is emptied after.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner"),
]


def _tables_read(plan: dict) -> set[str]:
    found = {plan["Relation Name"]} if "Relation Name" in plan else set()
    return found.union(*(_tables_read(child) for child in plan.get("Plans", [])))


def test_the_open_follow_up_count_reads_the_follow_ups_index_alone(site, other_site):
    here = factories.ParticipantFactory(home_site=site)
    there = factories.ParticipantFactory(home_site=other_site)
    for _ in range(30):  # people at the site with nothing open: a hash of them read them all
        factories.ParticipantFactory(home_site=site)
    session_here = factories.TherapySessionFactory(track=factories.TrackFactory(site=site))
    for n, (person, session) in enumerate([(here, None), (here, None), (there, None),
                                           (there, session_here)]):
        FollowUp.objects.create(participant=person, session=session, kind="unexcused_absence",
                                missed_on=dt.date(2026, 1, 5) + dt.timedelta(days=n))
    assert open_followup_count(site_ids=[site.pk]) == 3
    assert open_followup_count(site_ids=[other_site.pk]) == 2

    statement = pages._open_followup_count_statement("default", connection.vendor, 1)
    with connection.cursor() as cursor:
        # Vacuumed, as a table in use is: its pages are all visible, so reading the index alone
        # costs less than reading each row.
        cursor.execute(f"VACUUM (ANALYZE) {FollowUp._meta.db_table}")
    with transaction.atomic(), connection.cursor() as cursor:
        # A few rows would be read whole anyway; forbid the scans that read the table.
        for setting in ("enable_seqscan", "enable_bitmapscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement.sql}",
                       statement._params({"sites": [site.pk]}))
        plan = cursor.fetchone()[0][0]["Plan"]
        cursor.execute(f"EXPLAIN {statement.sql}", statement._params({"sites": [site.pk]}))
        text = "\n".join(row[0] for row in cursor.fetchall())
    assert _tables_read(plan) == {FollowUp._meta.db_table}, text
    assert Participant._meta.db_table not in text
    assert "Index Only Scan using followup_open_homes_idx" in text, text
