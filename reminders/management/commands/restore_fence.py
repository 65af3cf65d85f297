"""`manage.py restore_fence [--until ISO-TIME]`: run once after restoring the database from a
backup, before any worker or beat starts, so no reminder goes out twice (reminders/fence.py)."""
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reminders.fence import reminders_fence_after_restore


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--until must be an ISO 8601 time, e.g. 2026-11-30T14:05Z; "
                           f"got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = ("After a restore from backup: hold for staff review every reminder the lost "
            "database may already have sent (due before --until, default now), so none goes "
            "out twice. Run before starting workers and beat.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--until", default=None,
            help="When the old system stopped sending (ISO 8601, UTC unless an offset is "
                 "given). Default: now, which is always safe.")

    def handle(self, *args, until: str | None = None, **options):
        now = timezone.now()
        until = _moment(until) if until else None
        if until is not None and until > now:
            raise CommandError("--until lies in the future: rows due later were never sent.")
        result = reminders_fence_after_restore(until=until, now=now)
        self.stdout.write(
            f"Restore fence at {result.until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC: "
            f"{result.fenced} reminders may have gone out before the restore and are held for "
            f"review (admin: Reminders, needs attention, reason \"restored\"); "
            f"{result.waiting} are still waiting and will be sent when due "
            f"({result.planned} planned now, {result.offers_passed_on} expired seat offers "
            f"passed on).")
