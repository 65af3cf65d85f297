"""The outbox's vital signs: when the sweeper last ran, how long due reminders have waited, how
many failed lately; read by /healthz, /metrics and the directors' Today.

The sweeper runs inside a worker (beat only enqueues it), so "the sweeper has not run" covers
beat stopped, every worker stopped, and a sweep that keeps failing alike.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
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
    # Seconds the oldest due, still pending reminder has waited past its due time (0: none).
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


def outbox_vitals(*, now: datetime | None = None) -> OutboxVitals:
    """One query (both counts from two small partial scans) and one read of the vitals cache."""
    now = now or timezone.now()
    hours = settings.HEALTHZ_FAILED_REMINDERS_HOURS
    due = Q(status=ReminderStatus.PENDING, due_at__lte=now, send_before__gt=now)
    failed = Q(status=ReminderStatus.FAILED, updated_at__gte=now - timedelta(hours=hours))
    numbers = Reminder.objects.filter(due | failed).aggregate(
        oldest_due=Min("due_at", filter=due), failed=Count("pk", filter=failed))
    last_run = vitals_last_run(name=SWEEP_VITALS_NAME)
    return OutboxVitals(
        sweeper_last_run=last_run,
        sweeper_age=None if last_run is None else max(0, round(now.timestamp() - last_run)),
        due_lag=(max(0, round((now - numbers["oldest_due"]).total_seconds()))
                 if numbers["oldest_due"] else 0),
        failed_recent=numbers["failed"],
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
