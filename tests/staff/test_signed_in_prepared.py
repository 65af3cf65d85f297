"""Every signed-in request's own statements (the user, the staff access rules, the portal's
participant) are prepared once a database connection (iop_clinic.prepared), then only
EXECUTEd: pages read the same as with plain statements, and a later request on the connection
neither prepares them again nor sends their text."""
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.auth import sign_in

from .prepared_pages import read_plain_then_prepared, statements_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres,
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="PREPARE is PostgreSQL's")]

# The start of each statement's text when it is sent plainly.
USER_TEXT = 'SELECT "accounts_user"."id"'
ACCESS_TEXT = "(SELECT 'group'"
PARTICIPANT_TEXT = 'SELECT "participants_participant"."id"'


def test_a_staff_page_reads_its_user_and_access_rules_through_prepared_statements(clinician):
    client = sign_in(Client(), clinician)
    url = reverse("followup_list")
    read_plain_then_prepared(client, url, at_least=2, budget=20)
    _html, statements = statements_of(client, url)
    assert not [sql for sql in statements if sql.startswith((USER_TEXT, ACCESS_TEXT))]


def test_a_portal_page_reads_its_user_and_participant_through_prepared_statements(site):
    participant = factories.ParticipantFactory(home_site=site, user=factories.UserFactory())
    client = Client()
    client.force_login(participant.user)
    url = reverse("portal-calendar")
    read_plain_then_prepared(client, url, at_least=2, budget=4)
    _html, statements = statements_of(client, url)
    assert not [sql for sql in statements if sql.startswith((USER_TEXT, PARTICIPANT_TEXT))]
