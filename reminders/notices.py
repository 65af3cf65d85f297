"""Notices written into the outbox: visit days cancelled or moved, excuse decisions, seat offers,
portal invitations.

A session service about to cancel or move sessions sends `schedule_changing` (inside its
transaction, before writing). Here we note, per participant, affected visit day and channel they
can be reached on, one pending `change` row holding the visit as the participant knew it
(`previous_start`, `previous_site`). The row is due `REMINDER_NOTICE_DEBOUNCE_SECONDS` after the
edit; a further edit of the same day while it is pending only pushes its due time back, so a
burst of edits sends one message. The sweeper, claim and send task are the reminders' own:
delivery compares the day as it is then with what the participant knew, and says "cancelled",
"now at ..." or nothing (changed back). Rows are written in the caller's transaction, so a
change that rolls back tells nobody.
"""
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from participants.models import Enrollment, EnrollmentStatus, Participant
from participants.portal_accounts import invitation_lifetime

from reminders.models import Reminder, ReminderChannel, ReminderKind, ReminderStatus
from sessions.models import Attendance, AttendanceStatus, SessionStatus, TherapySession
from . import timing
from .eligibility import channel_problem, sms_consented
from .planner import reminder_policies
from .visits import Visit, visit_days

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Audience:
    """Who a change would reach: (participant, visit day) pairs and their channels."""
    days: dict[tuple[int, object], tuple[Visit, int, tuple[str, ...]]]  # -> visit, session, channels
    participants: dict[int, Participant]

    @property
    def people(self) -> int:
        """How many people will be told (on at least one channel)."""
        return len({pid for (pid, _day), (_v, _s, channels) in self.days.items() if channels})


def notice_audience(*, session_ids: Iterable[int], now: datetime | None = None) -> Audience:
    """The visit days these (not yet changed) sessions belong to, within REMINDER_NOTICE_DAYS,
    with the channels each person can be told on. Reads only; a fixed number of queries."""
    now = now or timezone.now()
    ids = list(session_ids)
    window = {"starts_at__gt": now,
              "starts_at__lt": now + timedelta(days=settings.REMINDER_NOTICE_DAYS)}
    sessions = dict(TherapySession.objects.filter(
        pk__in=ids, status=SessionStatus.SCHEDULED, **window).values_list("pk", "starts_at"))
    pairs = set(Attendance.objects.filter(
        session_id__in=sessions, status=AttendanceStatus.EXPECTED,
    ).values_list("participant_id", "session_id"))
    pairs |= set(TherapySession.objects.filter(pk__in=sessions, participant__isnull=False)
                 .values_list("participant_id", "pk"))
    if not pairs:
        return Audience({}, {})
    participants = Participant.objects.select_related("home_site").in_bulk(
        {pid for pid, _ in pairs})
    found = visit_days(participants=participants.values(),
                       starts_from=min(sessions.values()) - timedelta(days=1),
                       starts_until=max(sessions.values()) + timedelta(days=1))
    consented = sms_consented(participant_ids=participants)
    days = {}
    for participant_id, session_id in sorted(pairs, key=lambda p: (p[0], sessions[p[1]])):
        participant = participants[participant_id]
        day = sessions[session_id].astimezone(participant.zone).date()
        visit = found.visits.get((participant_id, day))
        if visit is None or visit.first_start <= now or (participant_id, day) in days:
            continue  # not expected (out of care), already begun, or counted with its day
        channels = tuple(
            channel for channel in ReminderChannel.values
            if not channel_problem(participant=participant, channel=channel,
                                   sms_consent=participant_id in consented))
        days[participant_id, day] = (visit, session_id, channels)
    return Audience(days, participants)


def notices_note(*, session_ids: Iterable[int], now: datetime | None = None) -> int:
    """Record (or push back) a pending change notice per person, day and channel for these
    sessions, which are about to change. Returns how many rows were created or pushed back."""
    now = now or timezone.now()
    audience = notice_audience(session_ids=session_ids, now=now)
    if not audience.days:
        return 0
    policies = reminder_policies(site_ids={v.site_id for v, _, _ in audience.days.values()})
    debounce = timedelta(seconds=settings.REMINDER_NOTICE_DEBOUNCE_SECONDS)
    wanted: dict[tuple, tuple[datetime, Visit, int]] = {}
    for (participant_id, day), (visit, session_id, channels) in audience.days.items():
        zone = audience.participants[participant_id].zone
        due = now + debounce
        due = timing.notice_held_until(now=due, zone=zone, policy=policies[visit.site_id],
                                       visit_start=visit.first_start) or due
        # Must arrive before the visit the participant knew of; a late edit is told at once.
        if due >= visit.first_start:
            due = now
        for channel in channels:
            wanted[participant_id, day, channel] = (due, visit, session_id)
    # Notices still waiting for these days are pushed back (one UPDATE per due time, each a
    # compare-and-set on "pending"); the others get a new row. A fixed number of queries.
    waiting = Reminder.objects.filter(
        participant_id__in={key[0] for key in wanted}, visit_date__in={key[1] for key in wanted},
        kind=ReminderKind.CHANGE, status=ReminderStatus.PENDING,
    ).values_list("pk", "participant_id", "visit_date", "channel", "send_before")
    push: dict[datetime, list[int]] = defaultdict(list)
    pushed_keys: dict[int, tuple] = {}
    for pk, participant_id, day, channel, send_before in waiting:
        key = (participant_id, day, channel)
        if key in wanted and wanted[key][0] < send_before:
            push[wanted[key][0]].append(pk)
            pushed_keys[pk] = key
    touched = 0
    for due, pks in push.items():
        touched += Reminder.objects.filter(pk__in=pks, status=ReminderStatus.PENDING).update(
            due_at=due, updated_at=now)
    if touched < len(pushed_keys):
        # Claimed between the read and the push: this change gets a row of its own.
        still = set(Reminder.objects.filter(pk__in=pushed_keys, status=ReminderStatus.PENDING,
                                            due_at__gte=now).values_list("pk", flat=True))
        pushed_keys = {pk: key for pk, key in pushed_keys.items() if pk in still}
    done = set(pushed_keys.values())
    new = [
        Reminder(participant_id=key[0], visit_date=key[1], kind=ReminderKind.CHANGE,
                 channel=key[2], site_id=visit.site_id, due_at=due,
                 send_before=visit.first_start, previous_start=visit.first_start,
                 previous_site_id=visit.site_id,
                 previous_address=policies[visit.site_id].site.address.strip(),
                 session_id=session_id)
        for key, (due, visit, session_id) in wanted.items() if key not in done
    ]
    touched += len(Reminder.objects.bulk_create(new, ignore_conflicts=True))
    logger.info("change notices noted: %s rows", touched)
    return touched


def notices_note_site_address(*, site_id: int, now: datetime | None = None) -> int:
    """A site's address is about to change: note a change notice for everyone expected there
    within the notice window (delivery says the new address, or nothing if it changed back)."""
    now = now or timezone.now()
    session_ids = TherapySession.objects.filter(
        site_id=site_id, status=SessionStatus.SCHEDULED, starts_at__gt=now,
        starts_at__lt=now + timedelta(days=settings.REMINDER_NOTICE_DAYS),
    ).values_list("pk", flat=True)
    return notices_note(session_ids=list(session_ids), now=now)


def notice_excuse_decision(*, attendance_id: int, now: datetime | None = None) -> int:
    """Queue one neutral "there is an answer to your request" per channel the participant can
    be reached on; the decision itself is read in the portal or on the phone. Outside quiet
    hours; open for EXCUSE_NOTICE_OPEN_HOURS. Returns how many rows were queued."""
    now = now or timezone.now()
    attendance = (Attendance.objects.select_related("participant__home_site", "session")
                  .get(pk=attendance_id))
    participant, session = attendance.participant, attendance.session
    policy = reminder_policies(site_ids=[session.site_id])[session.site_id]
    due = timing.next_allowed(now=now, zone=participant.zone, policy=policy) or now
    consented = sms_consented(participant_ids=[participant.pk])
    rows = [
        Reminder(participant=participant, site_id=session.site_id, session=session,
                 visit_date=session.starts_at.astimezone(participant.zone).date(),
                 kind=ReminderKind.EXCUSE, channel=channel, due_at=due,
                 send_before=due + timedelta(hours=EXCUSE_NOTICE_OPEN_HOURS))
        for channel in ReminderChannel.values
        if not channel_problem(participant=participant, channel=channel,
                               sms_consent=participant.pk in consented)
    ]
    return len(Reminder.objects.bulk_create(rows, ignore_conflicts=True))


# A decision notice not sent within this long (workers down for days) is dropped as expired.
EXCUSE_NOTICE_OPEN_HOURS = 48


def notice_seat_offers(*, enrollment_ids: Iterable[int], now: datetime | None = None) -> int:
    """Queue one neutral "a place is open for you, please answer by ..." per offered enrollment
    and channel; open until the offer expires (the program's seat_offer_hours)."""
    now = now or timezone.now()
    enrollments = list(Enrollment.objects.filter(
        pk__in=list(enrollment_ids), status=EnrollmentStatus.WAITLISTED,
        seat_offered_at__isnull=False,
    ).select_related("participant__home_site", "track__program", "track__site"))
    if not enrollments:
        return 0
    policies = reminder_policies(site_ids={e.track.site_id for e in enrollments})
    consented = sms_consented(participant_ids=[e.participant_id for e in enrollments])
    rows = []
    for enrollment in enrollments:
        participant = enrollment.participant
        expires = enrollment.seat_offered_at + timedelta(
            hours=enrollment.track.program.seat_offer_hours)
        due = timing.next_allowed(now=now, zone=participant.zone,
                                  policy=policies[enrollment.track.site_id]) or now
        if due >= expires:
            continue
        rows += [
            Reminder(participant=participant, site_id=enrollment.track.site_id,
                     enrollment=enrollment, visit_date=now.astimezone(participant.zone).date(),
                     kind=ReminderKind.OFFER, channel=channel, due_at=due, send_before=expires)
            for channel in ReminderChannel.values
            if not channel_problem(participant=participant, channel=channel,
                                   sms_consent=participant.pk in consented)
        ]
    return len(Reminder.objects.bulk_create(rows, ignore_conflicts=True))


def notice_portal_invitation(*, participant_id: int, by_id: int | None,
                             now: datetime | None = None) -> None:
    """Queue the portal invitation email (due now, by email only, whatever the reminder
    choices: the person asked for an account). While one waits to go out, a second request
    joins it. The set-password link is minted when it is sent (delivery), so the row never
    holds a token. After commit, a sweep is started so it goes out at once, not at the next
    beat."""
    now = now or timezone.now()
    participant = Participant.objects.select_related("home_site").get(pk=participant_id)
    row = Reminder(participant=participant, site_id=participant.home_site_id,
                   visit_date=now.astimezone(participant.zone).date(),
                   kind=ReminderKind.INVITATION, channel=ReminderChannel.EMAIL, due_at=now,
                   send_before=now + invitation_lifetime(), requested_by_id=by_id)
    Reminder.objects.bulk_create([row], ignore_conflicts=True)
    transaction.on_commit(_sweep_soon)


def _sweep_soon() -> None:
    from iop_clinic.celery_app import app

    try:
        app.tasks["reminders.sweep"].delay()
    except Exception:
        # A broker outage: beat's next sweep sends it.
        logger.exception("sweep after a portal invitation not queued")
