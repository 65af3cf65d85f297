"""Reminder reads for staff pages: what failed at my sites, one participant's history, and how
many people a change would tell."""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from django.db import connections, router
from django.db.models import Case, F, IntegerField, Value, When

from iop_clinic.compiled import CompiledQuery, compile_once, id_sentinels
from participants.models import Participant

from reminders.models import Reminder, ReminderKind, ReminderStatus
from reminders.notices import notice_audience


@dataclass(frozen=True)
class FailedReminder:
    """What Today's "could not be sent" list shows of a failed reminder."""

    pk: int
    participant_code: str
    participant_name: str  # as Participant.full_name
    visit_date: date
    channel: str
    reason: str
    detail: str


def _failed_reminders_queryset(*, site_ids: list[int], since: date, alias: str | None = None):
    """Failed reminders at these sites for visits from `since` on, the latest first: only what
    Today's list shows, as plain values."""
    return (Reminder.objects.using(alias)
            .filter(site_id__in=site_ids, status=ReminderStatus.FAILED, visit_date__gte=since)
            .order_by("-visit_date", "-updated_at")
            .values_list("pk", "participant__code", "participant__first_name",
                         "participant__last_name", "visit_date", "channel", "reason", "detail"))


_ANY_SINCE = date(1, 1, 4)  # what the failed-reminders query is compiled with


@lru_cache(maxsize=32)
def _failed_reminders_statement(alias: str, vendor: str, sites: int, limit: int):
    """SQL of `_failed_reminders_queryset(...)[:limit]` for `sites` sites, compiled by the ORM
    once per process, the sites standing as `id_sentinels`. Compiling it was
    about half a millisecond of every Today page, running it a tenth of that; only the sites
    and the first day (parameters) change, so the statement can't go stale."""
    site_ids, sentinels = id_sentinels("sites", sites)
    compiler = _failed_reminders_queryset(
        site_ids=site_ids, since=_ANY_SINCE, alias=alias)[:limit].query.get_compiler(using=alias)
    sentinels[connections[alias].ops.adapt_datefield_value(_ANY_SINCE)] = "since"
    return compile_once(compiler, sentinels, what="failed reminders", prepared=True)


def failed_reminders(*, site_ids: Iterable[int], today: date, days: int = 7,
                     limit: int = 20) -> list[FailedReminder]:
    """Reminders the provider refused or that could not be sent, for visits from `days` ago on.

    One query. Staff fix the cause (a wrong number, a non-neutral alias) and call the person.
    Only what the list shows is read, as plain values: building twenty reminders with their
    participant was most of the box's time.
    """
    site_ids = list(site_ids)
    if not site_ids:
        return []
    alias = router.db_for_read(Reminder)
    connection_ = connections[alias]
    query = _failed_reminders_statement(alias, connection_.vendor, len(site_ids), limit)
    rows = query.rows({
        "sites": site_ids,
        "since": connection_.ops.adapt_datefield_value(today - timedelta(days=days))})
    return [FailedReminder(pk=pk, participant_code=str(code),
                           participant_name=f"{first_name} {last_name}", visit_date=visit_date,
                           channel=channel, reason=reason, detail=detail)
            for pk, code, first_name, last_name, visit_date, channel, reason, detail in rows]


@dataclass(frozen=True)
class ReminderPage:
    rows: list[Reminder]
    number: int
    has_previous: bool
    has_next: bool


def _reminder_page_queryset(*, participant_id: int, today: date, alias: str | None = None):
    """The participant's reminders (not their contacts'), soonest first: the coming visits from
    today on (nearest first), then the past ones (latest first)."""
    coming = Case(When(visit_date__gte=today, then=Value(0)), default=Value(1),
                  output_field=IntegerField())
    return (
        # Only what the chart's reminder table shows.
        Reminder.objects.using(alias).filter(participant_id=participant_id, contact__isnull=True)
        .only("visit_date", "kind", "channel", "status", "reason")
        .alias(coming=coming)
        .order_by("coming",
                  Case(When(visit_date__gte=today, then=F("visit_date"))).asc(nulls_last=True),
                  F("visit_date").desc(), "due_at", "pk")
    )


# What the reminder page query is compiled with, replaced by the real values when it runs.
_ANY_PARTICIPANT = -1
_ANY_TODAY = date(1, 1, 3)


@lru_cache(maxsize=64)
def _reminder_page_statement(alias: str, vendor: str, low: int, high: int) -> CompiledQuery:
    """SQL of one page of `_reminder_page_queryset` (the page's limits are written in the SQL,
    hence one statement per page asked for; only the first few ever are), compiled by the ORM
    once per process, with what turns a row into a Reminder as the ORM does. Compiling the
    ordering's Case/When expressions was about a millisecond of the chart's CPU; only the
    participant and the date (parameters) change, so the statement can't go stale. Prepared
    once a connection (iop_clinic.prepared; no str parameter): PostgreSQL parsed and planned its
    ordering on every chart."""
    compiler = _reminder_page_queryset(participant_id=_ANY_PARTICIPANT, today=_ANY_TODAY,
                                       alias=alias)[low:high].query.get_compiler(using=alias)
    return compile_once(compiler, {
        _ANY_PARTICIPANT: "participant",
        connections[alias].ops.adapt_datefield_value(_ANY_TODAY): "today"}, what="reminder page",
        model=Reminder, prepared=True)


def _reminder_page_rows(*, participant_id: int, today: date, low: int, high: int) -> list:
    """`_reminder_page_queryset(...)[low:high]` as Reminders (only the fields it reads), through
    the statement compiled once per process."""
    alias = router.db_for_read(Reminder)
    connection_ = connections[alias]
    query = _reminder_page_statement(alias, connection_.vendor, low, high)
    return query.objects({"participant": participant_id,
                          "today": connection_.ops.adapt_datefield_value(today)})


def reminder_page(*, participant: Participant, today: date, number: int = 1,
                  size: int = 15) -> ReminderPage:
    """One page of the participant's reminders, soonest first: the coming visits from today on
    (nearest first), then the past ones (latest first). One query: it reads a row past the
    page to know whether there is a next one, instead of counting them all."""
    number = max(1, number)
    rows = _reminder_page_rows(participant_id=participant.pk, today=today,
                               low=(number - 1) * size, high=number * size + 1)
    return ReminderPage(rows=rows[:size], number=number, has_previous=number > 1,
                        has_next=len(rows) > size)


def notice_people_count(*, session_ids: Iterable[int]) -> int:
    """How many people a change to these sessions would tell (for the cancel and move pages)."""
    return notice_audience(session_ids=session_ids).people


def notices_noted_people(*, session_ids: Iterable[int]) -> int:
    """How many people have a change notice waiting about these sessions (one query)."""
    return (Reminder.objects.filter(kind=ReminderKind.CHANGE, session_id__in=list(session_ids),
                                    status=ReminderStatus.PENDING)
            .values("participant_id").distinct().count())


def contact_reminders_around(*, contact_ids: Iterable[int], today: date,
                             per_contact: int = 4) -> dict[int, list[Reminder]]:
    """Each family contact's reminders for visit days from a week ago on, latest first, at most
    `per_contact` each (the chart shows whether a contact was told). One query, none for no ids."""
    ids = list(contact_ids)
    if not ids:
        return {}
    rows: dict[int, list[Reminder]] = {pk: [] for pk in ids}
    for reminder in (Reminder.objects.filter(contact_id__in=ids,
                                             visit_date__gte=today - timedelta(days=7))
                     .only("contact_id", "visit_date", "kind", "channel", "status", "reason",
                           "sent_at").order_by("-visit_date", "-due_at", "-pk")):
        if len(rows[reminder.contact_id]) < per_contact:
            rows[reminder.contact_id].append(reminder)
    return rows
