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


def test_it_reads_back_dates_and_moments_as_the_orm_gives_them():
    """SQLite hands a raw statement's dates and date-times back as text, date-times in UTC
    without their offset; PostgreSQL as a date and an aware date-time, kept as they are."""
    import datetime as dt

    from iop_clinic.sql_params import read_date, read_moment

    assert read_date("2026-03-09") == dt.date(2026, 3, 9)
    assert read_date(dt.date(2026, 3, 9)) == dt.date(2026, 3, 9)
    assert read_date(None) is None
    assert read_moment("2026-03-09 14:30:00") == dt.datetime(2026, 3, 9, 14, 30, tzinfo=dt.UTC)
    aware = dt.datetime(2026, 3, 9, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    assert read_moment(aware) is aware
    assert read_moment(None) is None
