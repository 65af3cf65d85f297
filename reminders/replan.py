"""The one door through which schedule and enrollment changes ask for reminders to be re-planned.

Services call `reminders_replan_on_commit` after any change that adds, moves or cancels sessions,
or starts, pauses or ends an enrollment, or changes consent. The planning itself runs in a Celery
task after the transaction commits, so the caller's request stays quick, a rolled-back change
plans nothing, and the planner reads the committed state.
"""
import logging
from collections.abc import Iterable

from django.db import transaction

logger = logging.getLogger(__name__)

REPLAN_CHUNK = 500


def reminders_replan_on_commit(*, participant_ids: Iterable[int]) -> None:
    """Re-plan these participants' reminders once the current transaction commits."""
    ids = sorted({int(pk) for pk in participant_ids})
    if not ids:
        return

    def enqueue() -> None:
        from reminders.tasks import reminders_plan_task

        try:
            for start in range(0, len(ids), REPLAN_CHUNK):
                chunk_ids = ids[start:start + REPLAN_CHUNK]
                reminders_plan_task.delay(chunk_ids)
        except Exception:
            # The change itself is committed; the hourly full plan catches up. A broker outage
            # must not turn a saved enrollment into an error page.
            logger.exception("reminder re-plan not queued for %s participants", len(ids))

    transaction.on_commit(enqueue)
