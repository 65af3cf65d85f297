"""The chart's reminder table (`reminder_page`) reads through a statement compiled once per
process: each page must hold exactly the reminders, in the order, the ORM query gives, with
only the fields it reads loaded (reading another would cost a query per row)."""
import datetime as dt

import pytest

from reminders.models import Reminder, ReminderChannel
from reminders.selectors import _reminder_page_queryset, reminder_page
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 11)


@pytest.fixture
def people():
    site = factories.SiteFactory()
    people = [factories.ParticipantFactory(home_site=site) for _ in range(3)]
    kinds, channels = ["day_before", "same_day"], list(ReminderChannel.values)
    for index, person in enumerate(people[:2]):
        for n in range(23 + 9 * index):
            visit = TODAY + dt.timedelta(days=(n * 5) % 31 - 15)
            start = dt.datetime.combine(visit, dt.time(9 + n % 8), tzinfo=dt.UTC)
            Reminder.objects.create(
                participant=person, site=site, visit_date=visit, kind=kinds[n % len(kinds)],
                channel=channels[n % len(channels)], status="pending", reason="",
                due_at=start - dt.timedelta(hours=1 + n % 3), send_before=start)
    return people


@pytest.mark.parametrize("size", [15, 4])
def test_every_page_is_what_the_orm_query_gives(people, size, django_assert_num_queries):
    for person in people:
        for today in (TODAY, TODAY + dt.timedelta(days=40)):
            expected = list(_reminder_page_queryset(participant_id=person.pk, today=today))
            shown = []
            for number in range(1, len(expected) // size + 3):
                with django_assert_num_queries(1):
                    page = reminder_page(participant=person, today=today, number=number,
                                         size=size)
                assert page.has_previous == (number > 1)
                assert page.has_next == (len(expected) > number * size)
                shown += page.rows
                # The table reads these fields; none of them may load later.
                with django_assert_num_queries(0):
                    read = [(r.pk, r.visit_date, r.kind, r.channel, r.status, r.reason,
                             r.get_kind_display(), r.get_status_display()) for r in page.rows]
                assert read == [(r.pk, r.visit_date, r.kind, r.channel, r.status, r.reason,
                                 r.get_kind_display(), r.get_status_display())
                                for r in expected[(number - 1) * size:number * size]]
                assert all(r.get_deferred_fields() == e.get_deferred_fields()
                           for r, e in zip(page.rows, expected, strict=False))
            assert [r.pk for r in shown] == [r.pk for r in expected]
    assert reminder_page(participant=people[2], today=TODAY).rows == []
