"""Reminder reads for staff pages: what failed at my sites, and one participant's history."""
from collections.abc import Iterable
from datetime import date, timedelta

from participants.models import Participant

from reminders.models import Reminder, ReminderStatus


def failed_reminders(*, site_ids: Iterable[int], today: date, days: int = 7,
                     limit: int = 20) -> list[Reminder]:
    """Reminders the provider refused or that could not be sent, for visits from `days` ago on.

    One query. Staff fix the cause (a wrong number, a non-neutral alias) and call the person.
    """
    return list(
        Reminder.objects.filter(site_id__in=list(site_ids), status=ReminderStatus.FAILED,
                                visit_date__gte=today - timedelta(days=days))
        .select_related("participant")
        .order_by("-visit_date", "-updated_at")[:limit]
    )


def reminder_history(*, participant: Participant, limit: int = 30) -> list[Reminder]:
    """The participant's reminders, newest visit first: when, how and what became of each. One query."""
    return list(
        Reminder.objects.filter(participant=participant)
        .defer("body").order_by("-visit_date", "-due_at")[:limit]
    )
