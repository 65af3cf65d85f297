"""The one door through which schedule and enrollment changes ask for reminders to be re-planned.

Services call `reminders_replan_on_commit` after any change that adds, moves or cancels sessions,
or starts, pauses or ends an enrollment, or changes consent. The reminder planner (issue 3) fills
this in; until then there are no reminders to re-plan.
"""
from collections.abc import Iterable


def reminders_replan_on_commit(*, participant_ids: Iterable[int]) -> None:
    """Re-plan these participants' reminders once the current transaction commits."""
    return None
