"""The restore fence: after the database is restored from a backup, nothing the lost database
may already have sent goes out a second time.

A dump taken at T_dump and restored later has lost every change after T_dump, the outbox's
included: rows the old database sent between T_dump and the moment it stopped are `pending`
(or `claimed`, `sending`) again here. Nothing outside the database can tell us which of them
went out (an SMTP relay keeps no queryable record, and a provider's message list can only be
matched on phone number and text), so the fence decides from time alone:

- the old system could only send a row whose due time had come, and it stopped sending at
  `until` at the latest (the moment of the restore by default, or an earlier moment the
  operator knows it stopped);
- so every row still `pending` with `due_at <= until`, and every row `claimed` or `sending`
  (its claim was made before the dump), may have gone out: it becomes `failed` with the reason
  `restored`, for staff to review (admin: Reminders, needs attention), and is never sent;
- rows due after `until` cannot have gone out and stay pending: the outbox resumes with them.

Before fencing, the beat jobs that write outbox rows from the data (the planner, and passing
expired seat offers on) run once, as of `until`, so the rows the old database wrote from the
same data after the dump exist here too, and are fenced (by the rule above, and the notices of
the offers passed on by id) instead of being sent by the first beat after start. Changes people made after the dump (a moved session, a decided excuse) are
lost with the restore; their notices are not re-created, because the change is not there.

Run it once, after the restore and before any worker or beat starts (scripts/restore.py does).
Running it again later is harmless only if `until` is the original restore moment: a later
`until` would also fence rows that were due after the restore and are still waiting.
"""
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from reminders.models import Reminder, ReminderKind, ReminderReason, ReminderStatus
from sessions.services.enrollment import enrollment_offers_expire

from .planner import reminders_plan

logger = logging.getLogger(__name__)


@dataclass
class FenceResult:
    until: datetime
    planned: int = 0
    offers_passed_on: int = 0
    fenced: int = 0
    waiting: int = 0


def reminders_fence_after_restore(*, until: datetime | None = None,
                                  now: datetime | None = None) -> FenceResult:
    """Fail, as `restored`, every reminder the old database may have sent before `until`
    (default: now), after re-running the jobs that write outbox rows. Returns the counts."""
    now = now or timezone.now()
    until = until or now
    if until > now:
        raise ValueError("The fence cannot lie in the future: rows due later were never sent.")
    result = FenceResult(until=until)
    # Both jobs as of `until`, as the old system ran them: offers expired by then were passed
    # on, and told, by it; offers expiring later are passed on by beat after the start.
    started = timezone.now()
    result.offers_passed_on = enrollment_offers_expire(now=until)
    # Their notices are written with the real clock (due now, after `until`): held by id.
    passed_on = list(Reminder.objects.filter(
        kind=ReminderKind.OFFER, status=ReminderStatus.PENDING, created_at__gte=started,
    ).values_list("pk", flat=True)) if result.offers_passed_on else []
    result.planned = reminders_plan(now=until).created
    with transaction.atomic():
        result.fenced = Reminder.objects.filter(
            Q(status__in=[ReminderStatus.CLAIMED, ReminderStatus.SENDING])
            | Q(status=ReminderStatus.PENDING, due_at__lte=until)
            | Q(status=ReminderStatus.PENDING, pk__in=passed_on),
        ).update(status=ReminderStatus.FAILED, reason=ReminderReason.RESTORED,
                 detail=f"restore fence at {until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC",
                 updated_at=now)
    result.waiting = Reminder.objects.filter(status=ReminderStatus.PENDING).count()
    logger.warning("restore fence at %s: %s reminders held for review, %s still waiting",
                   until.isoformat(), result.fenced, result.waiting)
    return result
