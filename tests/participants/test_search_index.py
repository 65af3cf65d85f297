"""The caseload's search by part of a name is served by the trigram index on PostgreSQL
(participants 0006): the index's expressions must be the ones Django writes for `icontains`,
or PostgreSQL silently reads every participant again."""
import pytest
from django.db import connection

from participants.models import Participant
from sessions.selectors.pages import participant_search
from tests import factories

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's"),
]


def test_it_finds_a_participant_by_part_of_a_name_through_the_trigram_index(site):
    factories.ParticipantFactory(home_site=site, first_name="Marisol", last_name="Quintero")
    factories.ParticipantFactory(home_site=site, first_name="Ben", last_name="Baker")
    found = participant_search(participants=Participant.objects.all(), query="INTER")
    assert [p.last_name for p in found] == ["Quintero"]
    with connection.cursor() as cursor:
        # A handful of rows would be read whole anyway, from the table or along the name
        # index; forbid both to see whether the trigram index can serve the search.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = found.explain()
    assert "participant_search_trgm_idx" in plan
