"""Time attended per enrollment and session type in the stay (iop_sessions.StayHours), kept by
triggers.

The outcomes report's length of stay in attended hours summed, for every stay ended in its range,
the enrollment's own attendance rows (present, late, left early; `minutes_attended` or the
session's length) at scheduled sessions dated admission to discharge: with months of history,
280,000 rows read for 1,767 stays. Stored per (enrollment, session type), it reads a row a stay
and type; whether the type counts toward the hours stays live (a flag flip writes nothing).

Three sources move the sums, each through statement triggers that add the new rows' time and
take the old rows' away, per (enrollment, type) in key order, skipping rows that did not move:
- attendance inserted, deleted, or updated in status, minutes, enrollment or session;
- sessions whose status, times, local date or type changed (or inserted/deleted: Django's
  foreign keys are deferred, so rows may be written before their session);
- enrollments whose admission or discharge date changed (or inserted/deleted).
The invariant: the stored sums equal the live rows summed, at the end of every statement, in the
writer's transaction. Each trigger reads the other two tables; so that two writers in flight do
not each miss the other's change, an attendance statement takes a share lock on its sessions and
then on its enrollments (rows attended before or after only), and a session statement on the
enrollments of its attended rows; each waits for an uncommitted change of what it locks and
makes that change wait for it, and the sums then read in a fresh snapshot. A delta computed
against a row that changes just after commutes with that change's own delta.

Not atomic: the table and triggers are created and committed, then the sums already due are
filled a batch of enrollments a transaction. A batch locks attendance, sessions and enrollments
against writes (SHARE: reads go on) for the moment it takes, so no trigger delta is in flight
while it replaces its enrollments' sums with the live ones; writes wait for it, not the reverse.
"""
import time

import django.db.models.deletion
from django.db import OperationalError, migrations, models, transaction

ATTENDED = "('present', 'late', 'left_early')"
ATTENDANCE = "iop_sessions_attendance"
SESSIONS = "iop_sessions_therapysession"
ENROLLMENTS = "participants_enrollment"

# The time a row adds: its recorded minutes, or its session's length, in microseconds (exact:
# what the report's old SQL summed as numeric minutes, times 60,000,000).
PG_ROWS = """
    SELECT r.enrollment_id, s.session_type_id,
           {sign} * COALESCE(r.minutes_attended::bigint * 60000000,
                             (EXTRACT(EPOCH FROM (s.ends_at - s.starts_at)) * 1000000)::bigint)
               AS us
    FROM {attendance} r JOIN {sessions} s ON s.id = r.session_id
    JOIN {enrollments} e ON e.id = r.enrollment_id{join}
    WHERE r.status IN """ + ATTENDED + """ AND s.status = 'scheduled'
        AND s.local_date >= e.admission_date AND s.local_date <= e.discharge_date{more}
"""
DELTA = """
    INSERT INTO iop_sessions_stay_hours AS h (enrollment_id, session_type_id, attended_microseconds)
    SELECT * FROM (
        SELECT d.enrollment_id, d.session_type_id, SUM(d.us) AS us FROM ({rows}) AS d
        GROUP BY d.enrollment_id, d.session_type_id
    ) AS c
    WHERE c.us <> 0
    ORDER BY c.enrollment_id, c.session_type_id
    ON CONFLICT (enrollment_id, session_type_id) DO UPDATE SET
        attended_microseconds = h.attended_microseconds + EXCLUDED.attended_microseconds;
"""


def _rows(*, attendance: str = ATTENDANCE, sessions: str = SESSIONS,
          enrollments: str = ENROLLMENTS, sign: int, join: str = "", more: str = "") -> str:
    return PG_ROWS.format(attendance=attendance, sessions=sessions, enrollments=enrollments,
                          sign=sign, join=join, more=more)


def _differ(columns: str, one: str, other: str) -> str:
    return (f"({', '.join(f'{one}.{c}' for c in columns.split(', '))}) IS DISTINCT FROM "
            f"({', '.join(f'{other}.{c}' for c in columns.split(', '))})")


def _changed(columns: str) -> str:
    """The updated rows whose `columns` changed (a note or a status of an enrollment does not
    move the sums)."""
    return (f"SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
            f"WHERE {_differ(columns, 'o', 'n')}")


def _update_rows(table: str, alias: str, columns: str, **names: str) -> tuple[str, str]:
    """An update's rows that changed `columns`: the new rows added, the old taken away, each
    side joined to the other by id once. (Not `id IN (changed)`: a plan cached for a one-row
    statement nests that join in a loop over the rows, quadratic at a session's 100 rows.)"""
    new = _rows(sign=1, **{table: "new_rows"}, **names,
                join=f" JOIN old_rows o ON o.id = {alias}.id",
                more=f" AND {_differ(columns, 'o', alias)}")
    old = _rows(sign=-1, **{table: "old_rows"}, **names,
                join=f" JOIN new_rows n ON n.id = {alias}.id",
                more=f" AND {_differ(columns, 'n', alias)}")
    return new, old


def _delta_of_update(new_and_old: tuple[str, str]) -> str:
    new, old = new_and_old
    return DELTA.format(rows=new.rstrip() + " UNION ALL " + old.rstrip())


def _lock(table: str, ids: str) -> str:
    return f"PERFORM 1 FROM {table} WHERE id IN ({ids}) ORDER BY id FOR SHARE;"


# Attendance: rows attended before or after the write are the only ones that can move a sum,
# so only they lock their sessions, then their enrollments.
_ATTENDED_INSERTED = f"SELECT * FROM new_rows WHERE status IN {ATTENDED}"
_ATTENDED_DELETED = f"SELECT * FROM old_rows WHERE status IN {ATTENDED}"
_ATTENDANCE_COLUMNS = "status, minutes_attended, enrollment_id, session_id"
_ATTENDED_UPDATED_WHERE = (f"WHERE (n.status IN {ATTENDED} OR o.status IN {ATTENDED}) "
                           f"AND {_differ(_ATTENDANCE_COLUMNS, 'o', 'n')}")
_ATTENDED_UPDATED = (
    "SELECT n.session_id, n.enrollment_id FROM new_rows n JOIN old_rows o ON o.id = n.id "
    f"{_ATTENDED_UPDATED_WHERE} UNION ALL SELECT o.session_id, o.enrollment_id "
    f"FROM new_rows n JOIN old_rows o ON o.id = n.id {_ATTENDED_UPDATED_WHERE}")


def _attendance_locks(rows: str) -> str:
    return (_lock(SESSIONS, f"SELECT session_id FROM ({rows}) AS l") + "\n        "
            + _lock(ENROLLMENTS, f"SELECT enrollment_id FROM ({rows}) AS l"))


# Sessions and enrollments: the attended rows of what moved lock their enrollments (a session's)
# or are locked already (an enrollment updated is locked by its own update).
_SESSION_COLUMNS = "status, starts_at, ends_at, local_date, session_type_id"
_SESSIONS_MOVED = _changed(_SESSION_COLUMNS)


def _session_locks(sessions: str) -> str:
    return _lock(ENROLLMENTS, f"SELECT a.enrollment_id FROM {ATTENDANCE} a "
                              f"WHERE a.session_id IN ({sessions}) AND a.status IN {ATTENDED}")


_ENROLLMENT_COLUMNS = "admission_date, discharge_date"

FUNCTIONS = {
    "stay_hours_from_attendance": {
        "INSERT": (_attendance_locks(_ATTENDED_INSERTED),
                   DELTA.format(rows=_rows(attendance="new_rows", sign=1))),
        "DELETE": (_attendance_locks(_ATTENDED_DELETED),
                   DELTA.format(rows=_rows(attendance="old_rows", sign=-1))),
        "UPDATE": (_attendance_locks(_ATTENDED_UPDATED), _delta_of_update(
            _update_rows("attendance", "r", _ATTENDANCE_COLUMNS))),
    },
    "stay_hours_from_sessions": {
        "INSERT": (_session_locks("SELECT id FROM new_rows"),
                   DELTA.format(rows=_rows(sessions="new_rows", sign=1))),
        "DELETE": (_session_locks("SELECT id FROM old_rows"),
                   DELTA.format(rows=_rows(sessions="old_rows", sign=-1))),
        "UPDATE": (_session_locks(_SESSIONS_MOVED), _delta_of_update(
            _update_rows("sessions", "s", _SESSION_COLUMNS))),
    },
    "stay_hours_from_enrollments": {
        "INSERT": ("", DELTA.format(rows=_rows(enrollments="new_rows", sign=1))),
        "DELETE": ("", DELTA.format(rows=_rows(enrollments="old_rows", sign=-1))),
        "UPDATE": ("", _delta_of_update(
            _update_rows("enrollments", "e", _ENROLLMENT_COLUMNS))),
    },
}
TRIGGERS = {"stay_hours_from_attendance": (ATTENDANCE, "stay_hours_attendance"),
            "stay_hours_from_sessions": (SESSIONS, "stay_hours_sessions"),
            "stay_hours_from_enrollments": (ENROLLMENTS, "stay_hours_enrollments")}


def _pg_function(name: str, steps: dict[str, tuple[str, str]]) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {steps["INSERT"][0]}
        {steps["INSERT"][1]}
    ELSIF TG_OP = 'DELETE' THEN
        {steps["DELETE"][0]}
        {steps["DELETE"][1]}
    ELSE
        {steps["UPDATE"][0]}
        {steps["UPDATE"][1]}
    END IF;
    RETURN NULL;
END
$$;"""


def _pg_triggers(table: str, function: str, prefix: str) -> str:
    return f"""
CREATE TRIGGER {prefix}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {prefix}_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {prefix}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();"""


PG_FORWARD = "\n".join(
    [_pg_function(name, steps) for name, steps in FUNCTIONS.items()]
    + [_pg_triggers(table, name, prefix) for name, (table, prefix) in TRIGGERS.items()])
PG_BACKWARD = "\n".join(
    [f"DROP TRIGGER IF EXISTS {prefix}_{op} ON {table};"
     for table, prefix in TRIGGERS.values() for op in ("insert", "update", "delete")]
    + [f"DROP FUNCTION IF EXISTS {name}();" for name in FUNCTIONS])

# One batch of the fill: its enrollments' sums replaced by the live rows summed.
PG_FILL_LOCK = f"LOCK TABLE {ENROLLMENTS}, {SESSIONS}, {ATTENDANCE} IN SHARE MODE"
PG_FILL_CLEAR = "DELETE FROM iop_sessions_stay_hours WHERE enrollment_id >= %s AND enrollment_id < %s"
PG_FILL_BATCH = DELTA.format(rows=_rows(sign=1, more=" AND e.id >= %s AND e.id < %s"))
FILL_BATCH_ENROLLMENTS = 1000
FILL_TRIES = 5


def _vendor(schema_editor) -> str:
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no stay-hours triggers for {vendor}")
    return vendor


def triggers_create(apps, schema_editor) -> None:
    # SQLite (`make run`) keeps no sums: the outcomes report sums the rows live there.
    if _vendor(schema_editor) == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def triggers_drop(apps, schema_editor) -> None:
    if _vendor(schema_editor) == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)


def _fill_batch(cursor, start: int, end: int) -> None:
    """One batch in its own transaction, tried again if a writer holding a row of one table
    while waiting for another deadlocked with the batch's table locks (PostgreSQL then cancels
    one of the two; the writer's page shows the error, so the wait is short)."""
    for attempt in range(FILL_TRIES):
        try:
            with transaction.atomic(using=cursor.db.alias):
                cursor.execute("SET LOCAL lock_timeout = '2s'")
                cursor.execute(PG_FILL_LOCK)
                cursor.execute(PG_FILL_CLEAR, [start, end])
                cursor.execute(PG_FILL_BATCH, [start, end])
            return
        except OperationalError:
            if attempt == FILL_TRIES - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def sums_fill(apps, schema_editor) -> None:
    """Every enrollment already there gets its sums, a batch of ids a transaction (autocommit:
    this operation is not atomic); enrollments made meanwhile are summed by the triggers."""
    if _vendor(schema_editor) == "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {ENROLLMENTS}")
        low, high = cursor.fetchone()
        if low is not None:
            for start in range(low, high + 1, FILL_BATCH_ENROLLMENTS):
                _fill_batch(cursor, start, start + FILL_BATCH_ENROLLMENTS)
        # Statistics for the planner straight away: an empty-looking table is read row by row.
        cursor.execute("VACUUM (ANALYZE) iop_sessions_stay_hours")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("iop_sessions", "0011_followup_session_site"),
        ("participants", "0006_participant_search_trigram_idx"),
        ("programs", "0007_program_family_contact_policy"),
    ]

    operations = [
        migrations.CreateModel(
            name="StayHours",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("attended_microseconds", models.BigIntegerField(default=0)),
                ("enrollment", models.ForeignKey(
                    db_constraint=False, db_index=False,
                    on_delete=django.db.models.deletion.DO_NOTHING,
                    related_name="+", to="participants.enrollment")),
                ("session_type", models.ForeignKey(
                    db_constraint=False, db_index=False,
                    on_delete=django.db.models.deletion.DO_NOTHING,
                    related_name="+", to="programs.sessiontype")),
            ],
            options={
                "verbose_name": "hours attended in a stay",
                "verbose_name_plural": "hours attended in stays",
                "db_table": "iop_sessions_stay_hours",
                "constraints": [models.UniqueConstraint(
                    fields=("enrollment", "session_type"),
                    name="stay_hours_one_per_enrollment_and_type")],
            },
        ),
        migrations.RunPython(triggers_create, triggers_drop, atomic=True),
        migrations.RunPython(sums_fill, migrations.RunPython.noop, atomic=False),
    ]
