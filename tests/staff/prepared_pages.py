"""Reading a page through statements prepared once a connection (iop_clinic.prepared): its HTML
with the CSRF tokens and nonces blanked, what the connection has prepared, and one request's
statements."""
import re

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext


def page_html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    html = re.sub(r'(csrfmiddlewaretoken" value=")[^"]+', r"\1-", response.content.decode())
    html = re.sub(r'(name="csrf-token" content=")[^"]+', r"\1-", html)
    return re.sub(r'nonce="[^"]+"', 'nonce="-"', html)


def prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'iop_%%'")
        return {name for (name,) in cursor.fetchall()}


def statements_of(client, url: str) -> tuple[str, list[str]]:
    """The page and the statements its request ran."""
    with CaptureQueriesContext(connection) as captured:
        html = page_html(client, url)
    return html, [query["sql"] for query in captured.captured_queries]


def executed(statements: list[str]) -> set[str]:
    return {sql.split()[1] for sql in statements if sql.startswith("EXECUTE ")}


def prepares(statements: list[str]) -> list[str]:
    return [sql for sql in statements if sql.startswith("PREPARE ")]


def read_plain_then_prepared(client, url: str, *, at_least: int, budget: int) -> str:
    """The page inside a transaction (statements run plainly there), then twice outside: the
    three read the same, and the second request only EXECUTEs (at least `at_least` statements,
    each prepared by the first) within the page's query budget. Returns the plain page."""
    with transaction.atomic():
        # Nothing prepared inside a transaction (what earlier tests on this connection prepared
        # outside one, e.g. an authorization usage refresh after a commit, may still be there).
        before = prepared_names()
        plain = page_html(client, url)
        assert prepared_names() == before
    first = page_html(client, url)
    prepared = prepared_names()
    second, statements = statements_of(client, url)

    assert first == second == plain
    assert len(executed(statements)) >= at_least and executed(statements) <= prepared
    assert not prepares(statements)
    assert len(statements) <= budget
    return plain
