"""The chart's family contacts are read through a statement compiled once per process
(participants/selectors.py chart_contacts): the contacts the ORM queryset read, in its order,
each with its consents prefetched newest first, and no second query for someone without any."""
import datetime as dt

import pytest

from participants.models import Contact, DisclosureConsent
from participants.selectors import chart_contacts
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 11)


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


@pytest.fixture
def person():
    """Three contacts (one removed) with standing, revoked, future and no consents; someone
    else's contact with a consent."""
    person = factories.ParticipantFactory()
    names = ["Zoe Adams", "Ana Brown", "Mia Cruz"]
    contacts = [factories.ContactFactory(participant=person, name=name) for name in names]
    contacts[2].removed_at = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    contacts[2].save()
    old = factories.DisclosureConsentFactory(contact=contacts[0], signed_on=dt.date(2025, 1, 1),
                                             expires_on=dt.date(2026, 1, 1))
    old.revoked_at = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    old.save()
    factories.DisclosureConsentFactory(contact=contacts[0], signed_on=dt.date(2026, 4, 1))
    factories.DisclosureConsentFactory(contact=factories.ContactFactory())
    return person


def test_it_reads_what_the_queryset_read(person, django_assert_num_queries):
    expected = list(Contact.objects.filter(participant=person, removed_at__isnull=True))
    with django_assert_num_queries(2):  # the contacts, their consents
        rows = chart_contacts(participant=person, today=TODAY)

    assert [_fields(row.contact) for row in rows] == [_fields(c) for c in expected]
    assert len(rows) == 2
    by_name = {row.contact.name: row for row in rows}
    newest = DisclosureConsent.objects.filter(contact=by_name["Zoe Adams"].contact).order_by(
        "-recorded_at", "-pk").first()
    assert by_name["Zoe Adams"].consent == newest and by_name["Zoe Adams"].status == "future"
    assert by_name["Ana Brown"].consent is None and by_name["Ana Brown"].status == "none"
    with django_assert_num_queries(0):  # prefetched, as before
        assert [len(row.contact.disclosure_consents.all()) for row in rows] in ([2, 0], [0, 2])


def test_someone_without_contacts_costs_one_query(django_assert_num_queries):
    nobody = factories.ParticipantFactory()
    with django_assert_num_queries(1):
        assert chart_contacts(participant=nobody, today=TODAY) == []
