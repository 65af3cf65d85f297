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

A send task delivers a batch: `reminders_deliver` reads everything the re-checks need once per
batch (the claimed rows with their participants and sites, the visit days, enrollments, SMS
consents, other sites and their policies, and for family contacts' rows their consents and
visit days: a fixed number of queries whatever the batch size), then decides, hands off and
records each row with its own compare-and-set, exactly as `reminder_deliver` does for one row.
One row's exception stays that row's. A sent row's result is written in the same transaction
as the next row's compare-and-set, so a batch commits once a reminder (`_Unrecorded` says why
that keeps every guarantee), and on PostgreSQL that transaction is one statement, one round
trip to the database (`_compare_and_set_with` says why it never commits after a lock wait).

Links with a secret token (a portal invitation's set-password link, a seat offer's one-time
answer link) are minted here, just before the hand-off, and never stored: the check renders
the message with a placeholder token, the row is handed off with the real link in the message
sent, and `body` keeps the text with the link replaced by LINK_LEFT_OUT. A minted link whose
message did not go out (another worker won the row, the provider refused) is voided. An
invitation link sent voids the person's earlier ones: only the last invitation sent works.
"""
import functools
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS, DatabaseError, OperationalError, close_old_connections, connection,
    connections, transaction,
)
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from iop_clinic.links import public_url
from participants import portal_accounts
from participants.models import Enrollment, EnrollmentStatus
from programs.models import Site

from reminders.channels import (
    PermanentChannelError,
    SmsMessage,
    TransientChannelError,
    get_sms_backend,
    send_email_message,
)
from reminders.models import (
    NOTICE_KINDS,
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
from .eligibility import channel_problem, sms_consented
from .messages import Message, render, revealing_words
from .notice_messages import (
    render_excuse_notice, render_invitation, render_notice, render_offer_notice, signs_in,
)
from .planner import reminder_policies
from .visits import Visit, VisitDays, visit_days

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """What to write instead of sending: a status and its fields, and the outcome code."""
    outcome: str
    status: str
    fields: dict = field(default_factory=dict)


# What the stored text says where a secret link was.
LINK_LEFT_OUT = "[link sent, not kept]"


@dataclass(frozen=True)
class SecretLink:
    """A link whose token is minted at send time: which kind, and the placeholder URL the
    message was rendered with (same length as the real one)."""
    kind: str  # "invitation" or "offer"
    placeholder: str
    link_id: int | None = None  # once minted
    url: str = ""


@dataclass(frozen=True)
class Ready:
    """A reminder that passed every re-check, with its rendered message and deadline."""
    reminder: Reminder
    message: Message
    deadline: datetime
    asks_reply: bool = False
    secret: SecretLink | None = None

    def message_to_send(self) -> Message:
        if self.secret is None:
            return self.message
        return replace(self.message, body=self.message.body.replace(self.secret.placeholder,
                                                                    self.secret.url))

    def text_to_keep(self) -> str:
        body = self.message.body
        if self.secret is not None:
            body = body.replace(self.secret.placeholder, LINK_LEFT_OUT)
        return body if not self.message.subject else f"{self.message.subject}\n\n{body}"


@dataclass
class BatchFacts:
    """What the re-checks of one batch need, read once: visit days (with enrollments), SMS
    consents, and the site and policy of every visit."""
    visits: VisitDays
    sms_consent: set[int]
    sites: dict[int, Site]
    policies: dict[int, ReminderPolicy]
    # Change notices: each noted session still scheduled, as (starts_at, site id), to follow a
    # session moved to another day. Read only when the batch holds notices.
    moved: dict[int, tuple[datetime, int]] = field(default_factory=dict)
    # Excuse notices: the session the request was about, whatever its status.
    sessions: dict[int, tuple[datetime, int, str]] = field(default_factory=dict)
    # Seat offers: enrollment id -> (status, seat_offered_at).
    offers: dict[int, tuple[str, datetime | None]] = field(default_factory=dict)
    # Family contacts' rows: the visit days they may hear of (their consents are prefetched
    # onto the rows' contacts). Read only when the batch holds such rows.
    contact_visits: dict[tuple[int, date], Visit] = field(default_factory=dict)

    @classmethod
    def read(cls, reminders: list[Reminder], *, now: datetime) -> "BatchFacts":
        if not reminders:
            return cls(VisitDays({}, set(), set()), set(), {}, {})
        starts, ends = [], []
        for reminder in reminders:
            zone = reminder.participant.zone
            starts.append(datetime.combine(reminder.visit_date, datetime.min.time(), tzinfo=zone))
            ends.append(datetime.combine(reminder.visit_date + timedelta(days=1),
                                         datetime.min.time(), tzinfo=zone))
        participants = {r.participant_id: r.participant for r in reminders}
        visits = visit_days(participants=participants.values(), starts_from=min(starts),
                            starts_until=max(ends))
        sms_ids = [r.participant_id for r in reminders if r.channel == ReminderChannel.SMS]
        sms_consent = sms_consented(participant_ids=sms_ids) if sms_ids else set()
        sites = {r.site_id: r.site for r in reminders}
        session_ids = {r.session_id for r in reminders
                       if r.kind in NOTICE_KINDS and r.session_id}
        sessions = {pk: (starts_at, site_id, status) for pk, starts_at, site_id, status
                    in TherapySession.objects.filter(pk__in=session_ids).values_list(
                        "pk", "starts_at", "site_id", "status")} if session_ids else {}
        moved = {pk: (starts_at, site_id) for pk, (starts_at, site_id, status) in sessions.items()
                 if status == SessionStatus.SCHEDULED}
        contact_visits = contact_reminders.contact_facts_read(reminders=reminders, now=now)
        other_ids = ({v.site_id for v in visits.visits.values()}
                     | {v.site_id for v in contact_visits.values()}
                     | {site_id for _, site_id in moved.values()}) - sites.keys()
        if other_ids:
            sites.update(Site.objects.select_related("reminder_policy").in_bulk(other_ids))
        policies = {}
        for site in sites.values():
            try:
                policies[site.pk] = site.reminder_policy
            except ReminderPolicy.DoesNotExist:
                pass
        missing = sites.keys() - policies.keys()
        if missing:
            policies.update(reminder_policies(site_ids=missing))
        offer_ids = {r.enrollment_id for r in reminders
                     if r.kind == ReminderKind.OFFER and r.enrollment_id}
        offers = {pk: (status, offered_at) for pk, status, offered_at in Enrollment.objects.filter(
            pk__in=offer_ids).values_list("pk", "status", "seat_offered_at")} if offer_ids else {}
        return cls(visits, sms_consent, sites, policies, moved, sessions, offers,
                   contact_visits)


def reminder_deliver(*, reminder_id: int, now: datetime | None = None) -> str:
    """Send one claimed reminder if it is still wanted. Returns an outcome code (never PII).

    Any exception before the channel call puts the row back to pending before it propagates;
    after the channel call the row stays `sending` unless its result could be recorded."""
    now = now or timezone.now()
    outcomes = _deliver_batch([reminder_id], now=now, isolate=False)
    return outcomes.get(reminder_id, "not_claimed")


def reminders_deliver(*, reminder_ids: Iterable[int], now: datetime | None = None,
                      outcomes: Counter | None = None) -> Counter:
    """Deliver a batch of claimed reminders; returns how many ended each way (outcome codes).

    Reads once per batch, writes per row. A row that raises is put back to pending (or left
    `sending` if the channel was called), logged by exception type only, counted as "error",
    and the rest of the batch goes on. `outcomes`, when given, is filled as rows finish, so a
    caller stopped by a time limit still knows how far it got."""
    now = now or timezone.now()
    outcomes = Counter() if outcomes is None else outcomes
    _deliver_batch([int(i) for i in reminder_ids], now=now, isolate=True, tally=outcomes)
    return outcomes


class _Outcomes(dict):
    """Each row's outcome, counted into `tally` as soon as it is known."""

    def __init__(self, tally: Counter | None) -> None:
        super().__init__()
        self.tally = tally

    def __setitem__(self, reminder_id: int, outcome: str) -> None:
        super().__setitem__(reminder_id, outcome)
        if self.tally is not None:
            self.tally[outcome] += 1


def _deliver_batch(reminder_ids: list[int], *, now: datetime, isolate: bool,
                   tally: Counter | None = None) -> dict[int, str]:
    outcomes = _Outcomes(tally)
    claimed = _claimed(reminder_ids)
    for reminder_id in set(reminder_ids) - {r.pk for r in claimed}:
        outcomes[reminder_id] = "not_claimed"  # sent, settled or re-claimed by another task
    readable = []
    for reminder in claimed:
        try:
            reminder.participant.zone  # bad data here must stop this row, not the batch
        except Exception as exc:
            outcomes[reminder.pk] = _row_failed(reminder.pk, exc, now=now, isolate=isolate)
            continue
        readable.append(reminder)
    try:
        facts = BatchFacts.read(readable, now=now)
    except Exception:
        for reminder in readable:
            _release_after_error(reminder.pk, now=now)
        raise
    unrecorded = _Unrecorded(outcomes, now=now, isolate=isolate)
    try:
        for reminder in readable:
            _deliver_row(reminder, facts=facts, now=now, isolate=isolate, outcomes=outcomes,
                         unrecorded=unrecorded)
    finally:
        unrecorded.write()  # the batch's last send, or any send a time limit left behind
    return outcomes


def _deliver_row(reminder: Reminder, *, facts: BatchFacts, now: datetime, isolate: bool,
                 outcomes: "_Outcomes", unrecorded: "_Unrecorded") -> None:
    handed_off = False
    try:
        decision = reminder_check(reminder=reminder, now=now, facts=facts)
        if isinstance(decision, Verdict):
            outcomes[reminder.pk] = (decision.outcome if unrecorded.write_with(
                _settle(reminder.pk, decision, now=now)) else "not_claimed")
            return
        decision = _mint_secret_link(decision)
        if isinstance(decision, Verdict):
            outcomes[reminder.pk] = (decision.outcome if unrecorded.write_with(
                _settle(reminder.pk, decision, now=now)) else "not_claimed")
            return
        if not unrecorded.write_with(_hand_off(reminder.pk, now=now)):
            _void_secret_link(decision)
            outcomes[reminder.pk] = "not_claimed"
            return
        handed_off = True
        unrecorded.hold(_send_and_record(decision, now=now))
    except Exception as exc:
        if handed_off:
            if not isolate or not _isolatable(exc):
                raise
            outcomes[reminder.pk] = _row_logged(reminder.pk, exc)
        else:
            outcomes[reminder.pk] = _row_failed(reminder.pk, exc, now=now, isolate=isolate)


@dataclass(frozen=True)
class _Record:
    """What to write, from `sending`, for a row whose channel call is over."""
    reminder_id: int
    outcome: str
    fields: dict
    sent: Ready | None = None  # a message that went out (an invitation then voids older links)


class _Unrecorded:
    """The last row handed to its channel whose result is not written yet.

    It is written in the same transaction as the next row's compare-and-set (its hand-off or
    its skip), so a batch commits once a reminder rather than twice; on its own when the batch
    ends, whether it finished or a time limit stopped it. Nothing else changes: a row becomes
    `sent` only after its channel call; a worker dying before that transaction commits leaves
    this one row `sending` (the sweeper fails it as outcome_unknown and never sends it again)
    and the next one `claimed` (returned to pending); a database error rolls both back, and the
    result is written again on its own on a fresh connection."""

    def __init__(self, outcomes: "_Outcomes", *, now: datetime, isolate: bool) -> None:
        self.outcomes = outcomes
        self.now = now
        self.isolate = isolate
        self.record: _Record | None = None

    def hold(self, record: _Record) -> None:
        self.write()  # never more than one
        self.record = record

    def write_with(self, change: tuple[str, list]) -> bool:
        """Run `change`, the next row's compare-and-set (see _update_sql), in one transaction
        and one statement with the held result's UPDATE, if any (_compare_and_set_with).
        True if the next row changed."""
        record = self.record
        held = None if record is None else _update_sql(
            record.reminder_id, expected=ReminderStatus.SENDING, now=self.now, **record.fields)
        try:
            done = _compare_and_set_with(change, held=held)
        except DatabaseError:
            self.write()  # the held result first, on its own; then this row's error
            raise
        if record is not None:
            self.record = None
            self._written(record)
        return done

    def write(self) -> None:
        """Write the held result on its own; one more try on a fresh connection after a
        database error (the message is out: a dropped connection must not turn that into
        outcome_unknown)."""
        record, self.record = self.record, None
        if record is None:
            return
        try:
            try:
                _finish(record.reminder_id, now=self.now, **record.fields)
            except DatabaseError:
                logger.warning("reminder %s: recording its result again after a database error",
                               record.reminder_id)
                drop_broken_connection()
                _finish(record.reminder_id, now=self.now, **record.fields)
        except Exception as exc:
            if not self.isolate or not _isolatable(exc):
                raise
            self.outcomes[record.reminder_id] = _row_logged(record.reminder_id, exc)
            return
        self._written(record)

    def _written(self, record: _Record) -> None:
        self.outcomes[record.reminder_id] = record.outcome
        if record.sent is not None:
            _secret_link_sent(record.sent)


def _isolatable(exc: Exception) -> bool:
    # A time limit stops the whole batch; anything else is this row's problem.
    return type(exc).__name__ != "SoftTimeLimitExceeded"


def _row_failed(reminder_id: int, exc: Exception, *, now: datetime, isolate: bool) -> str:
    _release_after_error(reminder_id, now=now)
    if not isolate or not _isolatable(exc):
        raise exc
    return _row_logged(reminder_id, exc)


def _row_logged(reminder_id: int, exc: Exception) -> str:
    # The exception's text may quote a name or a number: log its type only.
    logger.error("reminder %s raised %s", reminder_id, type(exc).__name__)
    drop_broken_connection()
    return "error"


def _claimed(reminder_ids: list[int]) -> list[Reminder]:
    return list(Reminder.objects.select_related(
        "participant__home_site", "participant__user", "site__reminder_policy", "contact",
    ).filter(pk__in=reminder_ids, status=ReminderStatus.CLAIMED).order_by("pk"))


def reminder_check(*, reminder: Reminder, now: datetime,
                   facts: BatchFacts | None = None) -> Verdict | Ready:
    """Every re-check before sending, in order, and the rendered message. Reads only (nothing
    at all when the batch's `facts` are given)."""
    facts = facts or BatchFacts.read([reminder], now=now)
    if reminder.kind == ReminderKind.CHANGE:
        return _notice_check(reminder=reminder, now=now, facts=facts)
    if reminder.kind == ReminderKind.EXCUSE:
        return _excuse_notice_check(reminder=reminder, now=now, facts=facts)
    if reminder.kind == ReminderKind.OFFER:
        return _offer_notice_check(reminder=reminder, now=now, facts=facts)
    if reminder.kind == ReminderKind.INVITATION:
        return _invitation_check(reminder=reminder, now=now)
    if reminder.contact_id is not None:
        return _contact_check(reminder=reminder, now=now, facts=facts)
    participant = reminder.participant
    key: tuple[int, date] = (participant.pk, reminder.visit_date)
    visit = facts.visits.visits.get(key)
    reason = "" if visit is not None else facts.visits.missing_reason(key)
    if visit is not None and now >= visit.first_start:
        reason = ReminderReason.PAST_DEADLINE
    if not reason:
        reason = channel_problem(
            participant=participant, channel=reminder.channel,
            sms_consent=participant.pk in facts.sms_consent)
    if reason:
        return Verdict(f"skipped:{reason}", ReminderStatus.SKIPPED, {"reason": reason})

    site = facts.sites[visit.site_id]
    policy = facts.policies[site.pk]
    # Every channel: due times are planned outside quiet hours, so a row inside them was
    # claimed late (workers or the sweeper were down). Wait for the morning if still in time.
    quiet = _quiet_hours_verdict(now=now, zone=participant.zone, policy=policy,
                                 deadline=visit.first_start,
                                 fields={"send_before": visit.first_start})
    if quiet is not None:
        return quiet

    asks_reply = reminder.channel == ReminderChannel.SMS and policy.sms_ask_reply
    message = render(channel=reminder.channel, participant=participant, site=site,
                     kind=reminder.kind, first_start=visit.first_start, now=now,
                     ask_reply=asks_reply)
    not_neutral = _not_neutral_verdict(reminder=reminder, message=message, site_id=site.pk)
    if not_neutral is not None:
        return not_neutral
    return Ready(reminder, message, visit.first_start, asks_reply)


def _contact_check(*, reminder: Reminder, now: datetime, facts: BatchFacts) -> Verdict | Ready:
    """A family contact's reminder: disclosure consent, the visit (family sessions, or all of
    a minor's), the contact's own channel; then the participant's quiet hours and the text."""
    reason, visit = contact_reminders.contact_visit(reminder=reminder, now=now,
                                                    visits=facts.contact_visits)
    if reason:
        return Verdict(f"skipped:{reason}", ReminderStatus.SKIPPED, {"reason": reason})
    site = facts.sites[visit.site_id]
    policy = facts.policies[site.pk]
    quiet = _quiet_hours_verdict(now=now, zone=reminder.participant.zone, policy=policy,
                                 deadline=visit.first_start,
                                 fields={"send_before": visit.first_start})
    if quiet is not None:
        return quiet
    message = contact_reminders.render_contact_reminder(
        channel=reminder.channel, contact=reminder.contact, participant=reminder.participant,
        site=site, first_start=visit.first_start, now=now)
    return _not_neutral_verdict(reminder=reminder, message=message, site_id=site.pk) \
        or Ready(reminder, message, visit.first_start)


def _notice_check(*, reminder: Reminder, now: datetime, facts: BatchFacts) -> Verdict | Ready:
    """A change notice: compare the visit day now with what the participant knew, then the
    same consent, quiet-hours and neutrality checks as a reminder. Quiet hours hold a notice
    till morning only when the visit it is about comes after; one about a visit before then
    ("the change is for today": tonight, or early tomorrow) goes at once rather than never."""
    participant = reminder.participant
    key: tuple[int, date] = (participant.pk, reminder.visit_date)
    visit = facts.visits.visits.get(key)
    new_start, site_id = None, reminder.previous_site_id or reminder.site_id
    reason = ""
    if visit is not None:
        if (visit.first_start, visit.site_id) == (reminder.previous_start,
                                                  reminder.previous_site_id) and (
                not _address_changed(reminder, facts.sites[visit.site_id])):
            reason = ReminderReason.UNCHANGED  # edited back within the debounce
        new_start, site_id = visit.first_start, visit.site_id
    elif facts.visits.missing_reason(key) == ReminderReason.NOT_ENROLLED:
        reason = ReminderReason.NOT_ENROLLED
    elif reminder.session_id in facts.moved:
        new_start, site_id = facts.moved[reminder.session_id]  # moved to another day
    if not reason and new_start is not None and new_start <= now:
        reason = ReminderReason.PAST_DEADLINE
    if not reason:
        reason = channel_problem(participant=participant, channel=reminder.channel,
                                 sms_consent=participant.pk in facts.sms_consent)
    if reason:
        return Verdict(f"skipped:{reason}", ReminderStatus.SKIPPED, {"reason": reason})
    site = facts.sites[site_id]
    morning = timing.notice_held_until(now=now, zone=participant.zone,
                                       policy=facts.policies[site_id],
                                       visit_start=reminder.send_before)
    if morning is not None:
        return Verdict("deferred:quiet_hours", ReminderStatus.PENDING,
                       {"due_at": morning, "claimed_at": None})
    message = render_notice(channel=reminder.channel, participant=participant, site=site,
                            previous_start=reminder.previous_start, new_start=new_start, now=now,
                            place_changed=site_id != (reminder.previous_site_id
                                                      or reminder.site_id)
                            or _address_changed(reminder, site))
    return _not_neutral_verdict(reminder=reminder, message=message, site_id=site.pk) \
        or Ready(reminder, message, reminder.send_before)


def _address_changed(reminder: Reminder, site: Site) -> bool:
    """The site's address is not the one the notice noted (rows noted before addresses were
    kept, or at a site without one, have none to compare)."""
    return bool(reminder.previous_address) and site.address.strip() != reminder.previous_address


def _excuse_notice_check(*, reminder: Reminder, now: datetime,
                         facts: BatchFacts) -> Verdict | Ready:
    """"There is an answer to your request about <day, time>": consent, quiet hours, text."""
    participant = reminder.participant
    reason = channel_problem(participant=participant, channel=reminder.channel,
                             sms_consent=participant.pk in facts.sms_consent)
    if reason:
        return Verdict(f"skipped:{reason}", ReminderStatus.SKIPPED, {"reason": reason})
    policy = facts.policies[reminder.site_id]
    quiet = _quiet_hours_verdict(now=now, zone=participant.zone, policy=policy,
                                 deadline=reminder.send_before)
    if quiet is not None:
        return quiet
    starts_at = facts.sessions[reminder.session_id][0] if reminder.session_id in facts.sessions \
        else None
    if starts_at is None:
        return Verdict("skipped:session_cancelled", ReminderStatus.SKIPPED,
                       {"reason": ReminderReason.SESSION_CANCELLED})
    message = render_excuse_notice(channel=reminder.channel, participant=participant,
                                   site=reminder.site, first_start=starts_at, now=now)
    return _not_neutral_verdict(reminder=reminder, message=message, site_id=reminder.site_id) \
        or Ready(reminder, message, reminder.send_before)


def _offer_notice_check(*, reminder: Reminder, now: datetime,
                        facts: BatchFacts) -> Verdict | Ready:
    """A seat offer still open (waitlisted, offered, not expired): consent, quiet hours, text."""
    participant = reminder.participant
    status, offered_at = facts.offers.get(reminder.enrollment_id, ("", None))
    reason = ""
    if status != EnrollmentStatus.WAITLISTED or offered_at is None:
        reason = ReminderReason.OFFER_CLOSED
    if not reason:
        reason = channel_problem(participant=participant, channel=reminder.channel,
                                 sms_consent=participant.pk in facts.sms_consent)
    if reason:
        return Verdict(f"skipped:{reason}", ReminderStatus.SKIPPED, {"reason": reason})
    quiet = _quiet_hours_verdict(now=now, zone=participant.zone,
                                 policy=facts.policies[reminder.site_id],
                                 deadline=reminder.send_before)
    if quiet is not None:
        return quiet
    if signs_in(participant):
        link, secret = public_url(reverse("portal-offer")), None  # signs in, sees the offer
    else:
        secret = SecretLink("offer", _placeholder_url(
            "portal-offer-link", portal_accounts.SEAT_OFFER_TOKEN_BYTES))
        link = secret.placeholder
    message = render_offer_notice(channel=reminder.channel, participant=participant,
                                  site=reminder.site, answer_by=reminder.send_before, link=link,
                                  now=now)
    if secret is not None and secret.placeholder not in message.body:
        secret = None  # a text too short for the link: "call" only
    return _not_neutral_verdict(reminder=reminder, message=message, site_id=reminder.site_id) \
        or Ready(reminder, message, reminder.send_before, secret=secret)


def _invitation_check(*, reminder: Reminder, now: datetime) -> Verdict | Ready:
    """A portal invitation: by email, to an active login, whatever the reminder choices (the
    person asked for an account) and at any hour (it is sent while they are at the desk).
    The set-password link is minted at hand-off."""
    participant = reminder.participant
    reason = ""
    if participant.user_id is None or not participant.user.is_active:
        reason = ReminderReason.NO_PORTAL_LOGIN
    elif not participant.email:
        reason = ReminderReason.NO_ADDRESS
    if reason:
        return Verdict(f"skipped:{reason}", ReminderStatus.SKIPPED, {"reason": reason})
    secret = SecretLink("invitation", _placeholder_url(
        "portal-invitation", portal_accounts.INVITATION_TOKEN_BYTES))
    message = render_invitation(participant=participant, site=reminder.site,
                                link=secret.placeholder,
                                days=portal_accounts.invitation_lifetime().days, now=now)
    return _not_neutral_verdict(reminder=reminder, message=message, site_id=reminder.site_id) \
        or Ready(reminder, message, reminder.send_before, secret=secret)


def _placeholder_url(name: str, token_bytes: int) -> str:
    length = portal_accounts.token_length(token_bytes)
    return public_url(reverse(name, args=[("LINK" + "x" * length)[:length]]))


def _mint_secret_link(ready: Ready) -> Ready | Verdict:
    """Mint the token of the message's secret link (committed before the hand-off, so the
    link works the moment the message can arrive). A Verdict when there is no longer anything
    to link to: the login was turned off meanwhile, or the offer ran out."""
    if ready.secret is None:
        return ready
    reminder = ready.reminder
    if ready.secret.kind == "invitation":
        minted = portal_accounts.portal_invitation_link_mint(
            participant_id=reminder.participant_id, by_id=reminder.requested_by_id)
        name = "portal-invitation"
    else:
        minted = portal_accounts.seat_offer_link_mint(
            enrollment_id=reminder.enrollment_id, participant_id=reminder.participant_id,
            expires_at=reminder.send_before)
        name = "portal-offer-link"
    if minted is None:
        reason = (ReminderReason.NO_PORTAL_LOGIN if ready.secret.kind == "invitation"
                  else ReminderReason.PAST_DEADLINE)
        return Verdict(f"skipped:{reason}", ReminderStatus.SKIPPED, {"reason": reason})
    return replace(ready, secret=replace(ready.secret, link_id=minted.link_id,
                                         url=public_url(reverse(name, args=[minted.token]))))


def _void_secret_link(ready: Ready) -> None:
    if ready.secret is not None and ready.secret.link_id is not None:
        portal_accounts.portal_link_void(link_id=ready.secret.link_id)


def _secret_link_sent(ready: Ready) -> None:
    if ready.secret is None or ready.secret.kind != "invitation":
        return
    try:
        portal_accounts.portal_link_keep_only(link_id=ready.secret.link_id)
    except DatabaseError:
        # Sent and recorded; the earlier invitation links simply live out their days.
        logger.warning("reminder %s sent; earlier invitation links not voided",
                       ready.reminder.pk)
        drop_broken_connection()



def _quiet_hours_verdict(*, now: datetime, zone, policy, deadline: datetime,
                         fields: dict | None = None) -> Verdict | None:
    """Inside quiet hours (a row claimed late: due times are planned outside them), wait for
    the morning while that is still before `deadline`, else skip; None outside quiet hours."""
    later = timing.next_allowed(now=now, zone=zone, policy=policy)
    if later is None:
        return None
    if later < deadline:
        return Verdict("deferred:quiet_hours", ReminderStatus.PENDING,
                       {"due_at": later, "claimed_at": None, **(fields or {})})
    return Verdict("skipped:quiet_hours", ReminderStatus.SKIPPED,
                   {"reason": ReminderReason.QUIET_HOURS})


def _not_neutral_verdict(*, reminder: Reminder, message, site_id: int) -> Verdict | None:
    """A message that would reveal treatment fails (for staff to fix the site), never goes out."""
    if not revealing_words(message):
        return None
    logger.error("%s %s not sent: message not neutral (site %s)",
                 "reminder" if reminder.kind in VISIT_REMINDER_KINDS else "notice", reminder.pk,
                 site_id)
    return Verdict("failed:not_neutral", ReminderStatus.FAILED,
                   {"reason": ReminderReason.NOT_NEUTRAL, "detail": ""})

def _settle(reminder_id: int, verdict: Verdict, *, now: datetime) -> tuple[str, list]:
    """The compare-and-set writing a verdict on a claimed row (run by _Unrecorded.write_with)."""
    return _update_sql(reminder_id, expected=ReminderStatus.CLAIMED, now=now,
                       status=verdict.status, **verdict.fields)


def _hand_off(reminder_id: int, *, now: datetime) -> tuple[str, list]:
    """The compare-and-set handing a claimed row to its channel (run by
    _Unrecorded.write_with). claimed_at = now marks this worker's hand-off, so an error right
    after can tell its own "sending" (never reached the channel) from another worker's."""
    return _update_sql(reminder_id, expected=ReminderStatus.CLAIMED, now=now,
                       status=ReminderStatus.SENDING, claimed_at=now, count_attempt=True)


def _compare_and_set(reminder_id: int, *, expected: str, now: datetime, **changes) -> bool:
    """Change one row from status `expected` (see _update_sql), on its own (it commits by
    itself outside a transaction); True if it was changed."""
    with connection.cursor() as cursor:
        cursor.execute(*_update_sql(reminder_id, expected=expected, now=now, **changes))
        return cursor.rowcount == 1


def _compare_and_set_with(change: tuple[str, list], *, held: tuple[str, list] | None) -> bool:
    """Run `change` (one row's compare-and-set, from _update_sql) and `held` (another row's
    UPDATE, or None) so that both or neither commit; True if `change` changed its row.

    What must hold: if this worker dies while the compare-and-set waits on a row lock,
    PostgreSQL must not go on to commit a "sending" nobody will finish. On PostgreSQL outside
    any transaction (a worker) that takes one round trip: one statement, committing on its
    own, whose compare-and-set first locks its row with NOWAIT, so it never waits on a lock
    (the held UPDATE rides in a data-modifying WITH). Should the row be locked by someone else
    (another task for the same row, a sweep, an edit), it fails at once and the two run again
    in an explicit transaction that may wait: "BEGIN; <the statement>" and, after its answer,
    COMMIT (a worker dying while it waits is rolled back). Each round trip waits for the
    database backend to be scheduled, which is most of a reminder's time on a busy machine:
    this is one where BEGIN, the statement and COMMIT, each alone, were three. Inside a caller's
    transaction (tests) it is a savepoint, as transaction.atomic() makes it; SQLite has no
    UPDATE inside WITH, so two statements there."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy is a lookup
    sql, params = change
    if db.vendor != "postgresql" or db.in_atomic_block or not db.get_autocommit():
        with transaction.atomic(using=db.alias), db.cursor() as cursor:
            if held is not None and db.vendor == "postgresql":
                sql, params = f"WITH held AS ({held[0]}) {sql}", [*held[1], *params]
            elif held is not None:
                cursor.execute(*held)
            cursor.execute(sql, params)
            return cursor.rowcount == 1
    held_sql, held_params = (f"held AS ({held[0]}), ", held[1]) if held is not None else ("", [])
    target, in_target = _nowait_target()
    with db.cursor() as cursor:
        try:
            # The row's id and expected status are _update_sql's last two parameters.
            cursor.execute(f"WITH {held_sql}target AS ({target}) {sql}{in_target}",
                           [*held_params, *params[-2:], *params])
            return cursor.rowcount == 1
        except Exception as exc:
            if not (isinstance(exc, OperationalError)
                    and getattr(exc.__cause__, "pgcode", None) == LOCK_NOT_AVAILABLE):
                # A dropped connection is closed here, as transaction.atomic() closes one
                # whose rollback fails: what runs next (the held result, written again on its
                # own) then opens a fresh one instead of failing on the dead one.
                drop_broken_connection()
                raise
        if held is not None:
            sql, params = f"WITH held AS ({held[0]}) {sql}", [*held[1], *params]
        try:
            # psycopg2 binds on the client: one simple query, whose BEGIN leaves the
            # transaction open after it; rowcount is the last statement's.
            cursor.execute(f"BEGIN; {sql}", params)
            changed = cursor.rowcount == 1
            cursor.execute("COMMIT")
        except BaseException:
            _rollback(db, cursor)
            raise
    return changed


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for NOWAIT finding the row locked


@functools.lru_cache(maxsize=1)
def _nowait_target() -> tuple[str, str]:
    """The WITH part locking the compare-and-set's row without waiting (when it still has
    the expected status), and the condition its UPDATE adds to keep to that locked row."""
    meta = Reminder._meta
    quote = connection.ops.quote_name
    pk, status = quote(meta.pk.column), quote(meta.get_field("status").column)
    return (f"SELECT {pk} FROM {quote(meta.db_table)} WHERE {pk} = %s AND {status} = %s "
            f"FOR UPDATE NOWAIT", f" AND {pk} IN (SELECT {pk} FROM target)")


def _rollback(db, cursor) -> None:
    """End a failed explicit transaction; if even that fails, the connection is unusable:
    close it, as transaction.atomic() does, so the next query opens a fresh one."""
    try:
        cursor.execute("ROLLBACK")
    except Exception:
        db.close()


def _update_sql(reminder_id: int, *, expected: str, status: str, now: datetime,
                count_attempt: bool = False, **fields) -> tuple[str, list]:
    """`UPDATE reminder SET status, updated_at, **fields WHERE id = reminder_id AND status =
    expected`: the compare-and-set each step of a delivery makes, as SQL and parameters.

    Written as SQL from the model's own column names because the ORM spent about 0.9 ms of CPU
    building each of these UPDATEs (measured on the bench's worker), a third of what a whole
    reminder cost; this takes about 0.1 ms, and less once the statement for this set of
    columns has been built (_update_statement)."""
    values = {"status": status, "updated_at": now, **fields}
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy is a lookup
    sql, model_fields = _update_statement(tuple(values), count_attempt, db.vendor)
    # A plain str, bool, int or None is what the field would prepare anyway; only the others
    # (datetimes, choices) go through the field.
    params = [value if value is None or type(value) in _AS_IS
              else model_field.get_db_prep_save(value, db)
              for model_field, value in zip(model_fields, values.values(), strict=True)]
    return sql, [*params, reminder_id, expected]


_AS_IS = (str, bool, int)


@functools.lru_cache(maxsize=64)
def _update_statement(names: tuple[str, ...], count_attempt: bool,
                      vendor: str) -> tuple[str, tuple]:
    """The UPDATE's text for these columns, and their model fields (a handful of shapes: a
    hand-off, a sent row, each kind of skip)."""
    meta = Reminder._meta
    quote = connection.ops.quote_name
    model_fields = tuple(meta.get_field(name) for name in names)
    assignments = [f"{quote(model_field.column)} = %s" for model_field in model_fields]
    if count_attempt:
        attempts = quote(meta.get_field("attempts").column)
        assignments.append(f"{attempts} = {attempts} + 1")
    return (f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
            f"WHERE {quote(meta.pk.column)} = %s AND {quote(meta.get_field('status').column)} = %s",
            model_fields)


def _send_and_record(ready: Ready, *, now: datetime) -> _Record:
    """Call the channel; what to write for the row (written by _Unrecorded)."""
    reminder = ready.reminder
    try:
        provider_id = _send(reminder.channel, reminder.contact or reminder.participant,
                            ready.message_to_send())
    except TransientChannelError as exc:
        _void_secret_link(ready)  # the retry mints a new one
        reminder.attempts += 1  # the hand-off counted this attempt in the database
        return _after_transient(reminder, exc, deadline=ready.deadline, now=now)
    except PermanentChannelError as exc:
        _void_secret_link(ready)
        logger.warning("reminder %s failed permanently: %s", reminder.pk, exc.reason)
        return _Record(reminder.pk, "failed:permanent_error", {
            "status": ReminderStatus.FAILED, "reason": ReminderReason.PERMANENT_ERROR,
            "detail": exc.reason[:200]})
    return _Record(reminder.pk, "sent", {
        "status": ReminderStatus.SENT, "sent_at": timezone.now(),
        "provider_message_id": provider_id[:100], "body": ready.text_to_keep(), "reason": "",
        "detail": "", "asks_reply": ready.asks_reply}, sent=ready)


def _finish(reminder_id: int, *, status: str, now: datetime, **fields) -> None:
    _compare_and_set(reminder_id, expected=ReminderStatus.SENDING, now=now, status=status,
                     **fields)


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
    """`participant`: whoever the row is to (the participant, or a family contact)."""
    if channel == ReminderChannel.SMS:
        # The provider's configured number sends; US carriers do not show sender names.
        return get_sms_backend().send(SmsMessage(to=participant.phone, body=message.body,
                                                 sender=""))
    return send_email_message(to=participant.email, subject=message.subject, body=message.body,
                              sender_name=message.sender_name)


def _after_transient(reminder: Reminder, exc: TransientChannelError, *, deadline: datetime,
                     now: datetime) -> _Record:
    attempts = reminder.attempts  # already counts this attempt
    backoff = timedelta(seconds=min(settings.REMINDER_RETRY_BASE_SECONDS * 2 ** (attempts - 1),
                                    settings.REMINDER_RETRY_MAX_SECONDS))
    if exc.retry_after:
        backoff = max(backoff, timedelta(seconds=exc.retry_after))
    retry_at = now + backoff
    if attempts < settings.REMINDER_MAX_ATTEMPTS and retry_at < deadline:
        logger.info("reminder %s will retry in %ss: %s", reminder.pk, int(backoff.total_seconds()),
                    exc.reason)
        return _Record(reminder.pk, "retry", {
            "status": ReminderStatus.PENDING, "due_at": retry_at, "send_before": deadline,
            "claimed_at": None, "detail": exc.reason[:200]})
    logger.warning("reminder %s failed after %s attempts: %s", reminder.pk, attempts, exc.reason)
    return _Record(reminder.pk, "failed:retries_exhausted", {
        "status": ReminderStatus.FAILED, "reason": ReminderReason.RETRIES_EXHAUSTED,
        "detail": exc.reason[:200]})
