"""The portal home's schedule (and the reminders page's coming reminders) as plain strings,
so their templates do no work per visit.

Each visit had its own include, four translations, two time filters, a status label and a
reversed URL: at a participant's dozen weeks ahead that was most of the page's time. Here each
label is translated once a page, each distinct time of day and day formatted once, the excuse
URL reversed once and completed per visit. The days and their visits are then written here
too (every value escaped, as the templates' autoescaping did): a dozen weeks ahead rendered
through _days.html and _visits.html still cost some 150 µs a visit. They are filled with
str.format and html.escape, the badges and notes that read the same on every visit escaped
once a page: format_html's escaping of each of a visit's seven values (and of its badge's and
notes' own) was still most of the schedule's time.
"""
from __future__ import annotations

from copy import copy
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from html import escape

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from iop_clinic.formatting import (
    clinic_format, clock, day as short_day, long_day, when as when_text,
)
from iop_clinic.fixed_urls import url_halves
from reminders.models import Reminder
from sessions.models import AttendanceStatus, ExcuseStatus, SessionKind

from .selectors import PastVisit, Schedule, UpcomingVisit, VisitDay



@dataclass(slots=True)
class DayRow:
    heading: str  # "Today, Monday, November 30, 2026"
    visits_html: SafeString  # the day's <li> items
    site_alias: str  # of the day's first visit
    site_address: str


@dataclass(slots=True)
class WeekRow:
    summary: str  # "Week of December 7"
    days_html: SafeString  # the week's day <section>s


@dataclass(slots=True)
class HistoryRow:
    when: str  # "Mon, Nov 30, 6:00 PM"
    status: str


@dataclass(slots=True)
class ScheduleRows:
    today: date
    today_words: str  # "Monday, November 30, 2026"
    next_day: DayRow | None
    this_week_html: SafeString  # "" when nothing else is on this week
    later_weeks: list[WeekRow]
    later_weeks_html: SafeString  # the weeks' <details>, the first open
    history: list[HistoryRow]
    history_html: SafeString  # the history's <li> items


@lru_cache(maxsize=2048)
def _date_words(language: str, style: str, day: date) -> str:
    """A date in words: "Monday, November 30, 2026" (long), "Mon, Nov 30" (short) or "Nov 30"
    (month_day). They depend on the date and the language only, so they are kept across pages
    and participants (formatting them was half the rows' time); nothing about anyone's care is
    kept. `language` is the active one, passed in to be part of the key."""
    if style == "long":
        return long_day(day)
    if style == "short":
        return short_day(day)
    return date_filter(day, "MONTH_DAY_FORMAT")


# (language, UTC offset, time of day) -> "6:00 PM": kept like _date_words.
_clocks: dict[tuple, str] = {}


def _clock_words(language: str, moment: datetime) -> str:
    key = (language, moment.utcoffset(), moment.time())
    text = _clocks.get(key)
    if text is None:
        if len(_clocks) >= 4096:
            _clocks.clear()
        text = _clocks[key] = clock(moment)
    return text


@receiver(setting_changed)
def _forget_date_words(*, setting, **kwargs) -> None:
    if setting in {"FORMAT_MODULE_PATH", "LANGUAGE_CODE", "LANGUAGES", "USE_L10N"}:
        _date_words.cache_clear()
        _clocks.clear()
    if setting in {"FORMAT_MODULE_PATH", "LANGUAGE_CODE", "LANGUAGES", "USE_L10N",
                   "LOCALE_PATHS"}:
        _kept_words.clear()


def _fill(translated: str, **values: str) -> str:
    """What {% blocktranslate with name=value %} says, as plain text the template escapes
    whole (blocktranslate escaped only the values; the same page while the translations hold
    no <, >, &, ' or ", and the same text on screen whatever they hold). Callers pass
    gettext("literal"), never a variable: makemessages finds only literal messages, and a
    message it misses loses its translation at the next `make messages`."""
    return translated % values


class _Words:
    """The labels of the schedule, translated and escaped once a process per language (they
    depend on nothing else: translating and escaping them again on every page was a fifth of
    the schedule's time), with the page's own day and excuse link (`for_page`)."""

    def __init__(self) -> None:
        """The labels in the language active now; `for_page` adds the page's own."""
        self.language = get_language()
        self.kinds = {
            SessionKind.INDIVIDUAL: gettext("Individual session"),
            SessionKind.GROUP: gettext("Group session"),
            SessionKind.FAMILY: gettext("Family session"),
            SessionKind.WORKSHOP: gettext("Workshop session"),
        }
        self.cancelled = gettext("Cancelled")
        self.excused = gettext("Excused")
        self.excuse_requested = gettext("Excuse requested")
        self.excuse_declined = gettext("Excuse not approved.")
        self.still_expected = gettext("We still expect you.")
        self.excuse_approved = gettext("Your excused absence was approved.")
        self.ask_excuse = gettext("Ask to be excused")
        self.today_heading = gettext("Today, %(day)s")
        self.tomorrow_heading = gettext("Tomorrow, %(day)s")
        self.statuses = {value: str(label) for value, label in AttendanceStatus.choices}
        # The markup that reads the same on every visit, escaped once.
        self.cancelled_badge = _BADGE.format("text-bg-danger", escape(self.cancelled))
        self.excused_badge = _BADGE.format("text-bg-secondary", escape(self.excused))
        self.requested_badge = _BADGE.format("text-bg-warning", escape(self.excuse_requested))
        self._status_badges: dict[str, str] = {}
        self.declined_words = escape(self.excuse_declined)
        self.still_expected_words = escape(self.still_expected)
        self.approved_note = _APPROVED.format(escape(self.excuse_approved))
        self.ask_excuse_words = escape(self.ask_excuse)
        # A schedule has a few distinct times of day, rooms and kinds: each written once.
        self._times: dict[tuple, str] = {}
        self._places: dict[tuple, str] = {}
        self.today = self.tomorrow = None
        self._excuse_head = self._excuse_tail = ""

    @classmethod
    def for_page(cls, *, today: date) -> "_Words":
        """The active language's labels, with this page's today and excuse link."""
        kept = _kept_words.get(get_language())
        if kept is None:
            kept = _kept_words[get_language()] = cls()
        words = copy(kept)  # the labels and their dicts shared, the page's own set below
        words.today = today
        words.tomorrow = date.fromordinal(today.toordinal() + 1)
        # The link's markup around the session id (digits, nothing to escape), escaped once:
        # the URL's prefix can change from one request to the next, so not kept.
        head, tail = url_halves("portal-excuse")
        words._excuse_head = _EXCUSE_LINK_HEAD.format(escape(head))
        words._excuse_tail = _EXCUSE_LINK_TAIL.format(escape(tail), words.ask_excuse_words)
        return words

    def status_badge(self, status: str) -> str:
        badge = self._status_badges.get(status)
        if badge is None:
            badge = self._status_badges[status] = _BADGE.format(
                "text-bg-light border", escape(self.statuses.get(status, status)))
        return badge

    def clock(self, moment: datetime) -> str:
        return _clock_words(self.language, moment)

    def time_range(self, starts: datetime, ends: datetime) -> str:
        """"6:00 PM – 9:00 PM", escaped."""
        key = (starts.utcoffset(), starts.time(), ends.utcoffset(), ends.time())
        text = self._times.get(key)
        if text is None:
            if len(self._times) >= _KEPT:
                self._times.clear()
            text = self._times[key] = escape(f"{self.clock(starts)} – {self.clock(ends)}")
        return text

    def kind(self, kind: str) -> str:
        label = self.kinds.get(kind)
        if label is None:
            label = self.kinds[kind] = str(SessionKind(kind).label) if kind in SessionKind.values \
                else kind
        return label

    def place(self, kind: str, room_name: str | None) -> str:
        """"Group session · Room 2", escaped."""
        key = (kind, room_name)
        text = self._places.get(key)
        if text is None:
            if len(self._places) >= _KEPT:
                self._places.clear()
            label = self.kind(kind)
            text = self._places[key] = escape(
                label if room_name is None else f"{label} · {room_name}")
        return text

    def date(self, style: str, day: date) -> str:
        return _date_words(self.language, style, day)

    def day_heading(self, day: date) -> str:
        words = self.date("long", day)
        if day == self.today:
            return _fill(self.today_heading, day=words)
        if day == self.tomorrow:
            return _fill(self.tomorrow_heading, day=words)
        return capfirst(words)

    def excuse_link(self, session_id: int) -> str:
        """_EXCUSE_LINK for this session, its URL escaped."""
        return f"{self._excuse_head}{session_id}{self._excuse_tail}"


# Language -> its _Words (labels only: today and the excuse link are each page's).
_kept_words: dict[str | None, _Words] = {}
# At most this many times of day or rooms kept a language; then they are written afresh.
_KEPT = 4096


# A visit and a day, byte for byte what _visits.html and _days.html wrote (their blank lines
# were the template tags' lines).
_VISIT = """<li class="portal-visit{}">
  <div class="d-flex flex-wrap justify-content-between align-items-start column-gap-2">
    <div>
      <div class="portal-time">{}</div>
      <div>{}</div>
    </div>
    <div class="text-end">
      {}
    </div>
  </div>
  {}
  {}
  {}
</li>
"""
_BADGE = '\n        <span class="badge {}">{}</span>\n      '
_DECLINED = '\n    <p class="small mb-1 mt-1"><strong>{}</strong> {} {}</p>\n  '
_APPROVED = '\n    <p class="small mb-1 mt-1">{}</p>\n  '
_EXCUSE_LINK = '\n    <a class="btn btn-sm btn-outline-primary mt-2" href="{}">{}</a>\n  '
# _EXCUSE_LINK in two, around the session id in its URL: the URL's head, then its tail and words.
_EXCUSE_LINK_HEAD = '\n    <a class="btn btn-sm btn-outline-primary mt-2" href="{}'
_EXCUSE_LINK_TAIL = '{}">{}</a>\n  '
_DAY = """<section class="portal-day" aria-labelledby="{anchor}">
  <h3 class="h6 mb-1" id="{anchor}">{heading}</h3>
  <ul class="list-unstyled mb-0">
    {visits}
  </ul>
</section>
"""


def _visit_html(visit: UpcomingVisit, words: _Words) -> str:
    """One visit's _VISIT, every value escaped (the badges and notes in _Words already)."""
    status, excuse_status = visit.status, visit.excuse_status
    cancelled = visit.is_cancelled
    if cancelled:
        badge = words.cancelled_badge
    elif status == AttendanceStatus.EXCUSED:
        badge = words.excused_badge
    elif status != AttendanceStatus.EXPECTED:
        badge = words.status_badge(status)
    elif excuse_status == ExcuseStatus.PENDING:
        badge = words.requested_badge
    else:
        badge = ""
    time = words.time_range(visit.starts, visit.ends)
    return _VISIT.format(
        " is-cancelled" if cancelled else "",
        f"<s>{time}</s>" if cancelled else time,
        words.place(visit.kind, visit.room_name),
        badge,
        _DECLINED.format(words.declined_words, escape(visit.excuse_note),
                         words.still_expected_words)
        if excuse_status == ExcuseStatus.DECLINED and status == AttendanceStatus.EXPECTED
        else "",
        words.approved_note if excuse_status == ExcuseStatus.APPROVED else "",
        words.excuse_link(visit.session_id) if visit.can_excuse else "")


def _visits_html(visits: list[UpcomingVisit], words: _Words) -> SafeString:
    # Safe: every value in the markup went through html.escape.
    return mark_safe("".join([_visit_html(v, words) for v in visits]))


def _day_row(day: VisitDay, words: _Words) -> DayRow:
    first = day.first
    return DayRow(heading=words.day_heading(day.day),
                  visits_html=_visits_html(day.visits, words),
                  site_alias=first.site_alias, site_address=first.site_address)


def _days_html(days: list[VisitDay], words: _Words) -> SafeString:
    # Safe: every value in the markup went through html.escape.
    return mark_safe("".join([
        _DAY.format(anchor=escape(f"day-{day.day:%Y%m%d}"),
                    heading=escape(words.day_heading(day.day)),
                    visits=_visits_html(day.visits, words)) for day in days]))


def _history_row(visit: PastVisit, words: _Words) -> HistoryRow:
    return HistoryRow(
        # The short day of a date-time is its local date's (DAY_FORMAT has no time in it).
        when=f"{words.date('short', visit.starts.date())}, {words.clock(visit.starts)}",
        status=words.cancelled if visit.is_cancelled else words.statuses.get(visit.status,
                                                                             visit.status))


# A week of "Coming weeks" and a visit of the history, byte for byte what home.html's loops
# wrote (a loop's text runs from after {% for %} to before {% endfor %}).
_WEEK = """
    <details class="portal-week"{open}>
      <summary>{summary}</summary>
      {days}
    </details>
  """
_PAST_VISIT = """
      <li class="portal-visit d-flex justify-content-between gap-2">
        <span>{when}</span>
        <span>{status}</span>
      </li>
      """


def _weeks_html(weeks: list[WeekRow]) -> SafeString:
    # Safe: the summaries escaped here, the days' markup escaped by _days_html.
    return mark_safe("".join([
        _WEEK.format(open=" open" if n == 0 else "", summary=escape(week.summary),
                     days=week.days_html) for n, week in enumerate(weeks)]))


def _history_html(history: list[HistoryRow]) -> SafeString:
    # Safe: every value escaped.
    return mark_safe("".join([_PAST_VISIT.format(when=escape(row.when), status=escape(row.status))
                              for row in history]))


def schedule_rows(schedule: Schedule) -> ScheduleRows:
    """The schedule's days, weeks and history as strings in the active language and zone."""
    words = _Words.for_page(today=schedule.today)
    week_of = gettext("Week of %(week)s")
    later_weeks = [WeekRow(summary=_fill(week_of, week=words.date("month_day", week_start)),
                           days_html=_days_html(days, words))
                   for week_start, days in schedule.later_weeks]
    history = [_history_row(visit, words) for visit in schedule.history]
    return ScheduleRows(
        today=schedule.today, today_words=words.date("long", schedule.today),
        next_day=_day_row(schedule.next_day, words) if schedule.next_day else None,
        this_week_html=_days_html(schedule.this_week, words),
        later_weeks=later_weeks, later_weeks_html=_weeks_html(later_weeks),
        history=history, history_html=_history_html(history))


@dataclass(slots=True)
class ReminderRow:
    when: str  # "Text message on Mon, Nov 30, 6:00 PM"
    visit: str  # "for your visit on Tue, Dec 1"


def reminder_rows(reminders: list[Reminder]) -> list[ReminderRow]:
    """When and how each coming reminder goes out, in the active language and time zone.

    "When" is the short day and the clock time, each kept once a process per language (as
    the schedule's are), while WHEN_FORMAT is DAY_FORMAT and TIME_FORMAT joined by a comma
    (both languages' are): formatting each date-time whole was most of the list's time."""
    language = get_language()
    zone = timezone.get_current_timezone()
    composed = clinic_format("WHEN_FORMAT") == (
        f"{clinic_format('DAY_FORMAT')}, {clinic_format('TIME_FORMAT')}")
    when_words = gettext("%(channel)s on %(when)s")
    visit_words = gettext("for your visit on %(day)s")
    channels: dict[str, str] = {}
    rows = []
    for reminder in reminders:
        channel = channels.get(reminder.channel)
        if channel is None:
            channel = channels[reminder.channel] = reminder.get_channel_display()
        due = reminder.due_at.astimezone(zone)
        when = (f"{_date_words(language, 'short', due.date())}, {_clock_words(language, due)}"
                if composed else when_text(due))
        rows.append(ReminderRow(
            when=_fill(when_words, channel=channel, when=when),
            visit=_fill(visit_words, day=_date_words(language, "short", reminder.visit_date))))
    return rows


# A coming reminder, byte for byte what the reminder settings' loop wrote.
_REMINDER = """
          <li class="py-1">
            {when}
            <span class="text-body-secondary small">{visit}</span>
          </li>
        """


def reminders_html(rows: list[ReminderRow]) -> SafeString:
    """The coming reminders' <li> items, every value escaped (a template loop cost ~15 µs a
    reminder)."""
    # Safe: every value escaped.
    return mark_safe("".join([_REMINDER.format(when=escape(row.when), visit=escape(row.visit))
                              for row in rows]))
