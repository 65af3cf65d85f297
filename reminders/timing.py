"""When a reminder is due: hours before the visit on the participant's wall clock, outside quiet
hours.

Offsets are wall-clock hours in the participant's zone, so a day-before reminder for a 6 pm
visit comes at 6 pm the day before even when a daylight-saving change lies in between (the gap
is then 23 or 25 real hours). A due time inside quiet hours moves to the last allowed moment
before they begin (minus a margin for the sweeper's minute); a same-day reminder that would then
land on the previous evening instead waits for quiet hours to end, if that is still before the
visit, and is otherwise dropped: the day-before reminder has already covered that evening.
"""
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings

from reminders.models import ReminderChannel, ReminderKind, ReminderPolicy, ReminderReason


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def began(self, local: datetime) -> datetime:
        """Start of the quiet period that contains `local`."""
        day = local.date()
        if self.start > self.end and local.time() < self.end:
            day -= timedelta(days=1)
        return _at(day, self.start, local.tzinfo)

    def ends(self, local: datetime) -> datetime:
        """End of the quiet period that contains `local`."""
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)
        return _at(day, self.end, local.tzinfo)


def _at(day: date, moment: time, zone) -> datetime:
    # Round-trip through UTC so a wall-clock time inside a spring-forward gap becomes real.
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC).astimezone(zone)


def quiet_hours(policy: ReminderPolicy) -> QuietHours:
    return QuietHours(policy.quiet_start, policy.quiet_end)


def _margin() -> timedelta:
    return timedelta(minutes=settings.REMINDER_QUIET_MARGIN_MINUTES)


def due_at(*, kind: str, first_start: datetime, zone: zoneinfo.ZoneInfo, policy: ReminderPolicy,
           now: datetime) -> tuple[datetime | None, str]:
    """When this kind of reminder is due for a visit starting at `first_start`, or None and why."""
    local_start = first_start.astimezone(zone)
    hours = policy.day_before_hours if kind == ReminderKind.DAY_BEFORE else policy.same_day_hours
    wall = local_start.replace(tzinfo=None) - timedelta(hours=hours)
    due = _at(wall.date(), wall.time(), zone)
    quiet = quiet_hours(policy)
    if quiet.contains(due.time()):
        earlier = quiet.began(due) - _margin()
        if kind == ReminderKind.DAY_BEFORE or earlier.date() == local_start.date():
            due = earlier
        elif quiet.ends(due) < local_start:
            due = quiet.ends(due)
        else:
            return None, ReminderReason.QUIET_HOURS
    if due >= first_start:
        return None, ReminderReason.QUIET_HOURS
    if due < now:
        # Planned late (a new enrollment, a session added at short notice): send now if it is
        # still useful. A day-before reminder on the visit day itself is not.
        local_now = now.astimezone(zone)
        if now >= first_start or (kind == ReminderKind.DAY_BEFORE
                                  and local_now.date() >= local_start.date()):
            return None, ReminderReason.TOO_LATE
        due = local_now
        if quiet.contains(local_now.time()):
            due = quiet.ends(local_now)
            if due >= local_start or (kind == ReminderKind.DAY_BEFORE
                                      and due.date() >= local_start.date()):
                return None, ReminderReason.QUIET_HOURS
    return due.astimezone(UTC), ""


def next_allowed(*, now: datetime, zone: zoneinfo.ZoneInfo, policy: ReminderPolicy) -> datetime | None:
    """None when `now` is outside quiet hours, else the moment they end."""
    local = now.astimezone(zone)
    quiet = quiet_hours(policy)
    if not quiet.contains(local.time()):
        return None
    return quiet.ends(local).astimezone(UTC)


def notice_held_until(*, now: datetime, zone: zoneinfo.ZoneInfo, policy: ReminderPolicy,
                      visit_start: datetime) -> datetime | None:
    """When quiet hours hold a change notice sent at `now`: till they end, if that is before
    the visit it is about; None (send at once) outside quiet hours or when the visit comes
    first ("the change is for today": tonight's, or early tomorrow's), since a notice held
    past the visit would tell nobody. Planning and delivery both ask this."""
    morning = next_allowed(now=now, zone=zone, policy=policy)
    return morning if morning is not None and morning < visit_start else None


def one_sms_of_a_kind_a_day(wanted: dict, unwanted: dict, zone_of: dict) -> None:
    """Two SMS of one kind due on the same local day (a 7 am visit's day-before reminder moved to
    the previous evening, beside that evening's own): only the nearer visit's goes.

    `wanted` maps (recipient id, visit day, kind, channel) to (due, ...); `zone_of` maps the
    recipient id to whoever's clock counts (a participant, or a family contact's participant).
    The later one moves from `wanted` to `unwanted` with the daily limit as its reason."""
    first: dict[tuple, tuple] = {}
    for key in sorted(wanted, key=lambda k: (k[0], k[1])):
        recipient_id, _day, kind, channel = key
        if channel != ReminderChannel.SMS:
            continue
        sent_on = wanted[key][0].astimezone(zone_of[recipient_id].zone).date()
        slot = (recipient_id, kind, sent_on)
        if slot in first:
            unwanted[key] = ReminderReason.DAILY_LIMIT
            del wanted[key]
        else:
            first[slot] = key
