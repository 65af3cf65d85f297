"""The join from one participant's attendance rows to their sessions, in raw statements.

The chart's lists, the hours ledger and the portal home read a participant's attendance rows
(`a`) with their sessions (`s`). On PostgreSQL each row finds its session by primary key through
a LATERAL subquery (OFFSET 0 keeps the planner from pulling it up): joined, the planner hashed
the whole sessions table, a scan that grows with the clinic, to match a participant's few
hundred rows, and a prepared statement's generic plan could start from the sessions instead of
the participant. SQLite has no LATERAL; its planner looks sessions up by key anyway.
"""


def session_of_row(vendor: str, columns: str) -> str:
    """The FROM clause's join from `a` to `s`, which reads `columns` of the session."""
    if vendor == "postgresql":
        return (f"CROSS JOIN LATERAL (\n    SELECT {columns} FROM iop_sessions_therapysession s\n"
                "    WHERE s.id = a.session_id OFFSET 0) s")
    return "JOIN iop_sessions_therapysession s ON s.id = a.session_id"
