"""The chart, follow-up list and caseload rows prepared in Python (staff/chart_rows.py,
staff/list_rows.py) show what the templates showed when they worked each row out themselves."""
import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

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
            assert formats.month_day(moment.date()) == date_format(moment.date(),
                                                                   "MONTH_DAY_FORMAT")
            # A follow-up's |date:"MONTH_DAY_FORMAT" of its aware time reads only the day.
            assert formats.month_day(moment.date()) == date_format(moment, "MONTH_DAY_FORMAT")


def test_page_formats_keep_each_language_its_own_words():
    monday = dt.date(2026, 1, 5)
    with translation.override("en"):
        english = PageFormats().day(monday), PageFormats().month_day(monday)
    with translation.override("es"):
        spanish = PageFormats().day(monday), PageFormats().month_day(monday)
        assert spanish == (day(monday), date_format(monday, "MONTH_DAY_FORMAT"))
    assert english == ("Mon, Jan 5", "Jan 5") and spanish != english


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


# The chart's row loops as chart.html wrote them before staff/chart_rows.py wrote them itself.
_OLD_LOOPS = {
    "upcoming": (
        '{% for a in rows.upcoming %}\n      <li class="list-group-item">{{ a.when }} · <a href="'
        '{{ a.roster_url }}">{{ a.title }}</a> · {{ a.room }}{% if a.is_makeup %} · <span class="'
        'badge text-bg-light border makeup-badge">Make-up</span>{% if can_schedule %} <form '
        'method="post" action="{{ a.cancel_url }}" class="d-inline">{% csrf_token %}<button '
        'type="submit" class="btn btn-link btn-sm p-0 align-baseline">Cancel make-up<span '
        'class="visually-hidden"> on {{ a.day }}</span></button></form>{% endif %}{% endif %}'
        '</li>\n      {% endfor %}'),
    "history": (
        '{% for a in rows.history %}\n      <tr>\n        <td>{{ a.day }}</td>\n        <td>'
        '{% if a.is_cancelled %}<s>{{ a.title }}</s>{% else %}<a href="{{ a.roster_url }}">'
        '{{ a.title }}</a>{% endif %}</td>\n        <td>{{ a.status_label }}{% if a.made_up_on %}'
        ' · <span class="made-up">made up {{ a.made_up_on }}</span>{% elif a.makeup_url %} · '
        '<a href="{{ a.makeup_url }}">Make-up<span class="visually-hidden"> for {{ a.day }}'
        '</span></a>{% endif %}</td>\n        <td>{{ a.minutes }}</td>\n      </tr>\n      '
        '{% endfor %}'),
    "followups": (
        '{% for f in rows.followups %}\n      <li class="list-group-item"><a href="{{ f.url }}">'
        '{{ f.kind }}</a> · {{ f.created }} · {{ f.status }} · {{ f.assignee }}\n        '
        '{% if show_notes and f.outcome_note %}<div class="outcome-note">{{ f.outcome_note }}'
        '</div>{% endif %}</li>\n      {% endfor %}'),
    "reminders": (
        '{% for reminder in rows.reminders %}\n        <tr class="reminder-row">\n          '
        '<td>{{ reminder.day }}</td>\n          <td>{{ reminder.kind }}, {{ reminder.channel }}'
        '</td>\n          <td>{{ reminder.status }}{% if reminder.reason %}<div class="'
        'text-body-secondary">{{ reminder.reason }}</div>{% endif %}</td>\n        </tr>\n      '
        '{% endfor %}'),
    "ledger": (
        '{% for w in rows.ledger_weeks %}\n      <tr class="{{ w.css_class }}" data-week="'
        '{{ w.week }}">\n        <td>{{ w.days }}{% if w.is_current %} (this week){% endif %}'
        '</td>\n        <td class="attended-hours">{{ w.attended }} h</td>\n        <td>'
        '{{ w.ahead }} h</td>\n        <td>{% if w.is_full_week %}{{ w.minimum }} h{% else %}'
        'partial week{% endif %}</td>\n        <td>{{ w.offered }} h</td>\n        <td>'
        '{% if w.at_risk %}<span class="badge text-bg-warning">At risk</span>{% elif '
        'w.below_minimum %}<span class="badge {% if w.counts_against %}text-bg-danger{% else %}'
        'text-bg-secondary{% endif %}">Below minimum</span> <span class="small short-reason" '
        'data-reason="{{ w.short_reason }}">{{ w.short_reason_label }}</span>{% elif '
        'w.short_reason %}<span class="small short-reason" data-reason="{{ w.short_reason }}">'
        '{{ w.short_reason_label }}</span>{% elif w.is_finished %}Met{% else %}—{% endif %}</td>'
        '\n      </tr>\n      {% endfor %}'),
}

_TRICKY = 'O\'Brien & <"Sons">'


def _rows_of_every_kind():
    from staff.chart_rows import (
        ChartRows, FollowUpRow, HistoryRow, LedgerRow, ReminderRow, UpcomingRow,
    )

    upcoming = [
        UpcomingRow(pk=1, when="Mon, Jan 5, 6:00 PM", roster_url="/sessions/1/", title=_TRICKY,
                    room="No room", is_makeup=False, cancel_url="", day="Mon, Jan 5"),
        UpcomingRow(pk=2, when="Tue, Jan 6, 6:00 PM", roster_url="/sessions/2/?a=1&b=2",
                    title="Skills", room=_TRICKY, is_makeup=True,
                    cancel_url="/makeups/2/cancel/", day=_TRICKY)]
    history = [
        HistoryRow(day="Mon, Dec 29", is_cancelled=True, roster_url="/sessions/3/",
                   title=_TRICKY, status_label="Cancelled by clinic", made_up_on="",
                   makeup_url="", minutes="—"),
        HistoryRow(day="Tue, Dec 30", is_cancelled=False, roster_url="/sessions/4/",
                   title="Art <group>", status_label="Absent", made_up_on="Fri, Jan 2",
                   makeup_url="", minutes="—"),
        HistoryRow(day=_TRICKY, is_cancelled=False, roster_url="/sessions/5/", title="Skills",
                   status_label="Absent", made_up_on="", makeup_url="/makeups/book/5/",
                   minutes="1,500")]
    followups = [
        FollowUpRow(url="/followups/1/", kind="Unexcused absence", created="Jan 5",
                    status="Open", assignee="Unassigned", outcome_note=_TRICKY),
        FollowUpRow(url="/followups/2/", kind=_TRICKY, created="Jan 4", status="Done",
                    assignee=_TRICKY, outcome_note="")]
    reminders = [
        ReminderRow(day="Tue, Jan 6", kind="Day before", channel="SMS", status="Sent",
                    reason=""),
        ReminderRow(day=_TRICKY, kind="Same day", channel="Email", status="Skipped",
                    reason=_TRICKY)]
    week = dict(css_class="", week="2026-01-05", days="Jan 5–Jan 11", is_current=False,
                is_full_week=True, attended="9.0", ahead="0", minimum="9", offered="9.0",
                at_risk=False, below_minimum=False, counts_against=False, short_reason="",
                short_reason_label="", is_finished=True)
    ledger = [
        LedgerRow(**{**week, "css_class": "table-warning fw-semibold", "is_current": True,
                     "at_risk": True, "is_finished": False}),
        LedgerRow(**{**week, "css_class": "table-danger", "below_minimum": True,
                     "counts_against": True, "short_reason": "participant",
                     "short_reason_label": _TRICKY}),
        LedgerRow(**{**week, "below_minimum": True, "short_reason": "clinic",
                     "short_reason_label": "Clinic closed"}),
        LedgerRow(**{**week, "short_reason": "<x>", "short_reason_label": "Excused"}),
        LedgerRow(**{**week, "is_full_week": False, "days": _TRICKY}),
        LedgerRow(**{**week, "is_finished": False, "attended": "1,234.5"})]
    return ChartRows(upcoming=upcoming, history=history, followups=followups,
                     reminders=reminders, ledger_weeks=ledger)


@pytest.mark.parametrize("can_schedule", [True, False])
@pytest.mark.parametrize("show_notes", [True, False])
def test_the_chart_rows_are_written_as_the_chart_loops_wrote_them(can_schedule, show_notes):
    from django.template import Context, Template

    from staff import chart_rows as written

    rows = _rows_of_every_kind()
    context = Context({"rows": rows, "can_schedule": can_schedule, "show_notes": show_notes,
                       "csrf_token": "t<o>k"})

    def loop(name):
        return Template(_OLD_LOOPS[name]).render(context)

    assert written.upcoming_html(rows.upcoming, can_schedule=can_schedule,
                                 csrf_token=lambda: "t<o>k") == loop("upcoming")
    assert written.history_html(rows.history) == loop("history")
    assert written.followups_html(rows.followups, show_notes=show_notes) == loop("followups")
    assert written.reminders_html(rows.reminders) == loop("reminders")
    assert written.ledger_html(rows.ledger_weeks) == loop("ledger")
    assert ("Cancel make-up" in loop("upcoming")) is can_schedule
    assert ("outcome-note" in loop("followups")) is show_notes
    assert "O&#x27;Brien &amp; &lt;&quot;Sons&quot;&gt;" in loop("history")


def test_the_chart_asks_for_a_csrf_token_only_for_a_cancel_form():
    from staff.chart_rows import upcoming_html

    rows = _rows_of_every_kind().upcoming

    def refuse():
        raise AssertionError("no cancel form, no token")

    upcoming_html(rows[:1], can_schedule=True, csrf_token=refuse)
    upcoming_html(rows, can_schedule=False, csrf_token=refuse)


@pytest.mark.parametrize("language", ["en", "es"])
def test_number_text_writes_numbers_as_localize_does(language, settings):
    from decimal import Decimal

    from django.utils.formats import localize

    from iop_clinic.formatting import number_text

    values = [Decimal("9.0"), Decimal("9.00"), Decimal("1234.5"), Decimal("-0.25"), 45, 12345,
              0, 2.5, 1e20, True, None, "3.5"]
    with translation.override(language):
        for value in values * 2:  # the second round comes from the kept texts
            assert number_text(value) == localize(value)
    settings.USE_THOUSAND_SEPARATOR = True  # a change of settings forgets the kept texts
    with translation.override(language):
        assert number_text(Decimal("1234.5")) == localize(Decimal("1234.5"))
        assert number_text(12345) == localize(12345) != "12345"


class _Figures:
    """What staff/authorizations/_table.html reads of an AuthorizationFigures."""

    def __init__(self, **values):
        self.__dict__.update(values)

    @property
    def remaining(self):
        from decimal import Decimal

        return Decimal(self.units_authorized) - self.used

    def get_status_display(self):
        return translation.gettext_lazy("Active") if self.status == "active" else self.status

    def get_unit_display(self):
        return self.unit


def _authorizations():
    from decimal import Decimal

    return [
        _Figures(id=7, number="A-1 <x>", payer="Payer & Sons", member_id="M'1",
                 status="active", service_code="H0015", unit="Day", level_of_care="2.1",
                 start_date=dt.date(2026, 1, 5), end_date=dt.date(2026, 3, 31),
                 next_review_date=dt.date(2026, 2, 1), units_authorized=1234,
                 used=Decimal("12.50"), scheduled=Decimal("3"), note="Call <first> & \"ask\""),
        _Figures(id=8, number="", payer="Medicaid", member_id="", status="expired",
                 service_code="S9480", unit="Hour", level_of_care="",
                 start_date=dt.date(2025, 12, 1), end_date=dt.date(2025, 12, 31),
                 next_review_date=None, units_authorized=0,
                 used=Decimal("0.333"), scheduled=Decimal("0"), note=""),
    ]


@pytest.mark.parametrize("can_edit", [True, False])
@pytest.mark.parametrize("show_notes", [True, False])
@pytest.mark.parametrize("caption", ["IOP <evening>", ""])
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_authorizations_table_is_written_as_its_template_writes_it(can_edit, show_notes,
                                                                       caption, language):
    from django.template.loader import get_template

    from staff.chart_rows import authorizations_table_html

    with translation.override(language):
        for rows in (_authorizations(), _authorizations()[1:]):
            expected = get_template("staff/authorizations/_table.html").render({
                "authorizations": rows, "can_edit": can_edit, "caption": caption,
                "show_notes": show_notes})
            assert authorizations_table_html(rows, can_edit=can_edit, caption=caption,
                                             show_notes=show_notes) == expected
