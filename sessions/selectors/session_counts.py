"""How many attendance rows a session has, as a table a layer above keeps (for the statements
here that may read it instead of the rows).

`sessions` ranks below `reports` (tests/test_architecture.py), so its selectors may not import
the attendance tally (reports.SessionTally, one row a session kept by triggers in the writer's
transaction). A caller that may (a staff view) hands the tally in as a `SessionCounts`: a table
and two SQL expressions over it. A selector given none counts the attendance rows as before.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SessionCounts:
    """A table with one row per session that has ever had attendance (none: no rows at all),
    read as `{table} {ALIAS}` joined on `{ALIAS}.session_id`."""

    table: str
    marked: str  # SQL over ALIAS: rows present, late, left early, absent or excused
    unmarked: str  # SQL over ALIAS: rows still expected (cancelled rows are in neither)


ALIAS = "kept"
