"""django-auditlog's request context (who acted, from which address) without a signal
receiver connected and disconnected on every request.

auditlog.middleware.AuditlogMiddleware connects a pre_save receiver on LogEntry when each
request starts and disconnects it when it ends: two trips through the signal's lock, and the
signal's receiver cache for every model thrown away, on every page, about 0.1 ms of CPU. Here
the same receiver (auditlog's own `_set_extra_data`) is connected once, under one dispatch id,
and each request only sets auditlog's context variable, as auditlog does, with that id: an entry
saved while a request is served gets the request's actor, address and port exactly as before.
When the request ends the variable is reset to what it was (auditlog leaves it set), so what
runs in the thread afterwards no longer reads as "during that request"; audit/services.py's
`_request_context` sees the context as live under the same rule as before (its dispatch id is
connected).
"""
from django.db.models.signals import pre_save

from auditlog import get_logentry_model
from auditlog.cid import set_cid
from auditlog.context import _set_extra_data, auditlog_value
from auditlog.middleware import AuditlogMiddleware

# auditlog keys each request's receiver by ("set_actor", time); this one key serves them all.
SIGNAL_DUID = ("iop_clinic.audit_context", 0)


def _request_extra_data(sender, instance, **kwargs) -> None:
    _set_extra_data(sender, instance, signal_duid=SIGNAL_DUID, **kwargs)


class AuditContextMiddleware(AuditlogMiddleware):
    def __init__(self, get_response=None):
        super().__init__(get_response)
        # Idempotent: the dispatch id keeps it to one receiver however many handlers load.
        pre_save.connect(_request_extra_data, sender=get_logentry_model(),
                         dispatch_uid=SIGNAL_DUID, weak=False)

    def __call__(self, request):
        set_cid(request)
        token = auditlog_value.set({**self.get_extra_data(request), "signal_duid": SIGNAL_DUID})
        try:
            return self.get_response(request)
        finally:
            auditlog_value.reset(token)
