"""Announces that participants' visits changed, so the reminders app (a layer up) re-plans."""
from collections.abc import Iterable

from participants.signals import reminder_inputs_changed


def visits_changed(*, participant_ids: Iterable[int]) -> None:
    """Sessions were added, moved or cancelled, or an enrollment or excuse changed what these
    participants are expected at. Sent inside the writing transaction; the receiver queues the
    re-plan after commit, so a rolled-back change plans nothing."""
    ids = sorted({int(pk) for pk in participant_ids})
    if ids:
        reminder_inputs_changed.send(sender=visits_changed, participant_ids=ids)
