"""The chart, follow-up list and caseload rows prepared in Python (staff/chart_rows.py,
staff/list_rows.py) show what the templates showed when they worked each row out themselves."""
import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import translation

from iop_clinic.formatting import day, when
from sessions.models import ExcusedAbsenceRequest, FollowUp
from staff.chart_rows import PageFormats
from tests import factories

from .conftest import MONDAY, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def _section(page: str, heading: str) -> str:
    return page.split(f'id="{heading}"')[1].split("</section>")[0]


@pytest.mark.parametrize("language", ["en", "es"])
def test_page_formats_write_days_and_times_as_the_filters_do(language):
    zone = zoneinfo.ZoneInfo("America/New_York")
    moments = [dt.datetime(2026, 3, 8, 1, 30, tzinfo=zone),  # the night clocks go forward
               dt.datetime(2026, 3, 8, 18, 0, tzinfo=zone),
               dt.datetime(2026, 11, 1, 1, 30, tzinfo=zone, fold=1),
               dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=zone)]
    with translation.override(language):
        formats = PageFormats()
        for moment in moments * 2:  # the second round comes from the page's caches
            assert formats.when(moment) == when(moment)
            assert formats.day(moment.date()) == day(moment.date())


def test_page_formats_print_each_number_as_written():
    formats = PageFormats()
    from decimal import Decimal

    # Equal values, different text: the cache must not hand one the other's.
    assert formats.number(Decimal("9.0")) == "9.0"
    assert formats.number(Decimal("9.00")) == "9.00"
    assert formats.number(45) == "45"


def test_the_chart_lists_pending_excuses_for_those_who_see_notes(as_clinician, as_front_desk,
                                                                 track):
    session, (row,) = make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=3))
    excuse = ExcusedAbsenceRequest.objects.create(
        attendance=row, reason="Doctor", requested_at=dt.datetime(2026, 1, 5, 15, tzinfo=dt.UTC))
    chart_url = reverse("participant_chart", args=[row.participant.code])

    page = as_clinician.get(chart_url).content.decode()

    excuses = _section(page, "excuse-heading")
    assert f"Thu, Jan 8 · {session.session_type.name} · asked Jan 5" in excuses
    assert f'{reverse("excuse_review", args=[excuse.code])}?next={chart_url}' in excuses
    assert reverse("excuse_approve", args=[excuse.code]) in excuses
    assert 'id="excuse-heading"' not in as_front_desk.get(chart_url).content.decode()


def test_the_chart_strikes_cancelled_visits_and_offers_make_ups_for_missed_groups(
        as_clinician, track):
    held, (absent,) = make_group_session(track, size=1, day=MONDAY - dt.timedelta(days=7),
                                         title="")
    participant, enrollment = absent.participant, absent.enrollment
    absent.status, absent.minutes_attended = "absent", None
    absent.save()
    cancelled = factories.TherapySessionFactory(
        track=track, site=track.site, title="Art group", status="cancelled",
        starts_at=dt.datetime(2025, 12, 30, 23, 0, tzinfo=dt.UTC))
    factories.AttendanceFactory(session=cancelled, participant=participant,
                                enrollment=enrollment, status="cancelled")
    late = factories.TherapySessionFactory(
        track=track, site=track.site, title="Skills",
        starts_at=dt.datetime(2025, 12, 29, 23, 0, tzinfo=dt.UTC))
    factories.AttendanceFactory(session=late, participant=participant, enrollment=enrollment,
                                status="late", minutes_attended=150)

    page = as_clinician.get(reverse("participant_chart", args=[participant.code])).text

    history = _section(page, "history-heading")
    assert "<s>Art group</s>" in history  # cancelled: no roster link
    assert reverse("roster", args=[cancelled.pk]) not in history
    assert (f'<a href="{reverse("roster", args=[held.pk])}">{held.session_type.name}</a>'
            in history)  # no title: the session type's name
    assert (f'Absent · <a href="{reverse("makeup_book", args=[absent.pk])}">Make-up'
            '<span class="visually-hidden"> for Mon, Dec 29</span></a>') in history
    assert "<td>150</td>" in history and "<td>—</td>" in history


def test_the_follow_up_list_says_which_week_or_day_each_is_about(as_front_desk, site, track):
    person = factories.ParticipantFactory(home_site=site, first_name="Ines", last_name="Ruiz")
    enrollment = factories.EnrollmentFactory(participant=person, track=track)
    week = FollowUp.objects.create(participant=person, enrollment=enrollment,
                                   kind="below_minimum_hours", week_start=MONDAY)
    FollowUp.objects.create(participant=person, enrollment=enrollment, kind="unexcused_absence",
                            missed_on=MONDAY + dt.timedelta(days=2))

    page = as_front_desk.get(reverse("followup_list"), {"assignee": "", "status": ""}).text

    assert f'<a href="{reverse("followup_detail", args=[week.pk])}">Ines Ruiz</a>' in page
    assert '<td class="followup-day">week of Mon, Jan 5</td>' in page
    assert '<td class="followup-day">Wed, Jan 7</td>' in page
    assert "<td>Unassigned</td>" in page


def test_the_caseload_labels_each_status_and_admission(as_front_desk, site, track):
    active = factories.ParticipantFactory(home_site=site, last_name="Alba")
    factories.EnrollmentFactory(participant=active, track=track, status="active",
                                admission_date=dt.date(2025, 12, 1))
    factories.ParticipantFactory(home_site=site, last_name="Bravo")

    page = as_front_desk.get(reverse("participant_search")).text

    alba = page.split(">Alba, ")[1].split("</tr>")[0]
    assert '<span class="badge text-bg-success">Active</span>' in alba
    assert f"{track.name}<div" in alba and "since Dec 1, 2025" in alba
    bravo = page.split(">Bravo, ")[1].split("</tr>")[0]
    assert '<span class="text-body-secondary">Not enrolled</span>' in bravo and "<td>—" in bravo
