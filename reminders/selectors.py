"""Reminder reads for staff pages: what failed at my sites, and one participant's history."""
from collections.abc import Iterable
from datetime import date, timedelta

from participants.models import Participant

from reminders.models import Reminder, ReminderKind, ReminderStatus


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


def notice_people_count(*, session_ids: Iterable[int]) -> int:
    """How many people a change to these sessions would tell (for the cancel and move pages)."""
    from .notices import notice_audience

    return notice_audience(session_ids=session_ids).people


def notices_noted_people(*, session_ids: Iterable[int]) -> int:
    """How many people have a change notice waiting about these sessions (one query)."""
    return (Reminder.objects.filter(kind=ReminderKind.CHANGE, session_id__in=list(session_ids),
                                    status=ReminderStatus.PENDING)
            .values("participant_id").distinct().count())
