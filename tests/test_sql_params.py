"""iop_clinic.sql_params: raw SQL's `IN %s` tuples for SQLite, untouched for PostgreSQL."""
from iop_clinic.sql_params import expand_in

SQL = "SELECT 1 FROM t WHERE a IN %s AND b = %s AND c LIKE '5%%' AND d IN %s"
PARAMS = ((1, 2, 3), "x", ("p", "q"))


def test_postgresql_gets_the_statement_and_parameters_as_written():
    sql, params = expand_in("postgresql", SQL, PARAMS)
    assert sql is SQL and params is PARAMS


def test_sqlite_gets_one_placeholder_per_member_of_each_tuple():
    sql, params = expand_in("sqlite", SQL, PARAMS)
    assert sql == ("SELECT 1 FROM t WHERE a IN (%s, %s, %s) AND b = %s AND c LIKE '5%%' "
                   "AND d IN (%s, %s)")
    assert params == [1, 2, 3, "x", "p", "q"]


def test_sqlite_statements_without_tuples_pass_through():
    sql, params = expand_in("sqlite", "SELECT %s, '%%s'", (1,))
    assert (sql, params) == ("SELECT %s, '%%s'", (1,))
