"""The portal's queries are built once a process and filtered per page (portal/selectors.py,
_shape): each participant still gets exactly their own rows, and the shared query keeps none."""
import datetime as dt

import pytest
from django.utils import timezone

from portal import selectors
from reminders.models import Reminder
from sessions.models import Attendance, AttendanceStatus

pytestmark = pytest.mark.django_db


def _fresh(participant, **lookups):
    return list(Attendance.objects.filter(participant=participant, **lookups)
                .order_by("session__starts_at", "session__pk")
                .values_list("session_id", "status"))


def test_it_gives_each_participant_their_own_rows_from_the_shared_shapes(alice, bob, now):
    theirs = Attendance.objects.filter(participant=bob).order_by("session__starts_at")
    theirs.filter(pk=theirs[5].pk).update(status=AttendanceStatus.EXCUSED)  # a visit ahead
    moment = timezone.now()  # four visits are over, five ahead

    for person in (alice, bob, alice):  # the shapes are built by the first call, then reused
        state = selectors.portal_state(participant=person)
        ahead, past, _ledger_rows = selectors.home_visits_for(state=state, now=moment, limit=4)
        feed = selectors.feed_events_for(state=state, now=moment)

        assert [(v.session_id, v.status) for v in ahead] == _fresh(
            person, session__ends_at__gte=moment)
        assert [(v.starts, v.status) for v in past] == [
            (a.session.starts_at.astimezone(person.zone), a.status) for a in
            Attendance.objects.filter(participant=person, session__ends_at__lt=moment)
            .select_related("session").order_by("-session__starts_at")[:4]]
        assert [e.session_id for e in feed] == [s for s, _ in _fresh(
            person, session__ends_at__gte=moment - dt.timedelta(days=selectors.FEED_PAST_DAYS))]
        assert state.enrollment.participant_id == person.pk
        assert len(ahead) == 5 and len(past) == 4 and feed
        assert (AttendanceStatus.EXCUSED in {v.status for v in ahead}) == (person == bob)
    for shape in (selectors._state_rows, selectors._feed_rows, selectors._feed_state_rows,
                  selectors._reminder_rows):
        assert shape()._result_cache is None  # a shape holds no one's rows


def _shown(reminders) -> list[tuple]:
    return [(r.pk, r.participant_id, r.visit_date, r.kind, r.channel, r.due_at, r.status,
             r.get_deferred_fields()) for r in reminders]


@pytest.mark.parametrize("count", [3, 14])
def test_it_lists_the_reminders_still_to_go_as_the_orm_query_did(alice, bob, site, now, count):
    """The reminders query compiled once a process gives each participant the rows (and the
    same deferred instances) the ORM's query gave, at most ten."""
    moment = timezone.now()

    def reminder(participant, hours, *, status="pending", channel="sms", kind="day_before"):
        visit = moment + dt.timedelta(hours=hours)
        return Reminder.objects.create(
            participant=participant, site=site, visit_date=visit.date(), kind=kind,
            channel=channel, status=status, due_at=visit - dt.timedelta(hours=20),
            send_before=visit, sent_at=moment if status == "sent" else None,
            claimed_at=moment if status == "claimed" else None)

    for n in range(count):
        reminder(alice, 30 + 24 * n, channel="sms" if n % 2 else "email",
                 status="claimed" if n == 1 else "pending")
    reminder(alice, -2)  # too late to go
    reminder(alice, 50, status="sent", kind="same_day")
    reminder(bob, 40)

    for person in (alice, bob, alice):  # compiled by the first call, then reused
        shown = selectors.upcoming_reminders_for(participant=person)

        assert _shown(shown) == _shown(selectors._reminder_rows().filter(
            participant=person, send_before__gt=moment)[:10])
        assert len(shown) == (min(count, 10) if person == alice else 1)


def _state_shown(state) -> tuple:
    enrollment = state.enrollment
    participant = state.participant
    return (participant.pk, participant.code, participant.language,
            participant.calendar_shows_address, participant.home_site.public_alias,
            participant.get_deferred_fields(), enrollment.pk, enrollment.status,
            enrollment.track.program.seat_offer_hours, enrollment.get_deferred_fields(),
            state.is_discharged, state.offer_open)


def test_it_finds_the_feeds_participant_as_the_orm_query_did(alice, bob, track):
    """The feed's state query compiled once a process finds the token's owner, with the same
    fields loaded (and deferred) as the ORM's query; an unknown token finds no one."""
    from participants.portal_accounts import calendar_token_regenerate, token_hash
    from tests import factories

    moment = timezone.now()
    factories.EnrollmentFactory(participant=bob, track=track, status="waitlisted",
                                waitlisted_at=moment - dt.timedelta(days=3),
                                seat_offered_at=moment - dt.timedelta(hours=1))
    for person in (alice, bob, alice):  # compiled by the first call, then reused
        token = calendar_token_regenerate(participant=person)
        state = selectors.feed_state(token_hash=token_hash(token))
        rows = list(selectors._feed_state_rows().filter(
            participant__calendar_token=token_hash(token)))

        assert _state_shown(state) == _state_shown(selectors._state_of(rows[0].participant, rows))
        assert state.participant.pk == person.pk
    assert selectors.feed_state(token_hash=token_hash("not a token")) is None


def test_it_finds_standing_sms_consent_as_the_orm_query_did(alice, bob, site):
    """The reminder settings' tick box: SMS consent given and not revoked, of this person."""
    from participants.models import ConsentChannel, ConsentSource, ContactConsent
    from participants.portal_accounts import sms_consent_standing
    from participants.services import consent_give, consent_revoke
    from tests import factories

    carol = factories.ParticipantFactory(home_site=site)
    source = ConsentSource.PORTAL

    def orm(person):
        return ContactConsent.objects.filter(participant=person, channel=ConsentChannel.SMS,
                                             revoked_at__isnull=True).exists()

    consent_give(participant=alice, channel=ConsentChannel.SMS, source=source)
    consent_give(participant=bob, channel=ConsentChannel.EMAIL, source=source)
    consent_give(participant=carol, channel=ConsentChannel.SMS, source=source)
    consent_revoke(participant=carol, channel=ConsentChannel.SMS, source=source)
    for person in (alice, bob, carol, alice):  # compiled by the first call, then reused
        assert sms_consent_standing(person) == orm(person)
    assert [sms_consent_standing(p) for p in (alice, bob, carol)] == [True, False, False]

    consent_give(participant=carol, channel=ConsentChannel.SMS, source=source)
    assert sms_consent_standing(carol) is True
