"""Delivering one claimed reminder: compare-and-set, re-check everything, render, send, record.

The compare-and-set `claimed -> sending` is what makes delivery exactly-once: a task delivered
twice by the broker, two send tasks for the same row, or a stale claim re-claimed while an old
message for it still sits in the queue all race for one UPDATE, and only the winner sends. A
worker that dies after winning leaves the row in "sending"; the sweeper fails it as
outcome_unknown instead of risking a second message.

Transient channel errors put the row back to pending with a later due_at (exponential backoff)
while the visit has not begun: the retry lives in the database like every other schedule, not
in an ETA task the broker could lose or redeliver.
"""
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
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


def _finish(reminder_id: int, *, status: str, now: datetime, **fields) -> None:
    Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.SENDING).update(
        status=status, updated_at=now, **fields)


def reminder_deliver(*, reminder_id: int, now: datetime | None = None) -> str:
    """Send one claimed reminder if it is still wanted. Returns an outcome code (never PII)."""
    now = now or timezone.now()
    # An explicit transaction, not autocommit: if this worker dies while the UPDATE waits on a
    # row lock, PostgreSQL rolls it back instead of committing a "sending" nobody will finish.
    with transaction.atomic():
        won = Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.CLAIMED).update(
            status=ReminderStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1,
            updated_at=now)
    if not won:
        return "not_claimed"
    reminder = Reminder.objects.select_related(
        "participant__home_site", "site__reminder_policy").get(pk=reminder_id)
    participant = reminder.participant

    visit, reason = visit_on(participant=participant, day=reminder.visit_date)
    if visit is not None and now >= visit.first_start:
        reason = ReminderReason.PAST_DEADLINE
    if not reason:
        reason = channel_problem(
            participant=participant, channel=reminder.channel,
            sms_consent=participant.pk in sms_consented(participant_ids=[participant.pk]))
    if reason:
        _finish(reminder_id, status=ReminderStatus.SKIPPED, reason=reason, now=now)
        return f"skipped:{reason}"

    site = reminder.site if reminder.site_id == visit.site_id else Site.objects.get(
        pk=visit.site_id)
    try:
        policy = site.reminder_policy
    except ReminderPolicy.DoesNotExist:
        policy = reminder_policies(site_ids=[site.pk])[site.pk]
    if reminder.channel == ReminderChannel.SMS:
        later = timing.next_allowed(now=now, zone=participant.zone, policy=policy)
        if later is not None:
            # Claimed late (workers were down): wait for the morning, if that is still in time.
            if later < visit.first_start:
                _finish(reminder_id, status=ReminderStatus.PENDING, due_at=later,
                        send_before=visit.first_start, claimed_at=None, now=now)
                return "deferred:quiet_hours"
            _finish(reminder_id, status=ReminderStatus.SKIPPED,
                    reason=ReminderReason.QUIET_HOURS, now=now)
            return "skipped:quiet_hours"

    message = render(channel=reminder.channel, participant=participant, site=site,
                     kind=reminder.kind, first_start=visit.first_start, now=now)
    if revealing_words(message):
        _finish(reminder_id, status=ReminderStatus.FAILED, reason=ReminderReason.NOT_NEUTRAL,
                detail="", now=now)
        logger.error("reminder %s not sent: message not neutral (site %s)", reminder_id, site.pk)
        return "failed:not_neutral"

    try:
        provider_id = _send(reminder.channel, participant, message)
    except TransientChannelError as exc:
        return _after_transient(reminder, exc, deadline=visit.first_start, now=now)
    except PermanentChannelError as exc:
        _finish(reminder_id, status=ReminderStatus.FAILED,
                reason=ReminderReason.PERMANENT_ERROR, detail=exc.reason[:200], now=now)
        logger.warning("reminder %s failed permanently: %s", reminder_id, exc.reason)
        return "failed:permanent_error"
    body = message.body if not message.subject else f"{message.subject}\n\n{message.body}"
    _finish(reminder_id, status=ReminderStatus.SENT, sent_at=timezone.now(),
            provider_message_id=provider_id[:100], body=body, reason="", detail="", now=now)
    return "sent"


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
