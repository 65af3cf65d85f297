"""Today's count of open follow-ups at my sites asks which participants have their home at
those sites; on PostgreSQL the (home site, id) index answers from the index alone
(participants 0007), where the foreign key's own index would read each participant's row and
the table itself keeps everyone ever admitted."""
import pytest
from django.db import connection, transaction

from participants.models import Participant
from sessions.models import FollowUp, FollowUpStatus
from sessions.selectors.pages import _followups_at_by_subquery, open_followup_count
from tests import factories

pytestmark = [
    # VACUUM runs outside a transaction: the test commits, and the database is emptied after.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner"),
]


def test_the_open_follow_up_count_reads_home_sites_from_the_index_alone(site, other_site):
    here = factories.ParticipantFactory(home_site=site)
    there = factories.ParticipantFactory(home_site=other_site)
    for person in (here, here, there):
        FollowUp.objects.create(participant=person, kind="unexcused_absence")
    assert open_followup_count(site_ids=[site.pk]) == 2
    assert open_followup_count(site_ids=[other_site.pk]) == 1

    rows = FollowUp.objects.filter(status=FollowUpStatus.OPEN).filter(
        _followups_at_by_subquery([site.pk])).order_by().values("pk")
    with connection.cursor() as cursor:
        # Vacuumed, as a table in use is: its pages are all visible, so reading the index alone
        # costs less than reading each row, and the planner's choice between this index and
        # the foreign key's no longer rests on a tie (whose winner varied with the statistics
        # earlier tests left).
        cursor.execute(f"VACUUM (ANALYZE) {Participant._meta.db_table}")
    with transaction.atomic(), connection.cursor() as cursor:
        # A few rows would be read whole anyway; forbid the scans that read the table.
        for setting in ("enable_seqscan", "enable_bitmapscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        plan = rows.explain()
    assert "Index Only Scan using participant_home_site_idx" in plan, plan
