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


def test_it_shows_every_kind_of_notice_the_participant_was_sent(as_clinician, site, clinician,
                                                                 frozen_now):
    """A cancelled visit, an answered excuse request and a seat offered from the waitlist each
    leave a row on the chart, as reminders do."""
    from participants.models import Enrollment
    from sessions.models import Attendance, ExcusedAbsenceRequest
    from sessions.services.enrollment import enrollment_withdraw
    from sessions.services.excuses import excuse_approve
    from sessions.services.schedule import session_cancel

    now = dt.datetime(2026, 1, 5, 20, 0, tzinfo=site.zone)
    participant = factories.ParticipantFactory(home_site=site, reminder_channels="sms")
    factories.ContactConsentFactory(participant=participant, channel="sms")
    enrollment = factories.EnrollmentFactory(participant=participant,
                                             track=factories.TrackFactory(site=site))
    sessions = [factories.TherapySessionFactory(
        track=enrollment.track, site=site, starts_at=now + dt.timedelta(days=days))
        for days in (2, 3)]
    for session in sessions:
        Attendance.objects.create(session=session, participant=participant,
                                  enrollment=enrollment, status="expected")
    session_cancel(session=sessions[0], reason="Facilitator ill")
    excuse_approve(request=ExcusedAbsenceRequest.objects.create(
        attendance=sessions[1].attendances.get(), reason="Doctor", requested_at=now),
        by=clinician)
    full = factories.TrackFactory(site=site, mode="rolling", capacity=1,
                                  start_date=now.date() - dt.timedelta(days=30))
    factories.EnrollmentFactory(participant=participant, track=full, status="waitlisted",
                                waitlisted_at=now - dt.timedelta(days=3))
    seated = factories.EnrollmentFactory(track=full)
    Enrollment.objects.filter(pk=seated.pk).update(admission_date=now.date()
                                                   + dt.timedelta(days=3))
    enrollment_withdraw(enrollment=seated)

    page = as_clinician.get(reverse("participant_chart", args=[participant.code])).content.decode()
    table = page.split('id="reminders-heading"')[1].split("</table>")[0]
    for kind in ("Schedule change notice, SMS", "Excuse decision notice, SMS", "Seat offer, SMS"):
        assert table.count(kind) == 1, kind
