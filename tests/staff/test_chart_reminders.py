"""The chart's reminders table: coming visits first (nearest first), then past ones, paged."""
import datetime as dt

import pytest
from django.urls import reverse

from tests import factories

from .test_today_and_chart_boxes import make_reminder

pytestmark = pytest.mark.django_db


def _visits(page: str) -> list[str]:
    table = page.split('id="reminders-heading"')[1].split("</table>")[0]
    return [cell.split("</td>")[0] for cell in table.split('<tr class="reminder-row">\n          <td>')[1:]]


def test_it_lists_the_soonest_reminder_first_then_the_past(as_clinician, site, frozen_now):
    participant = factories.ParticipantFactory(home_site=site)
    today = dt.date(2026, 1, 5)  # frozen_now: Monday 5 January, 8 pm in New York
    for offset in (-3, 9, 0, 2, -1):
        make_reminder(participant, status="pending", visit=today + dt.timedelta(days=offset))
    page = as_clinician.get(reverse("participant_chart", args=[participant.code])).content.decode()
    assert _visits(page) == ["Mon, Jan 5", "Wed, Jan 7", "Wed, Jan 14", "Sun, Jan 4", "Fri, Jan 2"]


def test_it_pages_the_reminders_instead_of_stopping_at_thirty(as_clinician, site, frozen_now):
    participant = factories.ParticipantFactory(home_site=site)
    for offset in range(40):
        make_reminder(participant, status="pending",
                      visit=dt.date(2026, 1, 5) + dt.timedelta(days=offset))
    url = reverse("participant_chart", args=[participant.code])
    first = as_clinician.get(url).content.decode()
    assert len(_visits(first)) == 15 and 'reminders_page=2#reminders-heading">Next' in first
    last = as_clinician.get(url, {"reminders_page": 3}).content.decode()
    assert len(_visits(last)) == 10 and ">Next<" not in last
    assert as_clinician.get(url, {"reminders_page": "x"}).status_code == 200
