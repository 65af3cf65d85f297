"""The billing rules' common table expression parses on both databases, rules or none.

A clinic that bills every code per session sets REPORT_BILLING_RULES='{}'. The expression then
holds one typed row of NULLs; `make run` serves it from SQLite, which has no `::` casts.
"""
import sqlite3

import pytest
from django.db import connection

from sessions.selectors.billing import rules_cte

RULES_READ = "SELECT code, unit, COALESCE(min_minutes, 0) FROM rules ORDER BY code"
# No rules (every code per session), and one per-diem rule.
CASES = [({}, [(None, None, 0)]),
         ({"H0015": {"unit": "day", "min_minutes": 180}}, [("H0015", "day", 180)])]


@pytest.mark.parametrize(("rules", "expected"), CASES)
def test_it_reads_the_rules_on_sqlite(settings, rules, expected):
    settings.REPORT_BILLING_RULES = rules
    sql, params = rules_cte()
    with sqlite3.connect(":memory:") as db:
        rows = db.execute(f"WITH {sql} {RULES_READ}".replace("%s", "?"), params).fetchall()
    assert rows == expected


@pytest.mark.django_db
@pytest.mark.postgres
@pytest.mark.parametrize(("rules", "expected"), CASES)
def test_it_reads_the_rules_on_postgresql(settings, rules, expected):
    settings.REPORT_BILLING_RULES = rules
    sql, params = rules_cte()
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {sql} {RULES_READ}", params)
        assert cursor.fetchall() == expected
