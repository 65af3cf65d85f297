"""Announces that participants' visits change, so the reminders app (a layer up) re-plans and tells them."""
from collections.abc import Iterable

from django.dispatch import Signal

from participants.signals import reminder_inputs_changed


def visits_changed(*, participant_ids: Iterable[int]) -> None:
    """Sessions were added, moved or cancelled, or an enrollment or excuse changed what these
    participants are expected at. Sent inside the writing transaction; the receiver queues the
    re-plan after commit, so a rolled-back change plans nothing."""
    ids = sorted({int(pk) for pk in participant_ids})
    if ids:
        reminder_inputs_changed.send(sender=visits_changed, participant_ids=ids)


# Sent before sessions are cancelled or moved, inside the writing transaction, with the sessions
# still as participants know them: the reminders app records who to tell and what they knew.
# A service called with notify=False (staff chose not to tell anyone) does not send it.
schedule_changing = Signal()


def visits_changing(*, session_ids: Iterable[int]) -> None:
    """These sessions are about to be cancelled or moved (call before writing)."""
    ids = sorted({int(pk) for pk in session_ids})
    if ids:
        schedule_changing.send(sender=visits_changing, session_ids=ids)


# Sent when staff decide a participant's request to be excused, inside the deciding transaction:
# the reminders app queues a neutral "there is an answer" message through the outbox.
excuse_decided = Signal()


def excuse_decision_made(*, attendance_id: int) -> None:
    excuse_decided.send(sender=excuse_decision_made, attendance_id=int(attendance_id))


# Sent when freed seats are offered to people waiting, inside the offering transaction: the
# reminders app queues a neutral "a place is open, please answer" message through the outbox.
seats_offered = Signal()


def seats_offered_announce(*, enrollment_ids: Iterable[int]) -> None:
    ids = sorted({int(pk) for pk in enrollment_ids})
    if ids:
        seats_offered.send(sender=seats_offered_announce, enrollment_ids=ids)


# Sent when attendance is marked, inside the marking transaction: the authorizations app (a
# layer up) re-derives the units these participants used.
attendance_marked = Signal()


def attendance_changed(*, participant_ids: Iterable[int]) -> None:
    ids = sorted({int(pk) for pk in participant_ids})
    if ids:
        attendance_marked.send(sender=attendance_changed, participant_ids=ids)
