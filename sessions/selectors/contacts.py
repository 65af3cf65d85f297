"""Which family contacts a family session expects, and what the roster has marked for them."""
from dataclasses import dataclass

from participants.models import Contact
from programs.models import SessionKind

from ..models import ContactAttendance, TherapySession


@dataclass(frozen=True)
class ExpectedContact:
    contact: Contact
    status: str  # "" while unmarked (expected), else a ContactAttendanceStatus value


def session_contacts(*, session: TherapySession) -> list[ExpectedContact]:
    """The participant's contacts (not removed) at a family session, with their marks: two
    queries whatever the number; none at all for other kinds of session."""
    if session.kind != SessionKind.FAMILY or session.participant_id is None:
        return []
    contacts = list(Contact.objects.filter(participant_id=session.participant_id,
                                           removed_at__isnull=True))
    if not contacts:
        return []
    marks = dict(ContactAttendance.objects.filter(session=session).values_list(
        "contact_id", "status"))
    return [ExpectedContact(contact, marks.get(contact.pk, "")) for contact in contacts]
