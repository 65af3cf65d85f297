"""Registering many participants at once obeys participant_create's and consent_give's rules."""
import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from participants.models import ContactConsent, Participant
from participants.services import (
    consent_give, consents_give_many, participant_create, participants_create_many,
)
from tests import factories

pytestmark = pytest.mark.django_db


def person(site, number, **values):
    return {"record_number": number, "first_name": "Avery", "last_name": "Example",
            "home_site": site, "email": f"{number.lower()}@mail.example.com", **values}


def test_it_refuses_a_record_number_taken_in_the_clinic_or_earlier_in_the_batch(site):
    participant_create(**person(site, "MRN-1"))

    results = participants_create_many(people=[
        person(site, "mrn-1"), person(site, "MRN-2"), person(site, "Mrn-2"),
        person(site, "MRN-3", first_name=""),
    ])

    assert [r.code if isinstance(r, ValidationError) else r.record_number
            for r in results[:3]] == ["record_number_taken", "MRN-2", "record_number_taken"]
    assert "first_name" in results[3].error_dict  # full_clean's field errors, as one by one
    assert set(Participant.objects.values_list("record_number", flat=True)) == {"MRN-1", "MRN-2"}


def test_it_audits_each_new_participant(site):
    (created,) = participants_create_many(people=[person(site, "MRN-9")])

    entry = LogEntry.objects.get(content_type__model="participant", object_id=created.pk)
    assert entry.action == LogEntry.Action.CREATE
    assert "MRN-9" in entry.object_repr
    assert entry.additional_data["participant"] == created.pk


def test_it_gives_consent_as_one_by_one_does_and_replans_once(site, replans):
    with_phone, without_phone = participants_create_many(people=[
        person(site, "C-1", phone="+12015550123"), person(site, "C-2")])
    consent_give(participant=with_phone, channel="email", source="intake")
    replans.clear()

    results = consents_give_many(consents=[
        (with_phone, "email"), (with_phone, "sms"), (without_phone, "sms"),
        (without_phone, "email")], source="intake")

    assert results[0] == ContactConsent.objects.get(participant=with_phone, channel="email")
    assert results[1].channel == "sms"
    assert results[2].error_dict["phone"][0].code == "consent_needs_phone"
    assert ContactConsent.objects.filter(participant=without_phone).count() == 1
    assert replans == [[with_phone.pk, without_phone.pk]]


def test_creating_many_costs_the_same_queries_for_3_or_30_people(
    site, django_assert_max_num_queries
):
    factories.ParticipantFactory(home_site=site)
    for size, prefix in ((3, "S"), (30, "T")):
        with django_assert_max_num_queries(7):
            participants_create_many(people=[person(site, f"{prefix}-{n}")
                                             for n in range(size)])


def test_giving_consent_many_costs_the_same_queries_for_3_or_30_people(
    site, django_capture_on_commit_callbacks
):
    """Standing consents, new ones and refusals, the re-plan and authorization refresh after
    commit included."""
    counts = []
    for size, prefix in ((3, "S"), (30, "T")):
        created = participants_create_many(people=[
            person(site, f"{prefix}-{n}", phone="+12015550123" if n % 3 else "")
            for n in range(size)])
        consent_give(participant=created[0], channel="email", source="intake")
        with CaptureQueriesContext(connection) as queries:
            with django_capture_on_commit_callbacks(execute=True):
                results = consents_give_many(consents=[
                    (p, channel) for p in created for channel in ("email", "sms")],
                    source="intake")
        counts.append(len(queries))
        assert sum(isinstance(r, ValidationError) for r in results) == len(range(0, size, 3))
    assert counts[0] == counts[1]
