"""The per-session attendance tally (reports.SessionTally) read by pages outside the reports."""
from __future__ import annotations

from django.db.models import F
from django.db.models.functions import Coalesce

from reports.models import SessionTally
from sessions.selectors.session_counts import ALIAS, SessionCounts


def tally_expected_count() -> Coalesce:
    """How many people a therapy session expects (its attendance rows not cancelled by the
    clinic), read from the session's tally: an annotation on a TherapySession queryset.

    The same number as counting the session's rows, which reads a hundred index entries for a
    group of a hundred (a week's calendar at 2,000 participants spent 34 ms there); the tally is
    one row, kept by triggers in the same transaction as every attendance write. A session with
    no tally row has never had attendance: 0."""
    return Coalesce(F("report_tally__attended") + F("report_tally__absent")
                    + F("report_tally__excused") + F("report_tally__unmarked"), 0)


# The tally as the sessions selectors read it (Today's day list and at-risk box): the staff
# views hand it in, since sessions may not import reports.
SESSION_COUNTS = SessionCounts(
    table=SessionTally._meta.db_table,
    marked=f"{ALIAS}.attended + {ALIAS}.absent + {ALIAS}.excused",
    unmarked=f"{ALIAS}.unmarked",
)
