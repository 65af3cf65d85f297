"""Delivering one claimed reminder: re-check and render, compare-and-set, send, record.

Everything that can say "don't send" or fail without the provider (the visit, enrollment,
consent, address, deadline, quiet hours, the rendered text) is decided while the row is still
`claimed`, and any such outcome is written with a compare-and-set from `claimed`. Only then does
the compare-and-set `claimed -> sending` hand the row to the channel, so `sending` and the
sweeper's `outcome_unknown` mean one thing: the provider was called and its answer is unknown.
An error or a kill before that point leaves the row `claimed` (the sweeper returns it to pending
after the claim timeout) or puts it back to pending at once; it is never lost.

The compare-and-set is what makes delivery exactly-once: a task delivered twice by the broker,
two send tasks for the same row, or a stale claim re-claimed while an old message for it still
sits in the queue all race for one UPDATE, and only the winner sends.

Transient channel errors put the row back to pending with a later due_at (exponential backoff)
while the visit has not begun: the retry lives in the database like every other schedule, not
in an ETA task the broker could lose or redeliver.
"""
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from programs.models import Site

from reminders.channels import (
    PermanentChannelError,
    SmsMessage,
    TransientChannelError,
    get_sms_backend,
    send_email_message,
)
from reminders.models import Reminder, ReminderChannel, ReminderPolicy, ReminderReason, ReminderStatus
from . import timing
from .eligibility import channel_problem, sms_consented
from .messages import Message, render, revealing_words
from .planner import reminder_policies
from .visits import visit_on

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """What to write instead of sending: a status and its fields, and the outcome code."""
    outcome: str
    status: str
    fields: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Ready:
    """A reminder that passed every re-check, with its rendered message and deadline."""
    reminder: Reminder
    message: Message
    deadline: datetime


def reminder_deliver(*, reminder_id: int, now: datetime | None = None) -> str:
    """Send one claimed reminder if it is still wanted. Returns an outcome code (never PII).

    Any exception before the channel call puts the row back to pending before it propagates;
    after the channel call the row stays `sending` unless its result could be recorded."""
    now = now or timezone.now()
    handed_off = False
    try:
        reminder = _claimed(reminder_id)
        if reminder is None:
            return "not_claimed"
        decision = reminder_check(reminder=reminder, now=now)
        if isinstance(decision, Verdict):
            return decision.outcome if _settle(reminder_id, decision, now=now) else "not_claimed"
        if not _hand_off(reminder_id, now=now):
            return "not_claimed"
        handed_off = True
        return _send_and_record(decision, now=now)
    except Exception:
        if not handed_off:
            _release_after_error(reminder_id, now=now)
        raise


def _claimed(reminder_id: int) -> Reminder | None:
    return Reminder.objects.select_related(
        "participant__home_site", "site__reminder_policy",
    ).filter(pk=reminder_id, status=ReminderStatus.CLAIMED).first()


def reminder_check(*, reminder: Reminder, now: datetime) -> Verdict | Ready:
    """Every re-check before sending, in order, and the rendered message. Reads only."""
    participant = reminder.participant
    visit, reason = visit_on(participant=participant, day=reminder.visit_date)
    if visit is not None and now >= visit.first_start:
        reason = ReminderReason.PAST_DEADLINE
    if not reason:
        reason = channel_problem(
            participant=participant, channel=reminder.channel,
            sms_consent=participant.pk in sms_consented(participant_ids=[participant.pk]))
    if reason:
        return Verdict(f"skipped:{reason}", ReminderStatus.SKIPPED, {"reason": reason})

    site = reminder.site if reminder.site_id == visit.site_id else Site.objects.get(
        pk=visit.site_id)
    try:
        policy = site.reminder_policy
    except ReminderPolicy.DoesNotExist:
        policy = reminder_policies(site_ids=[site.pk])[site.pk]
    # Every channel: due times are planned outside quiet hours, so a row inside them was
    # claimed late (workers or the sweeper were down). Wait for the morning if still in time.
    later = timing.next_allowed(now=now, zone=participant.zone, policy=policy)
    if later is not None:
        if later < visit.first_start:
            return Verdict("deferred:quiet_hours", ReminderStatus.PENDING, {
                "due_at": later, "send_before": visit.first_start, "claimed_at": None})
        return Verdict("skipped:quiet_hours", ReminderStatus.SKIPPED,
                       {"reason": ReminderReason.QUIET_HOURS})

    message = render(channel=reminder.channel, participant=participant, site=site,
                     kind=reminder.kind, first_start=visit.first_start, now=now)
    if revealing_words(message):
        logger.error("reminder %s not sent: message not neutral (site %s)", reminder.pk, site.pk)
        return Verdict("failed:not_neutral", ReminderStatus.FAILED,
                       {"reason": ReminderReason.NOT_NEUTRAL, "detail": ""})
    return Ready(reminder, message, visit.first_start)


def _settle(reminder_id: int, verdict: Verdict, *, now: datetime) -> bool:
    return bool(Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.CLAIMED).update(
        status=verdict.status, updated_at=now, **verdict.fields))


def _hand_off(reminder_id: int, *, now: datetime) -> bool:
    # claimed_at = now marks this worker's hand-off, so an error right after can tell its own
    # "sending" (never reached the channel) from another worker's.
    # An explicit transaction, not autocommit: if this worker dies while the UPDATE waits on a
    # row lock, PostgreSQL rolls it back instead of committing a "sending" nobody will finish.
    with transaction.atomic():
        return bool(Reminder.objects.filter(
            pk=reminder_id, status=ReminderStatus.CLAIMED,
        ).update(status=ReminderStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1,
                 updated_at=now))


def _send_and_record(ready: Ready, *, now: datetime) -> str:
    reminder, message = ready.reminder, ready.message
    try:
        provider_id = _send(reminder.channel, reminder.participant, message)
    except TransientChannelError as exc:
        reminder.attempts += 1  # the hand-off counted this attempt in the database
        return _after_transient(reminder, exc, deadline=ready.deadline, now=now)
    except PermanentChannelError as exc:
        _finish(reminder.pk, status=ReminderStatus.FAILED,
                reason=ReminderReason.PERMANENT_ERROR, detail=exc.reason[:200], now=now)
        logger.warning("reminder %s failed permanently: %s", reminder.pk, exc.reason)
        return "failed:permanent_error"
    body = message.body if not message.subject else f"{message.subject}\n\n{message.body}"
    fields = {"status": ReminderStatus.SENT, "sent_at": timezone.now(),
              "provider_message_id": provider_id[:100], "body": body, "reason": "",
              "detail": ""}
    try:
        _finish(reminder.pk, now=now, **fields)
    except DatabaseError:
        # The message is out; a dropped database connection must not turn that into
        # outcome_unknown. One more try on a fresh connection.
        logger.warning("reminder %s sent; recording it again after a database error",
                       reminder.pk)
        drop_broken_connection()
        _finish(reminder.pk, now=now, **fields)
    return "sent"


def _finish(reminder_id: int, *, status: str, now: datetime, **fields) -> None:
    Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.SENDING).update(
        status=status, updated_at=now, **fields)


def _release_after_error(reminder_id: int, *, now: datetime) -> None:
    """Put a row this worker never handed to a channel back to pending, a minute later.

    A claim is released only if it is still this task's: `claimed`, or `sending` with this
    attempt's mark (the error came after the hand-off committed, before the channel call)."""
    retry_at = now + timedelta(seconds=settings.REMINDER_RETRY_BASE_SECONDS)
    try:
        drop_broken_connection()  # the error may have been a dropped connection
        Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.CLAIMED).update(
            status=ReminderStatus.PENDING, claimed_at=None, due_at=retry_at, updated_at=now)
        Reminder.objects.filter(
            pk=reminder_id, status=ReminderStatus.SENDING, claimed_at=now,
        ).update(status=ReminderStatus.PENDING, claimed_at=None, due_at=retry_at,
                 attempts=F("attempts") - 1, updated_at=now)
    except DatabaseError:
        # Still no database: the row stays claimed and the sweeper returns it after the claim
        # timeout (a "sending" one would be failed as outcome_unknown; that needs the hand-off
        # to commit and its reply to be lost, then this to fail too).
        logger.warning("reminder %s: could not release after an error", reminder_id)
        drop_broken_connection()


def drop_broken_connection() -> None:
    """Close the database connection if an error left it unusable, so the next query opens a
    fresh one (a worker has no request cycle to do it). Never inside a transaction."""
    if not connection.in_atomic_block:
        close_old_connections()


def _send(channel: str, participant, message: Message) -> str:
    if channel == ReminderChannel.SMS:
        # The provider's configured number sends; US carriers do not show sender names.
        return get_sms_backend().send(SmsMessage(to=participant.phone, body=message.body,
                                                 sender=""))
    return send_email_message(to=participant.email, subject=message.subject, body=message.body,
                              sender_name=message.sender_name)


def _after_transient(reminder: Reminder, exc: TransientChannelError, *, deadline: datetime,
                     now: datetime) -> str:
    attempts = reminder.attempts  # already counts this attempt
    backoff = timedelta(seconds=min(settings.REMINDER_RETRY_BASE_SECONDS * 2 ** (attempts - 1),
                                    settings.REMINDER_RETRY_MAX_SECONDS))
    if exc.retry_after:
        backoff = max(backoff, timedelta(seconds=exc.retry_after))
    retry_at = now + backoff
    if attempts < settings.REMINDER_MAX_ATTEMPTS and retry_at < deadline:
        _finish(reminder.pk, status=ReminderStatus.PENDING, due_at=retry_at,
                send_before=deadline, claimed_at=None, detail=exc.reason[:200], now=now)
        logger.info("reminder %s will retry in %ss: %s", reminder.pk, int(backoff.total_seconds()),
                    exc.reason)
        return "retry"
    _finish(reminder.pk, status=ReminderStatus.FAILED, reason=ReminderReason.RETRIES_EXHAUSTED,
            detail=exc.reason[:200], now=now)
    logger.warning("reminder %s failed after %s attempts: %s", reminder.pk, attempts, exc.reason)
    return "failed:retries_exhausted"
