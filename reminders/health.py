"""The outbox's vital signs: when the sweeper last ran, how long due reminders have waited, how
many failed lately; read by /healthz, /metrics and the directors' Today.

The sweeper runs inside a worker (beat only enqueues it), so "the sweeper has not run" covers
beat stopped, every worker stopped, and a sweep that keeps failing alike.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from iop_clinic.health import HealthSignal
from iop_clinic.vitals import vitals_last_run

from reminders.models import Reminder, ReminderStatus
from reminders.sweeper import SWEEP_VITALS_NAME


@dataclass(frozen=True)
class OutboxVitals:
    # When the sweeper last finished a sweep (Unix time), and how many seconds ago; None when
    # no sweep is on record.
    sweeper_last_run: float | None
    sweeper_age: int | None
    # Seconds the oldest pending reminder has waited past its due time (0: none is due).
    due_lag: int
    # Reminders that became "failed" within the last `failed_hours`.
    failed_recent: int
    failed_hours: int

    @property
    def sweeper_stale(self) -> bool:
        return self.sweeper_age is None or self.sweeper_age >= settings.HEALTHZ_SWEEPER_STALE_SECONDS

    @property
    def due_late(self) -> bool:
        return self.due_lag >= settings.HEALTHZ_DUE_LAG_SECONDS

    @property
    def failing(self) -> bool:
        return self.failed_recent > settings.HEALTHZ_FAILED_REMINDERS_LIMIT

    @property
    def sweeper_age_minutes(self) -> int | None:
        return None if self.sweeper_age is None else self.sweeper_age // 60

    @property
    def due_lag_minutes(self) -> int:
        return self.due_lag // 60

    @property
    def degraded(self) -> bool:
        return self.sweeper_stale or self.due_late or self.failing


# Failures are counted among reminders about visits from this long before the window on. A
# reminder fails before its visit (or its offer's first hours); only a notice about an excuse
# decided more than a week after the session could fail later and go uncounted. The bound keeps
# the count on a short range of the (status, visit_date) index: without it every failed row
# ever made is read (10 ms at 224,000 reminders with 1 % failed, and growing every week).
FAILED_VISIT_SLACK = timedelta(days=7)


def outbox_vitals(*, now: datetime | None = None) -> OutboxVitals:
    """Two queries, each a short index range, and one read of the vitals cache.

    Two, not one: joined by OR, PostgreSQL answered both from one bitmap scan that read every
    pending row planned for the next two weeks, not only the due ones (10 ms at 224,000 rows,
    against under 1 ms for the two)."""
    now = now or timezone.now()
    hours = settings.HEALTHZ_FAILED_REMINDERS_HOURS
    since = now - timedelta(hours=hours)
    # The sweeper's own partial index (pending, by due_at), read from its oldest end: one index
    # entry. A row already past its deadline counts too: it waited, and will expire unsent at
    # the next sweep (asking for send_before > now made PostgreSQL read every pending row).
    oldest_due = (Reminder.objects.filter(status=ReminderStatus.PENDING, due_at__lte=now)
                  .order_by("due_at").values_list("due_at", flat=True).first())
    failed = Reminder.objects.filter(
        status=ReminderStatus.FAILED, updated_at__gte=since,
        visit_date__gte=(since - FAILED_VISIT_SLACK).date()).count()
    last_run = vitals_last_run(name=SWEEP_VITALS_NAME)
    return OutboxVitals(
        sweeper_last_run=last_run,
        sweeper_age=None if last_run is None else max(0, round(now.timestamp() - last_run)),
        due_lag=max(0, round((now - oldest_due).total_seconds())) if oldest_due else 0,
        failed_recent=failed,
        failed_hours=hours,
    )


def outbox_health_signals() -> list[HealthSignal]:
    """The outbox's part of /healthz (registered by the app's ready())."""
    vitals = outbox_vitals()
    return [
        HealthSignal("sweeper", "stale" if vitals.sweeper_stale else "ok",
                     {"sweeper_seconds_since_run": vitals.sweeper_age}),
        HealthSignal("due_reminders", "late" if vitals.due_late else "ok",
                     {"due_reminders_oldest_wait_seconds": vitals.due_lag}),
        HealthSignal("failed_reminders", "too_many" if vitals.failing else "ok",
                     {"failed_reminders_recent": vitals.failed_recent,
                      "failed_reminders_window_hours": vitals.failed_hours}),
    ]
