"""bench/explain.py --plan: the plan of a page's statement, as EXPLAIN prints it, to read by eye."""
import pytest
from django.db import connection

from bench.explain import text_plan
from tests.factories import ParticipantFactory

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="the bench explains PostgreSQL's plans")]


def test_a_statements_plan_has_its_times_buffers_and_rows_read():
    ParticipantFactory.create_batch(3)
    plan = text_plan("SELECT id FROM participants_participant WHERE last_name <> ''")
    lines = plan.splitlines()
    # The root node and the scan, with what was actually read, then the totals.
    assert "participants_participant" in plan
    assert "actual time=" in lines[0] and "rows=3" in plan
    assert any(line.strip().startswith("Buffers: shared") for line in lines)
    assert lines[-1].strip().startswith("Execution Time:")
