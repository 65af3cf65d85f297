"""The portal home's days and visits, written with str.format and html.escape
(portal/schedule_rows.py), are byte for byte what format_html wrote before, in English and
Spanish, for every badge, note and link a visit can show and values holding <, >, &, ' and "."""
import contextlib
import datetime as dt
import itertools
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html, format_html_join

from portal import schedule_rows
from portal.schedule_rows import _APPROVED, _BADGE, _DAY, _DECLINED, _EXCUSE_LINK, _VISIT
from portal.selectors import UpcomingVisit, VisitDay
from sessions.models import AttendanceStatus, ExcuseStatus

NY = zoneinfo.ZoneInfo("America/New_York")
TODAY = dt.date(2026, 3, 11)


def _old_visit_parts(visit, words):
    """portal/schedule_rows.py's _visit_parts as it was (format_html)."""
    status, excuse_status = visit.status, visit.excuse_status
    cancelled = visit.is_cancelled
    if cancelled:
        badge, badge_class = words.cancelled, "text-bg-danger"
    elif status == AttendanceStatus.EXCUSED:
        badge, badge_class = words.excused, "text-bg-secondary"
    elif status != AttendanceStatus.EXPECTED:
        badge, badge_class = words.statuses.get(status, status), "text-bg-light border"
    elif excuse_status == ExcuseStatus.PENDING:
        badge, badge_class = words.excuse_requested, "text-bg-warning"
    else:
        badge, badge_class = "", ""
    time = f"{words.clock(visit.starts)} – {words.clock(visit.ends)}"
    label = words.kind(visit.kind)
    return (
        " is-cancelled" if cancelled else "",
        format_html("<s>{}</s>", time) if cancelled else time,
        label if visit.room_name is None else f"{label} · {visit.room_name}",
        format_html(_BADGE, badge_class, badge) if badge else "",
        format_html(_DECLINED, words.excuse_declined, visit.excuse_note, words.still_expected)
        if excuse_status == ExcuseStatus.DECLINED and status == AttendanceStatus.EXPECTED
        else "",
        format_html(_APPROVED, words.excuse_approved)
        if excuse_status == ExcuseStatus.APPROVED else "",
        format_html(_EXCUSE_LINK, reverse("portal-excuse", args=[visit.session_id]),
                    words.ask_excuse)
        if visit.can_excuse else "")


def _old_visits_html(visits, words):
    return format_html_join("", _VISIT, (_old_visit_parts(v, words) for v in visits))


def _old_days_html(days, words):
    return format_html_join("", _DAY, (
        {"anchor": f"day-{day.day:%Y%m%d}", "heading": words.day_heading(day.day),
         "visits": _old_visits_html(day.visits, words)} for day in days))


@contextlib.contextmanager
def _script_prefix(prefix: str):
    from django.urls import get_script_prefix, set_script_prefix
    before = get_script_prefix()
    set_script_prefix(prefix)
    try:
        yield
    finally:
        set_script_prefix(before)


def _visits():
    """A visit for every combination the markup tells apart."""
    combos = itertools.product(
        ["expected", "excused", "present", "absent", "late", "cancelled", "unknown<>"],
        ["scheduled", "cancelled"],
        [None, "pending", "declined", "approved"],
        [True, False],
        [None, "Room <2B> & \"Oak\" 'east'"],
        ["group", "individual", "family", "workshop", "tai <chi>"])
    visits = []
    for n, (status, session_status, excuse, can_excuse, room, kind) in enumerate(combos):
        starts = dt.datetime.combine(TODAY + dt.timedelta(days=n % 9), dt.time(9 + n % 10),
                                     tzinfo=NY)
        visits.append(UpcomingVisit(
            session_id=n + 1, starts=starts, ends=starts + dt.timedelta(minutes=90 + n % 3),
            kind=kind, room_name=room, site_alias="North <Clinic>", site_address="1 Elm & Oak",
            session_status=session_status, status=status, excuse_status=excuse,
            excuse_note="Not this time <b>& 'sorry'</b>" if n % 2 else "",
            can_excuse=can_excuse))
    return visits


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("prefix", ["/", "/clinic&co/"])
def test_it_writes_the_visits_and_days_format_html_wrote(language, prefix):
    """Also with the labels kept from an earlier page (the second _Words of a language) and
    behind a URL prefix that needs escaping."""
    visits = _visits()
    days = [VisitDay(TODAY + dt.timedelta(days=d),
                     [v for v in visits if v.starts.date() == TODAY + dt.timedelta(days=d)])
            for d in range(9)]
    schedule_rows._kept_words.clear()
    with translation.override(language), _script_prefix(prefix):
        words = schedule_rows._Words.for_page(today=TODAY)
        new_visits = schedule_rows._visits_html(visits, words)
        old_visits = _old_visits_html(visits, schedule_rows._Words.for_page(today=TODAY))
        new_days = schedule_rows._days_html(days, words)
        old_days = _old_days_html(days, schedule_rows._Words.for_page(today=TODAY))

    assert new_visits == old_visits
    assert new_days == old_days
    assert len(visits) == 1120 and new_visits.count("<li ") == len(visits)
    assert "&lt;2B&gt; &amp; &quot;Oak&quot; &#x27;east&#x27;" in new_visits
    assert "<b>" not in new_visits and "tai &lt;chi&gt;" in new_visits
    if language == "es":
        assert "Cancelada" in new_visits


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("zone", ["America/New_York", "America/Los_Angeles", "UTC"])
def test_the_coming_reminders_read_as_the_when_filter_wrote_them(language, zone):
    """Each reminder's day and time of day, kept once a process, read as |when wrote the
    whole date-time in the participant's zone, across a change of clocks."""
    from django.utils import timezone
    from django.utils.translation import gettext

    from iop_clinic.formatting import day, when
    from reminders.models import Reminder

    start = dt.datetime(2026, 10, 30, 11, 0, tzinfo=dt.UTC)  # the US clocks change on Nov 1
    reminders = [Reminder(channel=channel, due_at=start + dt.timedelta(hours=7 * n),
                          visit_date=(start + dt.timedelta(days=n)).date())
                 for n, channel in zip(range(12), itertools.cycle(["sms", "email"]))]
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        rows = schedule_rows.reminder_rows(reminders)
        expected = [(gettext("%(channel)s on %(when)s") % {
            "channel": r.get_channel_display(), "when": when(timezone.localtime(r.due_at))},
            gettext("for your visit on %(day)s") % {"day": day(r.visit_date)})
            for r in reminders]

    assert [(row.when, row.visit) for row in rows] == expected


_OLD_WEEKS = """{% for week in weeks %}
    <details class="portal-week"{% if forloop.first %} open{% endif %}>
      <summary>{{ week.summary }}</summary>
      {{ week.days_html }}
    </details>
  {% endfor %}"""
_OLD_HISTORY = """{% for visit in history %}
      <li class="portal-visit d-flex justify-content-between gap-2">
        <span>{{ visit.when }}</span>
        <span>{{ visit.status }}</span>
      </li>
      {% endfor %}"""


@pytest.mark.parametrize("count", [0, 1, 3])
def test_it_writes_the_coming_weeks_and_history_home_html_looped_over(count):
    from django.template import engines
    from django.utils.safestring import mark_safe

    weeks = [schedule_rows.WeekRow(summary=f"Week <{n}> & 'co'",
                                   days_html=mark_safe(f"<section>{n}</section>\n"))
             for n in range(count)]
    history = [schedule_rows.HistoryRow(when=f"Mon, Nov {n} <6:00 PM>", status='"Absent" & co')
               for n in range(count * 4)]
    loop = engines["django"].from_string

    assert schedule_rows._weeks_html(weeks) == loop(_OLD_WEEKS).render({"weeks": weeks})
    assert schedule_rows._history_html(history) == loop(_OLD_HISTORY).render(
        {"history": history})


_OLD_REMINDERS = """{% for reminder in upcoming_reminders %}
          <li class="py-1">
            {{ reminder.when }}
            <span class="text-body-secondary small">{{ reminder.visit }}</span>
          </li>
        {% endfor %}"""


@pytest.mark.parametrize("count", [0, 1, 10])
def test_it_writes_the_coming_reminders_the_settings_page_looped_over(count):
    from django.template import engines

    rows = [schedule_rows.ReminderRow(when=f"Text <message> & 'co' on Mon, Nov {n}",
                                      visit=f'for your "visit" on Tue, Dec {n}')
            for n in range(count)]

    assert schedule_rows.reminders_html(rows) == engines["django"].from_string(
        _OLD_REMINDERS).render({"upcoming_reminders": rows})
