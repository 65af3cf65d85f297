"""iop_clinic.prepared: a statement prepared once a connection and then EXECUTEd reads what
the plain statement reads; a table altered under it (a migration) or a server that forgot it
gets it prepared again instead of an error; inside a transaction it runs plainly."""
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from iop_clinic import prepared

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="PREPARE is PostgreSQL's")]

PROBE = "SELECT * FROM prepared_probe WHERE id IN %s AND label <> %s ORDER BY id"


@pytest.fixture
def probe():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE prepared_probe (id bigint PRIMARY KEY, label text)")
        cursor.execute("INSERT INTO prepared_probe VALUES (1, 'one'), (2, 'two'), (3, 'three')")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE prepared_probe")


def _read(ids, other_than="none"):
    with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
        prepared.execute(cursor, PROBE, (tuple(ids), other_than))
        rows = cursor.fetchall()
    return rows, [query["sql"].split()[0] for query in captured.captured_queries]


def test_it_prepares_once_and_then_executes_with_each_calls_values(probe):
    assert _read([1, 2]) == ([(1, "one"), (2, "two")], ["PREPARE", "EXECUTE"])
    assert _read([2, 3]) == ([(2, "two"), (3, "three")], ["EXECUTE"])
    # The str parameter is written into the statement: another one is another statement.
    assert _read([2, 3], "two") == ([(3, "three")], ["PREPARE", "EXECUTE"])
    assert _read([3, 1], "two") == ([(1, "one"), (3, "three")], ["EXECUTE"])


def test_it_leaves_str_values_as_parameters_when_they_are_not_constants(probe):
    def read(other_than):
        with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
            prepared.execute(cursor, PROBE, ((1, 2), other_than), constants=False)
            rows = cursor.fetchall()
        return rows, [query["sql"].split()[0] for query in captured.captured_queries]

    # A person's text (a name, a page's path) is a value: one statement whatever it says.
    assert read("one") == ([(2, "two")], ["PREPARE", "EXECUTE"])
    assert read("two") == ([(1, "one")], ["EXECUTE"])
    assert read("it's") == ([(1, "one"), (2, "two")], ["EXECUTE"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        [(text,)] = cursor.fetchall()
    assert "'" not in text


def test_it_prepares_again_after_a_migration_changed_the_table(probe):
    _read([1])
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE prepared_probe ADD COLUMN note text DEFAULT 'added'")

    # EXECUTE fails with "cached plan must not change result type": DEALLOCATE, PREPARE again.
    assert _read([1]) == ([(1, "one", "added")], ["EXECUTE", "DEALLOCATE", "PREPARE", "EXECUTE"])
    assert _read([1]) == ([(1, "one", "added")], ["EXECUTE"])


def test_it_prepares_again_when_the_server_forgot_it(probe):
    _read([1])
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")

    assert _read([1]) == ([(1, "one")], ["EXECUTE", "PREPARE", "EXECUTE"])


def test_it_runs_plainly_inside_a_transaction(probe):
    with transaction.atomic():
        rows, statements = _read([1, 3])
    assert rows == [(1, "one"), (3, "three")]
    assert statements == ["SELECT"]


def test_it_keeps_a_bounded_number_a_connection(probe, monkeypatch):
    monkeypatch.setattr(prepared, "MAX_PER_CONNECTION", 2)
    for label in ("a", "b", "c"):
        _read([1], label)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (2,)
    assert _read([1], "a")[1] == ["DEALLOCATE", "PREPARE", "EXECUTE"]  # the oldest went


def test_it_runs_plainly_what_postgresql_will_not_prepare():
    def read():
        with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
            # An untyped None: PREPARE can't tell $1's type, the plain statement can.
            prepared.execute(cursor, "SELECT %s IS NULL", (None,))
            return cursor.fetchall(), [q["sql"].split()[0] for q in captured.captured_queries]

    assert read() == ([(True,)], ["PREPARE", "SELECT"])
    assert read() == ([(True,)], ["SELECT"])  # not tried again
