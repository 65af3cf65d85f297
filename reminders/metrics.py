"""The outbox's numbers for /metrics: reminders by status, how long due reminders wait, when the
sweeper last ran, recent failures. Read from the database and the vitals cache at scrape time
(two queries), so every web process answers the same whichever one is scraped."""
from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from reminders.health import outbox_vitals
from reminders.models import Reminder, ReminderStatus


# Reminders about visits from this many days back: what is in flight and what just happened.
# Counting the whole table cost 78 ms a scrape at 224,000 rows and grows by a million a year at
# 2,000 participants; a range of the (status, visit_date) index per status stays small.
RECENT_DAYS = 7


class OutboxCollector:
    def collect(self) -> Iterable[Metric]:
        since = timezone.localdate() - timedelta(days=RECENT_DAYS)
        by_status = dict(Reminder.objects.filter(status__in=ReminderStatus.values,
                                                 visit_date__gte=since)
                         .order_by().values_list("status").annotate(n=Count("pk"))
                         .values_list("status", "n"))
        reminders = GaugeMetricFamily(
            "iop_reminders", f"Reminders about visits from {RECENT_DAYS} days ago on, by status.",
            labels=["status"])
        for status in ReminderStatus.values:
            reminders.add_metric([status], by_status.get(status, 0))
        yield reminders

        vitals = outbox_vitals()
        yield GaugeMetricFamily(
            "iop_reminders_due_lag_seconds",
            "How long the oldest due, still pending reminder has waited (0: none waits).",
            value=vitals.due_lag)
        yield GaugeMetricFamily(
            "iop_reminders_failed_recent",
            f"Reminders that failed within the last {vitals.failed_hours} hour(s).",
            value=vitals.failed_recent)
        if vitals.sweeper_last_run is not None:  # never ran: no sample; alert on absent() as well as on age
            yield GaugeMetricFamily(
                "iop_reminder_sweeper_last_run_timestamp_seconds",
                "When the sweeper last finished a sweep (Unix time).", value=vitals.sweeper_last_run)
            yield GaugeMetricFamily(
                "iop_reminder_sweeper_age_seconds",
                "Seconds since the sweeper last finished a sweep.", value=vitals.sweeper_age)
        yield GaugeMetricFamily(
            "iop_reminders_outbox_degraded",
            "1 when /healthz calls the outbox degraded (sweeper stale, due reminders late, or "
            "failures over the limit), else 0.", value=int(vitals.degraded))
