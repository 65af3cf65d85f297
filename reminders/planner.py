"""The planner: writes Reminder rows for the coming days, and withdraws rows no longer wanted.

Idempotent: the unique key (participant, visit day, kind, channel) means planning twice adds
nothing, and every change to an existing row is a compare-and-set on its status, so a planner
running beside the sweeper never overwrites a row the sweeper has just claimed.
"""
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from participants.models import Enrollment, EnrollmentStatus, Participant

from reminders.models import (
    VISIT_REMINDER_KINDS,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderPolicy,
    ReminderReason,
    ReminderStatus,
)
from sessions.models import SessionStatus, TherapySession
from . import contact_reminders, timing
from .eligibility import channel_problem, channels_for_kind, sms_consented
from .visits import visit_days

logger = logging.getLogger(__name__)

CHUNK = 500


@dataclass
class PlanResult:
    participants: int = 0
    created: int = 0
    moved: int = 0
    withdrawn: int = 0
    revived: int = 0

    def add(self, other: "PlanResult") -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def reminder_policies(*, site_ids: Iterable[int]) -> dict[int, ReminderPolicy]:
    """Each site's policy (with its site), created with the defaults where a site has none."""
    site_ids = set(site_ids)
    policies = {p.site_id: p for p in ReminderPolicy.objects.filter(site_id__in=site_ids)
                .select_related("site")}
    missing = site_ids - policies.keys()
    if missing:
        ReminderPolicy.objects.bulk_create([ReminderPolicy(site_id=s) for s in missing],
                                           ignore_conflicts=True)
        policies.update({p.site_id: p for p in ReminderPolicy.objects.filter(
            site_id__in=missing).select_related("site")})
    return policies


def remindable_participant_ids(*, now: datetime, days: int) -> list[int]:
    """Everyone the planner should look at: active enrollments, care-plan follow-ups ahead, and
    anyone with a pending reminder (which may need withdrawing)."""
    active = Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE).values_list(
        "participant_id", flat=True)
    follow_ups = TherapySession.objects.filter(
        care_plan__isnull=False, status=SessionStatus.SCHEDULED,
        starts_at__gte=now, starts_at__lt=now + timedelta(days=days + 1),
    ).values_list("care_plan__enrollment__participant_id", flat=True)
    pending = Reminder.objects.filter(status=ReminderStatus.PENDING).values_list(
        "participant_id", flat=True)
    return sorted(set(active) | set(follow_ups) | set(pending))


def reminders_plan(*, participant_ids: Iterable[int] | None = None, now: datetime | None = None,
                   days: int | None = None) -> PlanResult:
    """Plan the coming `days` (REMINDER_PLAN_DAYS) of reminders for these participants (or for
    everyone remindable). One transaction per chunk of participants."""
    now = now or timezone.now()
    days = settings.REMINDER_PLAN_DAYS if days is None else days
    ids = (remindable_participant_ids(now=now, days=days) if participant_ids is None
           else sorted(set(participant_ids)))
    total = PlanResult()
    for start in range(0, len(ids), CHUNK):
        total.add(_plan_chunk(ids[start:start + CHUNK], now=now, days=days))
    logger.info("reminders planned: participants=%s created=%s moved=%s withdrawn=%s revived=%s",
                total.participants, total.created, total.moved, total.withdrawn, total.revived)
    return total


def keep_current(*, row: Reminder, planned: tuple[datetime, datetime, int], now: datetime,
                 result: PlanResult) -> None:
    """An open row still wanted: revive it if it was skipped, or move it to the planned due time,
    deadline and site (a moved session moves its pending reminders). Compare-and-set on status,
    so a row claimed meanwhile is left to the send task. Shared with family contacts' rows."""
    due, send_before, site_id = planned
    if row.status == ReminderStatus.SKIPPED:
        result.revived += Reminder.objects.filter(
            pk=row.pk, status=ReminderStatus.SKIPPED,
        ).update(status=ReminderStatus.PENDING, reason="", due_at=due,
                 send_before=send_before, site_id=site_id, updated_at=now)
        return
    if row.due_at <= now and due <= now:
        due = row.due_at  # already due: re-planning must not keep pushing it back
    if (row.due_at, row.send_before, row.site_id) != (due, send_before, site_id):
        result.moved += Reminder.objects.filter(
            pk=row.pk, status=ReminderStatus.PENDING,
        ).update(due_at=due, send_before=send_before, site_id=site_id, updated_at=now)


def _sms_caps(wanted: dict, unwanted: dict, by_id: dict, policies: dict, now: datetime,
              capped: dict) -> None:
    """Keep each participant's texts within the site policy's caps per day and per week.

    Days and weeks (Monday to Sunday) are the participant's local dates of when a text goes
    out. Which text is kept when there are too many (the documented rule):
    1. texts already sent or on their way count first and are never withdrawn;
    2. then same-day texts before day-before texts (the nearer the visit, the more it helps;
       the day-before reminder still goes by email);
    3. then the earlier visit first, so a text is never displaced by one for a later visit.
    A text left out is recorded as skipped with the cap as its reason (`capped`), so the chart
    shows why it was not planned, and it comes back if a kept one is withdrawn.
    """
    sms = [key for key in wanted if key[3] == ReminderChannel.SMS]
    if not sms:
        return
    participant_ids = {key[0] for key in sms}
    earliest = min(_week_start(now.astimezone(by_id[pid].zone).date()) for pid in participant_ids)
    out = (Reminder.objects.filter(
        participant_id__in=participant_ids, channel=ReminderChannel.SMS, contact__isnull=True,
        kind__in=VISIT_REMINDER_KINDS,
        status__in=(ReminderStatus.SENT, ReminderStatus.CLAIMED, ReminderStatus.SENDING),
        due_at__gte=datetime.combine(earliest, datetime.min.time(), tzinfo=UTC) - timedelta(
            days=1)).values_list("participant_id", "visit_date", "kind", "due_at"))
    per_day: dict[tuple, int] = defaultdict(int)
    per_week: dict[tuple, int] = defaultdict(int)
    already = set()
    for participant_id, visit_date, kind, due_at in out:
        if participant_id not in by_id:
            continue
        sent_on = due_at.astimezone(by_id[participant_id].zone).date()
        per_day[participant_id, sent_on] += 1
        per_week[participant_id, _week_start(sent_on)] += 1
        already.add((participant_id, visit_date, kind, ReminderChannel.SMS))
    order = {ReminderKind.SAME_DAY: 0, ReminderKind.DAY_BEFORE: 1}
    for key in sorted(sms, key=lambda k: (k[0], order.get(k[2], 2), k[1])):
        if key in already:
            continue
        participant_id = key[0]
        due, _send_before, site_id = wanted[key]
        policy = policies[site_id]
        sent_on = due.astimezone(by_id[participant_id].zone).date()
        week = _week_start(sent_on)
        if per_day[participant_id, sent_on] >= policy.sms_per_day_max:
            reason = ReminderReason.SMS_DAY_CAP
        elif per_week[participant_id, week] >= policy.sms_per_week_max:
            reason = ReminderReason.SMS_WEEK_CAP
        else:
            per_day[participant_id, sent_on] += 1
            per_week[participant_id, week] += 1
            continue
        unwanted[key] = reason
        capped[key] = (*wanted.pop(key), reason)


def _week_start(day):
    return day - timedelta(days=day.weekday())


@transaction.atomic
def _plan_chunk(ids: list[int], *, now: datetime, days: int) -> PlanResult:
    result = PlanResult()
    participants = list(Participant.objects.filter(pk__in=ids).select_related("home_site"))
    result.participants = len(participants)
    if not participants:
        return result
    found = visit_days(participants=participants, starts_from=now - timedelta(days=1),
                       starts_until=now + timedelta(days=days + 1))
    consented = sms_consented(participant_ids=ids)
    policies = reminder_policies(site_ids={v.site_id for v in found.visits.values()})
    horizon = {p.pk: (today := now.astimezone(p.zone).date(), today + timedelta(days=days))
               for p in participants}
    by_id = {p.pk: p for p in participants}

    # What should exist: key -> (due_at, send_before, site_id), or key -> reason it should not.
    wanted: dict[tuple, tuple[datetime, datetime, int]] = {}
    unwanted: dict[tuple, str] = {}
    for (participant_id, day), visit in found.visits.items():
        first_day, last_day = horizon[participant_id]
        if not first_day <= day <= last_day or visit.first_start <= now:
            continue  # outside the window, or already begun: the sweeper expires what is left
        participant = by_id[participant_id]
        policy = policies[visit.site_id]
        for kind in VISIT_REMINDER_KINDS:
            allowed = channels_for_kind(kind=kind, policy=policy)
            due, why_not = timing.due_at(kind=kind, first_start=visit.first_start,
                                         zone=participant.zone, policy=policy, now=now)
            for channel in ReminderChannel.values:
                key = (participant_id, day, kind, channel)
                problem = (ReminderReason.KIND_DISABLED if channel not in allowed else
                           channel_problem(participant=participant, channel=channel,
                                           sms_consent=participant_id in consented) or why_not)
                if problem:
                    unwanted[key] = problem
                else:
                    wanted[key] = (due, visit.first_start, visit.site_id)

    timing.one_sms_of_a_kind_a_day(wanted, unwanted, by_id)
    capped: dict[tuple, tuple] = {}
    _sms_caps(wanted, unwanted, by_id, policies, now, capped)

    existing = Reminder.objects.filter(
        participant_id__in=ids, kind__in=VISIT_REMINDER_KINDS, contact__isnull=True,
        visit_date__gte=min(h[0] for h in horizon.values()),
        visit_date__lte=max(h[1] for h in horizon.values()),
    ).only("pk", "participant_id", "visit_date", "kind", "channel", "status", "reason",
           "due_at", "send_before", "site_id")
    seen: set[tuple] = set()
    withdraw: dict[str, list[int]] = defaultdict(list)
    for row in existing:
        key = (row.participant_id, row.visit_date, row.kind, row.channel)
        first_day, last_day = horizon[row.participant_id]
        if not first_day <= row.visit_date <= last_day:
            continue
        seen.add(key)
        if row.status not in (ReminderStatus.PENDING, ReminderStatus.SKIPPED) or (
                row.send_before <= now):
            continue  # in flight or finished; the send task re-checks, the sweeper expires
        if key in wanted:
            keep_current(row=row, planned=wanted[key], now=now, result=result)
        elif key in capped and row.reason != capped[key][3]:
            # Which cap holds a text back can change (day or week); the chart shows the current.
            withdraw[capped[key][3]].append(row.pk)
        elif row.status == ReminderStatus.PENDING:
            reason = unwanted.get(key)
            if reason is None:
                reason = found.missing_reason((row.participant_id, row.visit_date))
            withdraw[reason].append(row.pk)
    for reason, pks in withdraw.items():
        result.withdrawn += Reminder.objects.filter(
            pk__in=pks, status__in=(ReminderStatus.PENDING, ReminderStatus.SKIPPED),
        ).update(status=ReminderStatus.SKIPPED, reason=reason, updated_at=now)

    new = [
        Reminder(participant_id=key[0], visit_date=key[1], kind=key[2], channel=key[3],
                 due_at=due, send_before=send_before, site_id=site_id)
        for key, (due, send_before, site_id) in wanted.items() if key not in seen
    ]
    planned_count = len(new)
    # Texts left out by a cap are recorded, skipped, so staff can see why (see `_sms_caps`).
    new += [
        Reminder(participant_id=key[0], visit_date=key[1], kind=key[2], channel=key[3],
                 due_at=due, send_before=send_before, site_id=site_id,
                 status=ReminderStatus.SKIPPED, reason=reason)
        for key, (due, send_before, site_id, reason) in capped.items() if key not in seen
    ]
    # A planner running at the same moment may insert the same keys; the unique key wins.
    Reminder.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    result.created = planned_count
    # Their family contacts with consent (one query when none has any).
    result.add(contact_reminders.contacts_plan_chunk(participants=participants, now=now,
                                                     days=days, policies=policies))
    return result

