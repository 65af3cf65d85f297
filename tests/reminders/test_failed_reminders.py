"""Today's "could not be sent" list (`failed_reminders`, read as plain values) lists what the
reminders themselves say, in the same order and with the same limit."""
import datetime as dt

import pytest

from reminders.models import Reminder
from reminders.selectors import FailedReminder, failed_reminders
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 11)


def make(participant, site, *, visit, status="failed", reason="permanent_error", detail="",
         channel="sms", kind="day_before"):
    start = dt.datetime.combine(visit, dt.time(18, 0), tzinfo=dt.UTC)
    return Reminder.objects.create(
        participant=participant, site=site, visit_date=visit, kind=kind, channel=channel,
        status=status, reason=reason, detail=detail, due_at=start - dt.timedelta(days=1),
        send_before=start)


def as_listed(reminder: Reminder) -> FailedReminder:
    """What the list shows of a reminder, read from the model."""
    person = reminder.participant
    return FailedReminder(pk=reminder.pk, participant_code=str(person.code),
                          participant_name=person.full_name, visit_date=reminder.visit_date,
                          channel=reminder.channel, reason=reminder.reason,
                          detail=reminder.detail)


@pytest.mark.parametrize("limit", [3, 20])
def test_it_lists_the_failed_reminders_of_these_sites_from_a_week_ago_latest_first(limit):
    here, there = factories.SiteFactory(), factories.SiteFactory()
    people = [factories.ParticipantFactory(home_site=here, first_name=name, last_name="O'Hara")
              for name in ("Ana", "Émile", "Zoë")]
    elsewhere = factories.ParticipantFactory(home_site=there)
    for n in range(12):
        person = people[n % 3]
        make(person, here, visit=TODAY - dt.timedelta(days=n), channel=("sms", "email")[n % 2],
             reason=("permanent_error", "outcome_unknown")[n % 2], detail=f"<{n}>" * (n % 2))
    make(people[0], here, visit=TODAY, status="pending", reason="", kind="same_day")
    make(people[1], here, visit=TODAY, status="pending", reason="", channel="email")
    make(elsewhere, there, visit=TODAY)

    listed = failed_reminders(site_ids=[here.pk], today=TODAY, limit=limit)

    expected = (Reminder.objects.filter(site=here, status="failed",
                                        visit_date__gte=TODAY - dt.timedelta(days=7))
                .select_related("participant").order_by("-visit_date", "-updated_at"))[:limit]
    assert listed == [as_listed(r) for r in expected]
    assert len(listed) == min(limit, 8)  # the visits of the last week, today included
    assert failed_reminders(site_ids=[], today=TODAY) == []
    both = failed_reminders(site_ids=[here.pk, there.pk], today=TODAY)
    assert elsewhere.full_name in {r.participant_name for r in both}
