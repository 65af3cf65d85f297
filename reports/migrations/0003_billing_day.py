"""Billed attendance per participant, day, site, service code and track (reports.BillingDay),
kept by statement triggers.

Four tables move a billing day: attendance (rows marked, unmarked, given minutes, moved to
another session or enrollment, added, deleted), sessions (cancelled or restored, rescheduled,
moved to another site, track or type, deleted), session types (a service code changed) and
enrollments (a personal session's row counts for its enrollment's track, which a transfer
changes). Each has statement triggers that take the statement's transition tables, add the new
rows' sessions and microseconds and subtract the old rows', per key in key order (so two bulk
writes lock day rows in the same order), skipping keys that did not move (a note changed). The
invariant: the stored sums equal the live attended rows summed against the live sessions, types
and enrollments, at the end of every statement, in the writer's transaction.

Deltas rather than recomputing the touched (participant, day) keys from attendance: the same
shape as reports_session_tally and iop_sessions_week_hours, cheaper per write (the statement's
own rows, not each participant's whole day re-read), and commutative under concurrent writers
(two marks of one day add up; two recomputations from two snapshots would each miss the
other's row). A whole day's attendance of a participant is never re-read by a write.

Creating the triggers locks the four tables against writes until this migration commits, so the
backfill that follows sees every row and misses none.
"""
import django.db.models.deletion
from django.db import migrations, models

ATTENDED = "('present', 'late', 'left_early')"
ATTENDANCE, SESSIONS = "iop_sessions_attendance", "iop_sessions_therapysession"
TYPES, ENROLLMENTS = "programs_sessiontype", "participants_enrollment"
# The key, as the unique index and every ON CONFLICT name it: a track-less row (a personal
# session's row without an enrollment) conflicts with its kind through COALESCE(track_id, 0).
# In the order the report groups by (participant, code, day), and holding what it reads, so a
# long range is summed from the index alone as it comes, without a hash table or a sort (at
# 2,000 participants: 82,000 rows for 12 weeks; hashed, they spilled to disk).
KEY = "participant_id, service_code, local_date, site_id, (COALESCE(track_id, 0))"
INDEX = f"CREATE UNIQUE INDEX reports_billing_day_key ON reports_billing_day ({KEY})"
PG_INDEX = f"""{INDEX} INCLUDE (track_id, sessions, length);
-- A short range (the page's last week, 2,000 of 82,000 rows) by date: the rows come in date
-- order (the backfill's and each day's own), so a block range index of a few pages finds them.
CREATE INDEX reports_billing_day_date ON reports_billing_day USING brin (local_date)
    WITH (pages_per_range = 16);
-- The planner's estimate of the days a range holds: without it, it guesses a tenth of the rows
-- and hashes them instead of reading the index in order.
CREATE STATISTICS reports_billing_day_days (ndistinct)
    ON participant_id, service_code, local_date FROM reports_billing_day;"""

# An attended row at a held session of a type with a service code: one session, and the
# minutes recorded or else the session's length, in whole microseconds (exact integers, as the
# report summed them before). A personal session (no track) counts for the row's enrollment's.
PG_ROWS = """
    SELECT s.local_date, a.participant_id, st.service_code, s.site_id,
           COALESCE(s.track_id, e.track_id) AS track_id,
           COALESCE(a.minutes_attended * 60000000::bigint,
                    (EXTRACT(EPOCH FROM (s.ends_at - s.starts_at)) * 1000000)::bigint) AS length,
           {sign} AS sign
    FROM {attendance} a JOIN {sessions} s ON s.id = a.session_id
    JOIN {types} st ON st.id = s.session_type_id
    {enrollment_join}
    WHERE s.status = 'scheduled' AND a.status IN {attended} AND st.service_code <> ''{more}
"""
DELTA = f"""
    INSERT INTO reports_billing_day AS b
        (local_date, participant_id, service_code, site_id, track_id, sessions, length)
    SELECT * FROM (
        SELECT d.local_date, d.participant_id, d.service_code, d.site_id, d.track_id,
               SUM(d.sign)::int AS sessions, SUM(d.sign * d.length)::bigint AS length
        FROM ({{rows}}) AS d
        GROUP BY 1, 2, 3, 4, 5
    ) AS c
    WHERE (c.sessions, c.length) <> (0, 0)
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ({KEY}) DO UPDATE SET
        sessions = b.sessions + EXCLUDED.sessions, length = b.length + EXCLUDED.length;
"""


def _pg_rows(*, sign: int, attendance: str = ATTENDANCE, sessions: str = SESSIONS,
             types: str = TYPES, enrollments: str = ENROLLMENTS, more: str = "") -> str:
    if enrollments == ENROLLMENTS:
        enrollment_join = (f"LEFT JOIN {ENROLLMENTS} e ON e.id = a.enrollment_id "
                           "AND s.track_id IS NULL")
    else:  # an enrollment's own rows: only personal sessions read its track
        enrollment_join = f"JOIN {enrollments} e ON e.id = a.enrollment_id AND s.track_id IS NULL"
    return PG_ROWS.format(attendance=attendance, sessions=sessions, types=types,
                          enrollment_join=enrollment_join, sign=sign, attended=ATTENDED,
                          more=more)


def _changed_sql(columns: str) -> str:
    old = ", ".join(f"o.{c.strip()}" for c in columns.split(","))
    new = ", ".join(f"n.{c.strip()}" for c in columns.split(","))
    return (f"SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
            f"WHERE ({old}) IS DISTINCT FROM ({new})")


def _changed(alias: str, columns: str) -> str:
    """Only the rows of the statement whose `columns` changed (an update of anything else moves
    nothing and reads nothing more)."""
    return f" AND {alias}.id IN ({_changed_sql(columns)})"


# A statement that cannot move a billing day returns at once, before any lock or join: attendance
# rows never attended (a schedule's "expected" rows, marks of absent or excused), and updates of
# what billing does not read (a session's title or facilitator, an enrollment's status). These
# checks read each transition table once with no join (EXCEPT hashes or sorts whatever the
# sizes), so their plans, cached at a statement's first firing, suit every size.
def _nothing_to_do(table: str, columns: str) -> dict[str, str]:
    if table == ATTENDANCE:
        attended = f"SELECT 1 FROM {{}} WHERE status IN {ATTENDED}"
        return {"INSERT": f"NOT EXISTS ({attended.format('new_rows')})",
                "DELETE": f"NOT EXISTS ({attended.format('old_rows')})",
                "UPDATE": f"NOT EXISTS ({attended.format('new_rows')}) "
                          f"AND NOT EXISTS ({attended.format('old_rows')})"}
    return {"UPDATE": f"NOT EXISTS (SELECT id, {columns} FROM new_rows "
                      f"EXCEPT SELECT id, {columns} FROM old_rows)"}


def _skip(condition: str | None) -> str:
    return f"IF {condition} THEN RETURN NULL; END IF;" if condition else ""


# Every statement of the functions runs through EXECUTE, planned afresh for each firing with the
# transition tables' real sizes. A static statement's plan is cached by the connection at its
# first firing: planned for a one-row mark, it was reused for a whole session's 100 rows as
# nested loops over the transition tables, and took 300-600 ms instead of 10 (the planning
# costs a fraction of a millisecond a statement).
def _dynamic(sql: str) -> str:
    return f"EXECUTE $q${sql.strip().rstrip(';')}$q$;"


SOURCES = {
    # table: (function, transition-table argument of _pg_rows, columns an update moves, alias)
    ATTENDANCE: ("billing_day_from_attendance", "attendance",
                 "status, minutes_attended, session_id, enrollment_id, participant_id", "a"),
    SESSIONS: ("billing_day_from_sessions", "sessions",
               "status, starts_at, ends_at, local_date, site_id, track_id, session_type_id", "s"),
    TYPES: ("billing_day_from_session_types", "types", "service_code", "st"),
    ENROLLMENTS: ("billing_day_from_enrollments", "enrollments", "track_id", "e"),
}


# An attendance statement adds its rows to the day and track of their sessions as it reads
# them, while a session update moves the rows it reads from the old day to the new (and an
# enrollment update from the old track to the new). Without a lock between the two, a mark and
# a reschedule of the same session in two transactions each miss the other's change. So the
# attendance trigger first takes a share lock on the sessions of its attended rows, on the
# enrollments of those at personal sessions and on the sessions' types (each in id order), which
# waits for an uncommitted change of them and makes their own update wait for the mark; the sums
# that follow are then read in a fresh snapshot (READ COMMITTED takes one a statement). Share
# locks do not wait for one another, so marks never wait for marks: a type's lock only makes an
# admin's change of its service code wait for the marks in flight (and them for it). Rows never
# attended (a schedule's "expected" rows) lock nothing.
def _lock(*tables: str) -> str:
    attended = " UNION ".join(f"SELECT session_id, enrollment_id FROM {table} "
                              f"WHERE status IN {ATTENDED}" for table in tables)
    return (_dynamic(f"SELECT 1 FROM {SESSIONS} WHERE id IN (SELECT session_id FROM "
                     f"({attended}) r) ORDER BY id FOR SHARE") + "\n        "
            + _dynamic(f"SELECT 1 FROM {ENROLLMENTS} WHERE id IN (SELECT r.enrollment_id "
                       f"FROM ({attended}) r JOIN {SESSIONS} s ON s.id = r.session_id "
                       "WHERE s.track_id IS NULL) ORDER BY id FOR SHARE") + "\n        "
            + _dynamic(f"SELECT 1 FROM {TYPES} WHERE id IN (SELECT s.session_type_id "
                       f"FROM ({attended}) r JOIN {SESSIONS} s ON s.id = r.session_id) "
                       "ORDER BY id FOR SHARE"))


_LOCKS = {"INSERT": _lock("new_rows"), "DELETE": _lock("old_rows"),
          "UPDATE": _lock("new_rows", "old_rows")}


def _pg_function(table: str) -> str:
    name, argument, columns, alias = SOURCES[table]
    locks = _LOCKS if table == ATTENDANCE else {}
    new = _pg_rows(sign=1, **{argument: "new_rows"}).rstrip()
    old = _pg_rows(sign=-1, **{argument: "old_rows"}).rstrip()
    moved = _changed(alias, columns)
    skip = _nothing_to_do(table, columns)
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_skip(skip.get("INSERT"))}
        {locks.get("INSERT", "")}
        {_dynamic(DELTA.format(rows=new))}
    ELSIF TG_OP = 'DELETE' THEN
        {_skip(skip.get("DELETE"))}
        {locks.get("DELETE", "")}
        {_dynamic(DELTA.format(rows=old))}
    ELSE
        {_skip(skip.get("UPDATE"))}
        {locks.get("UPDATE", "")}
        {_dynamic(DELTA.format(rows=new + moved + " UNION ALL " + old + moved))}
    END IF;
    RETURN NULL;
END
$$;"""


def _pg_triggers(table: str) -> str:
    function = SOURCES[table][0]
    prefix = f"reports_{function}"
    return f"""
CREATE TRIGGER {prefix}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {prefix}_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {prefix}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();"""


FORWARD = "\n".join([
    PG_INDEX,
    *(_pg_function(table) for table in SOURCES),
    *(_pg_triggers(table) for table in SOURCES),
    # The backfill, after the triggers: every attended row there is.
    DELTA.format(rows=_pg_rows(sign=1)),
    # Statistics for the planner straight away: an empty-looking table is read row by row.
    "ANALYZE reports_billing_day;",
])

BACKWARD = "\n".join(
    [f"DROP TRIGGER IF EXISTS reports_{function}_{op} ON {table};"
     for table, (function, *_rest) in SOURCES.items() for op in ("insert", "update", "delete")]
    + [f"DROP FUNCTION IF EXISTS {function}();" for function, *_rest in SOURCES.values()]
    + ["DROP STATISTICS IF EXISTS reports_billing_day_days;"])


# The embedded default (`make run`) runs on SQLite, which has no statement triggers nor
# transition tables: one trigger a row, with the same sums (a session's length in whole
# seconds there: SQLite's date functions keep milliseconds at best).
def _sqlite_delta(*, a: str, s: str, st: str, track: str, sign: int, where: str) -> str:
    length = (f"((CAST(strftime('%s', {s}.ends_at) AS integer) "
              f"- CAST(strftime('%s', {s}.starts_at) AS integer)) * 1000000)")
    return (
        "INSERT INTO reports_billing_day (local_date, participant_id, service_code, site_id, "
        "track_id, sessions, length) "
        f"SELECT {s}.local_date, {a}.participant_id, {st}.service_code, {s}.site_id, {track}, "
        f"{sign}, {sign} * COALESCE({a}.minutes_attended * 60000000, {length}) "
        f"{where} AND {s}.status = 'scheduled' AND {a}.status IN {ATTENDED} "
        f"AND {st}.service_code <> '' "
        f"ON CONFLICT ({KEY}) DO UPDATE SET sessions = sessions + excluded.sessions, "
        "length = length + excluded.length;"
    )


def _enrollment_track(s: str, a: str) -> str:
    return (f"COALESCE({s}.track_id, (SELECT e.track_id FROM {ENROLLMENTS} e "
            f"WHERE e.id = {a}.enrollment_id AND {s}.track_id IS NULL))")


def _from_attendance(row: str, sign: int) -> str:
    return _sqlite_delta(a=row, s="s", st="st", track=_enrollment_track("s", row), sign=sign,
                         where=f"FROM {SESSIONS} s JOIN {TYPES} st ON st.id = s.session_type_id "
                               f"WHERE s.id = {row}.session_id")


def _from_session(row: str, sign: int) -> str:
    return _sqlite_delta(a="a", s=row, st="st", track=_enrollment_track(row, "a"), sign=sign,
                         where=f"FROM {ATTENDANCE} a JOIN {TYPES} st "
                               f"ON st.id = {row}.session_type_id WHERE a.session_id = {row}.id")


def _from_type(row: str, sign: int) -> str:
    return _sqlite_delta(a="a", s="s", st=row, track=_enrollment_track("s", "a"), sign=sign,
                         where=f"FROM {ATTENDANCE} a JOIN {SESSIONS} s ON s.id = a.session_id "
                               f"WHERE s.session_type_id = {row}.id")


def _from_enrollment(row: str, sign: int) -> str:
    return _sqlite_delta(a="a", s="s", st="st", track=f"{row}.track_id", sign=sign,
                         where=f"FROM {ATTENDANCE} a JOIN {SESSIONS} s ON s.id = a.session_id "
                               f"JOIN {TYPES} st ON st.id = s.session_type_id "
                               f"WHERE a.enrollment_id = {row}.id AND s.track_id IS NULL")


def _sqlite_triggers(table: str, delta, update_of: str) -> list[str]:
    prefix = f"reports_{SOURCES[table][0]}"
    return [
        f"CREATE TRIGGER {prefix}_insert AFTER INSERT ON {table} BEGIN {delta('NEW', 1)} END",
        f"CREATE TRIGGER {prefix}_update AFTER UPDATE OF {update_of} ON {table} "
        f"BEGIN {delta('OLD', -1)} {delta('NEW', 1)} END",
        f"CREATE TRIGGER {prefix}_delete AFTER DELETE ON {table} BEGIN {delta('OLD', -1)} END",
    ]


SQLITE_FORWARD = [
    INDEX,
    *_sqlite_triggers(ATTENDANCE, _from_attendance, SOURCES[ATTENDANCE][2]),
    *_sqlite_triggers(SESSIONS, _from_session, SOURCES[SESSIONS][2]),
    *_sqlite_triggers(TYPES, _from_type, SOURCES[TYPES][2]),
    *_sqlite_triggers(ENROLLMENTS, _from_enrollment, SOURCES[ENROLLMENTS][2]),
    # The backfill: every row already there, one row at a time (a one-machine clinic).
    _sqlite_delta(a="a", s="s", st="st", track=_enrollment_track("s", "a"), sign=1,
                  where=f"FROM {ATTENDANCE} a JOIN {SESSIONS} s ON s.id = a.session_id "
                        f"JOIN {TYPES} st ON st.id = s.session_type_id WHERE 1"),
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS reports_{function}_{op}"
                   for function, *_rest in SOURCES.values()
                   for op in ("insert", "update", "delete")]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        statements = statements_by_vendor.get(connection.vendor)
        if statements is None:
            raise NotImplementedError(f"no billing day triggers for {connection.vendor}")
        for statement in statements:
            schema_editor.execute(statement, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0002_session_tally"),
        ("iop_sessions", "0009_week_hours"),
        ("participants", "0006_participant_search_trigram_idx"),
        ("programs", "0007_program_family_contact_policy"),
    ]

    operations = [
        migrations.CreateModel(
            name="BillingDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("local_date", models.DateField(verbose_name="local date")),
                ("service_code", models.CharField(max_length=12,
                                                  verbose_name="billing/service code")),
                ("sessions", models.IntegerField(default=0)),
                ("length", models.BigIntegerField(default=0)),
                ("participant", models.ForeignKey(
                    db_constraint=False, db_index=False,
                    on_delete=django.db.models.deletion.DO_NOTHING,
                    related_name="+", to="participants.participant")),
                ("site", models.ForeignKey(
                    db_constraint=False, db_index=False,
                    on_delete=django.db.models.deletion.DO_NOTHING,
                    related_name="+", to="programs.site")),
                ("track", models.ForeignKey(
                    db_constraint=False, db_index=False, null=True,
                    on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                    to="programs.track")),
            ],
            options={"db_table": "reports_billing_day"},
        ),
        migrations.RunPython(_run({"postgresql": [FORWARD], "sqlite": SQLITE_FORWARD}),
                             _run({"postgresql": [BACKWARD], "sqlite": SQLITE_BACKWARD})),
    ]
