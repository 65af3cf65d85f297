"""Marking whether a participant's family contact came to a family session (issue 18)."""
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from participants.models import Contact
from programs.models import SessionKind

from ..models import ContactAttendance, ContactAttendanceStatus, TherapySession
from .attendance import session_markable_error


def contact_attendance_mark(*, session: TherapySession, contact: Contact, status: str,
                            by: Any) -> ContactAttendance:
    """Record that `contact` came (or not) to family session `session`; marking again changes
    the answer. Codes: not_family_session, not_this_participants_contact, invalid_status, and
    the session's own (cancelled, not started)."""
    if session.kind != SessionKind.FAMILY:
        raise ValidationError(_("Contacts are marked at family sessions only."),
                              code="not_family_session")
    if contact.participant_id != session.participant_id or contact.removed_at is not None:
        raise ValidationError(_("This contact does not belong to this session."),
                              code="not_this_participants_contact")
    if status not in ContactAttendanceStatus.values:
        raise ValidationError({"status": ValidationError(_("Choose came or did not come."),
                                                         code="invalid_status")})
    error = session_markable_error(session)
    if error is not None:
        raise error
    with transaction.atomic():
        # update_or_create saves through the model, so the audit log records the change.
        row, _created = ContactAttendance.objects.select_for_update().update_or_create(
            session=session, contact=contact,
            defaults={"status": status, "marked_by": by, "marked_at": timezone.now()})
    return row
