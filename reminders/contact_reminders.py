"""Reminders to a participant's family contacts: planning, the send-time re-check and the text.

A contact hears of a visit day only while the participant's disclosure consent to that contact
stands (signed, not expired in the home site's zone, not revoked) and the contact is not
removed; the send task asks again, so a revocation or an expiry stops the next reminder even
when it was already claimed. Which sessions: family sessions the participant is expected at,
or, for a minor in a program that says so (`Program.contacts_hear_all_minor_sessions`), all
of them. The contact's own channels, SMS consent and STOP apply; quiet hours are the
participant's (the same as the site's policy, on the participant's clock).

The text says only that there is an appointment, when and where (the site's neutral alias):
no participant name, as 42 CFR Part 2 consent covers appointment times and the least said on
a shared phone the better.
"""
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Prefetch, Q, prefetch_related_objects
from django.template.loader import render_to_string
from django.utils import translation

from participants.models import (
    Contact,
    DisclosureConsent,
    Enrollment,
    EnrollmentStatus,
    Participant,
)
from participants.services_contacts import participant_is_minor
from programs.models import SessionKind, Site

from reminders.models import (
    VISIT_REMINDER_KINDS,
    Reminder,
    ReminderChannel,
    ReminderReason,
    ReminderStatus,
)
from . import timing
from .eligibility import CHOSEN, channels_for_kind
from .messages import Message, _when, fit_sms
from .visits import Visit, visit_days

if TYPE_CHECKING:
    from .planner import PlanResult


def contact_channel_problem(*, contact: Contact, channel: str) -> str:
    """"" when the contact can be reminded on `channel`, else the reason code."""
    if contact.reminder_channels not in CHOSEN[channel]:
        return ReminderReason.CHANNEL_NOT_CHOSEN
    if channel == ReminderChannel.EMAIL:
        return "" if contact.email else ReminderReason.NO_ADDRESS
    if not contact.phone:
        return ReminderReason.NO_ADDRESS
    return "" if contact.has_sms_consent else ReminderReason.NO_CONSENT


def _consent_day(participant: Participant, moment: datetime) -> date:
    return moment.astimezone(participant.home_site.zone).date()


def _hears_all_sessions(participants: list[Participant], today: dict[int, date]) -> set[int]:
    """Of these participants, the minors whose program has contacts hear every session."""
    programs = dict(Enrollment.objects.filter(
        participant__in=participants, status=EnrollmentStatus.ACTIVE,
    ).values_list("participant_id", "track__program__contacts_hear_all_minor_sessions"))
    return {p.pk for p in participants if programs.get(p.pk)
            and participant_is_minor(participant=p, day=today[p.pk])}


def _visits(participants: list[Participant], *, starts_from: datetime, starts_until: datetime,
            today: dict[int, date]) -> dict[tuple[int, date], Visit]:
    everything = _hears_all_sessions(participants, today)
    found: dict[tuple[int, date], Visit] = {}
    for group, kinds in (([p for p in participants if p.pk in everything], None),
                         ([p for p in participants if p.pk not in everything],
                          (SessionKind.FAMILY,))):
        if group:
            found.update(visit_days(participants=group, starts_from=starts_from,
                                    starts_until=starts_until, kinds=kinds).visits)
    return found


def contacts_plan_chunk(*, participants: list[Participant], now: datetime, days: int,
                        policies: dict) -> "PlanResult":
    """Plan (and withdraw) the reminders of these participants' contacts, like the planner does
    for participants: same keys per contact, compare-and-set on status."""
    from .planner import PlanResult, keep_current, reminder_policies

    result = PlanResult()
    by_id = {p.pk: p for p in participants}
    open_rows = Reminder.objects.filter(contact=OuterRef("pk"), status__in=(
        ReminderStatus.PENDING, ReminderStatus.SKIPPED), send_before__gt=now)
    unrevoked = DisclosureConsent.objects.filter(revoked_at__isnull=True)
    # Contacts who may be told (not removed, a consent not revoked), and any with rows still
    # open, which may need withdrawing.
    contacts = list(Contact.objects.filter(participant_id__in=by_id).filter(
        Q(removed_at__isnull=True) & Exists(unrevoked.filter(contact=OuterRef("pk")))
        | Exists(open_rows)).prefetch_related(
            Prefetch("disclosure_consents", queryset=unrevoked)))
    if not contacts:
        return result
    people = [by_id[c.participant_id] for c in contacts]
    people = list({p.pk: p for p in people}.values())
    today = {p.pk: now.astimezone(p.zone).date() for p in people}
    visits = _visits(people, starts_from=now - timedelta(days=1),
                     starts_until=now + timedelta(days=days + 1), today=today)
    missing = {v.site_id for v in visits.values()} - policies.keys()
    if missing:
        policies = {**policies, **reminder_policies(site_ids=missing)}
    visits_of: dict[int, list[Visit]] = defaultdict(list)
    for visit in visits.values():
        visits_of[visit.participant_id].append(visit)

    wanted: dict[tuple, tuple[datetime, datetime, int]] = {}
    unwanted: dict[tuple, str] = {}
    for contact in contacts:
        participant = by_id[contact.participant_id]
        first_day, last_day = today[participant.pk], today[participant.pk] + timedelta(days=days)
        for visit in visits_of[participant.pk]:
            if not first_day <= visit.date <= last_day or visit.first_start <= now:
                continue
            policy = policies[visit.site_id]
            for kind in VISIT_REMINDER_KINDS:
                allowed = channels_for_kind(kind=kind, policy=policy)
                due, why_not = timing.due_at(kind=kind, first_start=visit.first_start,
                                             zone=participant.zone, policy=policy, now=now)
                for channel in ReminderChannel.values:
                    key = (contact.pk, visit.date, kind, channel)
                    problem = (ReminderReason.KIND_DISABLED if channel not in allowed else
                               contact_channel_problem(contact=contact, channel=channel)
                               or why_not)
                    if not problem and (contact.removed_at is not None or contact.standing_disclosure(
                            _consent_day(participant, due)) is None):
                        problem = ReminderReason.NO_DISCLOSURE_CONSENT
                    if problem:
                        unwanted[key] = problem
                    else:
                        wanted[key] = (due, visit.first_start, visit.site_id)
    timing.one_sms_of_a_kind_a_day(wanted, unwanted,
                                   {c.pk: by_id[c.participant_id] for c in contacts})

    contact_of = {c.pk: c for c in contacts}
    seen: set[tuple] = set()
    withdraw: dict[str, list[int]] = defaultdict(list)
    existing = Reminder.objects.filter(contact__in=contacts, kind__in=VISIT_REMINDER_KINDS,
                                       visit_date__gte=min(today.values())).only(
        "pk", "contact_id", "visit_date", "kind", "channel", "status", "due_at", "send_before",
        "site_id")
    for row in existing:
        key = (row.contact_id, row.visit_date, row.kind, row.channel)
        seen.add(key)
        if row.status not in (ReminderStatus.PENDING, ReminderStatus.SKIPPED) or (
                row.send_before <= now):
            continue
        if key in wanted:
            keep_current(row=row, planned=wanted[key], now=now, result=result)
        elif row.status == ReminderStatus.PENDING:
            reason = unwanted.get(key)
            if reason is None:
                contact = contact_of[row.contact_id]
                reason = (ReminderReason.NO_DISCLOSURE_CONSENT if contact.removed_at
                          or contact.standing_disclosure(today[contact.participant_id]) is None
                          else ReminderReason.SESSION_CANCELLED)
            withdraw[reason].append(row.pk)
    for reason, pks in withdraw.items():
        result.withdrawn += Reminder.objects.filter(
            pk__in=pks, status=ReminderStatus.PENDING,
        ).update(status=ReminderStatus.SKIPPED, reason=reason, updated_at=now)
    new = [Reminder(participant_id=contact_of[key[0]].participant_id, contact_id=key[0],
                    visit_date=key[1], kind=key[2], channel=key[3], due_at=due,
                    send_before=send_before, site_id=site_id)
           for key, (due, send_before, site_id) in wanted.items() if key not in seen]
    Reminder.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    result.created = len(new)
    return result


def contact_facts_read(*, reminders: list[Reminder], now: datetime
                       ) -> dict[tuple[int, date], Visit]:
    """What the send-time re-check of these contacts' reminders needs, read once for them all
    (a send task's batch): each contact's unrevoked disclosure consents (prefetched onto the
    rows' contacts), and the participants' visit days a contact may hear of, keyed
    (participant id, day). A fixed number of queries whatever the number of rows: the
    consents, the program rule for minors, visit days for each of the two groups."""
    rows = [r for r in reminders if r.contact_id is not None]
    if not rows:
        return {}
    prefetch_related_objects([r.contact for r in rows], Prefetch(
        "disclosure_consents", queryset=DisclosureConsent.objects.filter(
            revoked_at__isnull=True)))
    participants = list({r.participant_id: r.participant for r in rows}.values())
    starts = [datetime.combine(r.visit_date, datetime.min.time(), tzinfo=r.participant.zone)
              for r in rows]
    today = {p.pk: now.astimezone(p.zone).date() for p in participants}
    return _visits(participants, starts_from=min(starts),
                   starts_until=max(starts) + timedelta(days=1), today=today)


def contact_visit(*, reminder: Reminder, now: datetime,
                  visits: dict[tuple[int, date], Visit] | None = None
                  ) -> tuple[str, Visit | None]:
    """The send-time re-check of a contact's reminder: ("", visit) when it may go, else
    (reason, None). `visits`: what contact_facts_read read for the batch holding this row
    (read here for this row alone when not given)."""
    if visits is None:
        visits = contact_facts_read(reminders=[reminder], now=now)
    contact, participant = reminder.contact, reminder.participant
    if contact.removed_at is not None or contact.standing_disclosure(
            _consent_day(participant, now)) is None:
        return ReminderReason.NO_DISCLOSURE_CONSENT, None
    visit = visits.get((participant.pk, reminder.visit_date))
    if visit is None:
        return ReminderReason.SESSION_CANCELLED, None
    if now >= visit.first_start:
        return ReminderReason.PAST_DEADLINE, None
    problem = contact_channel_problem(contact=contact, channel=reminder.channel)
    return (problem, None) if problem else ("", visit)


def render_contact_reminder(*, channel: str, contact: Contact, participant: Participant,
                            site: Site, first_start: datetime, now: datetime) -> Message:
    """The neutral text in the contact's language (no one's name, no program, no kind)."""
    with translation.override(contact.language):
        context = {"first_name": "", "alias": site.public_alias.strip(),
                   "address": site.address.strip(), "phone": site.phone,
                   **_when(first_start, participant.zone, now)}
        if channel == ReminderChannel.SMS:
            return fit_sms(context, template="emails/contact_reminder_sms.txt")
        subject = render_to_string("emails/contact_reminder_subject.txt", context).strip()
        body = render_to_string("emails/contact_reminder_body.txt", context)
        return Message(subject=" ".join(subject.split()), body=body,
                       sender_name=context["alias"])
