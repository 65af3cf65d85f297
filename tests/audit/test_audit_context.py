"""The request's audit context (iop_clinic.audit_context): what django-auditlog's own middleware
records about who changed a row during a request, without a receiver per request."""
import pytest
from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from django.db.models.signals import pre_save
from django.http import HttpResponse
from django.test import RequestFactory

from audit.services import BulkAction, audit_bulk
from iop_clinic.audit_context import AuditContextMiddleware
from participants.models import Participant
from tests import factories

pytestmark = pytest.mark.django_db

HEADERS = {"REMOTE_ADDR": "192.0.2.30", "HTTP_X_FORWARDED_FOR": "198.51.100.7:4431, 10.0.0.1",
           "HTTP_X_FORWARDED_PORT": "4431", "HTTP_X_CORRELATION_ID": "cid-123"}
RECORDED = ("actor_id", "actor_email", "remote_addr", "remote_port", "cid", "action")


def _rename_through(middleware_class, user, participant, name: str):
    def view(request):
        participant.first_name = name
        participant.save()
        audit_bulk(model=Participant, objects=[participant], action=BulkAction.UPDATE,
                   fields=["first_name"])
        return HttpResponse("ok")

    request = RequestFactory().post("/", **HEADERS)
    request.user = user
    middleware_class(view)(request)
    entries = LogEntry.objects.get_for_object(participant).order_by("pk")
    return [{key: getattr(entry, key) for key in RECORDED} for entry in entries]


@pytest.mark.parametrize("renames", [1, 3])
def test_it_records_what_auditlogs_middleware_records(clinician, renames, settings):
    settings.AUDITLOG_CID_HEADER = "x-correlation-id"
    ours, theirs = factories.ParticipantFactory(), factories.ParticipantFactory()
    for number in range(renames):
        mine = _rename_through(AuditContextMiddleware, clinician, ours, f"Ana{number}")
        auditlogs = _rename_through(AuditlogMiddleware, clinician, theirs, f"Ana{number}")

    assert mine == auditlogs
    created, *changed = mine  # the factory's row, then a save and a bulk entry per request
    assert created["actor_id"] is None and len(changed) == 2 * renames
    assert {entry["actor_id"] for entry in changed} == {clinician.pk}
    assert {entry["remote_addr"] for entry in changed} == {"198.51.100.7"}
    assert "cid-123" in {entry["cid"] for entry in changed}  # the save; audit_bulk sets none


def test_a_change_after_the_request_names_nobody(clinician):
    participant = factories.ParticipantFactory()
    _rename_through(AuditContextMiddleware, clinician, participant, "During")

    participant.first_name = "After"
    participant.save()

    after = LogEntry.objects.get_for_object(participant).order_by("pk").last()
    assert after.changes_dict["first_name"] == ["During", "After"]
    assert after.actor is None and after.remote_addr is None


def test_requests_leave_the_signals_receivers_as_they_found_them(clinician):
    participant = factories.ParticipantFactory()
    _rename_through(AuditContextMiddleware, clinician, participant, "First")
    receivers = list(pre_save.receivers)

    for number in range(3):
        _rename_through(AuditContextMiddleware, clinician, participant, f"Again{number}")

    assert pre_save.receivers == receivers
