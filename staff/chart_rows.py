"""The participant chart's long lists as plain rows, so its template does no work per row.

The chart shows up to sixty past visits, thirty coming ones, a page of reminders, the weeks
of the hours ledger and the follow-ups. Resolving `{% url %}`, status labels, `|day` and
`|timezone|when` filter chains for each of them in the template was about half of the page's
time. Here each URL is reversed once and completed per row, each label is looked up once a
page, and each date is formatted once a page (the visits of a day share it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from html import escape
from zoneinfo import ZoneInfo

from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.safestring import SafeString, mark_safe

from iop_clinic.formatting import clinic_format, clock, day, number_text, when
from iop_clinic.page_rows import EscapedOnce, RowUrl, choice_labels, template_text
from reminders.models import Reminder
from sessions.models import AttendanceStatus, FollowUp, SessionStatus
from sessions.selectors.chart import ParticipantChart
from sessions.selectors.ledger import HoursLedger
from sessions.selectors.makeups import MISSED_STATUSES

# Missed (or clinic-cancelled) groups and workshops offer a make-up.
MAKEUP_KINDS = ("group", "workshop")
# Time-format letters that read more than the clock time (the zone, DST, the date).
_ZONE_OR_DATE_SPECIFIERS = set("eIOTZUcr")


# A calendar day's text in a language and format, kept across pages (a chart shows some fifty
# days, and formatting one cost about 15 µs): the words of the calendar, nothing about anyone.
@lru_cache(maxsize=4096)
def _day_text(language: str | None, day_format: str, value: date) -> str:
    return day(value)


@lru_cache(maxsize=4096)
def _month_day_text(language: str | None, month_day_format: str, value: date) -> str:
    return formats.date_format(value, "MONTH_DAY_FORMAT")


class PageFormats:
    """`|day`, `|when` and number localizing, each value once a page.

    `|when` is "the day, the time" in every language we ship (WHEN_FORMAT is DAY_FORMAT, a
    comma, TIME_FORMAT), so thirty coming visits over ten days at three times of day format
    ten days and three times, not thirty datetimes; a language where that isn't so gets
    `|when` itself.
    """

    def __init__(self) -> None:
        self._days: dict[date, str] = {}
        self._times: dict[time, str] = {}
        self._numbers: dict[tuple[type, str], str] = {}
        self._day_key = (get_language(), clinic_format("DAY_FORMAT"))
        self._month_day_key = (get_language(), formats.get_format("MONTH_DAY_FORMAT"))
        time_format = clinic_format("TIME_FORMAT")
        self._split_when = (
            clinic_format("WHEN_FORMAT") == f'{clinic_format("DAY_FORMAT")}, {time_format}'
            and not set(time_format) & _ZONE_OR_DATE_SPECIFIERS)

    def day(self, value: date | None) -> str:
        if value is None:
            return ""
        if type(value) is date:  # not a datetime: equal instants in two zones print apart
            return _day_text(*self._day_key, value)
        text = self._days.get(value)
        if text is None:
            text = self._days[value] = day(value)
        return text

    def when(self, value: datetime) -> str:
        if not self._split_when:
            return when(value)
        key = value.time()
        time_text = self._times.get(key)
        if time_text is None:
            time_text = self._times[key] = clock(value)
        return f"{self.day(value.date())}, {time_text}"

    def month_day(self, value: date) -> str:
        """`|date:"MONTH_DAY_FORMAT"`."""
        return _month_day_text(*self._month_day_key, value)

    def number(self, value) -> str:
        # By its text, not its value: Decimal("9.0") == Decimal("9.00") but they print apart.
        key = (type(value), str(value))
        text = self._numbers.get(key)
        if text is None:
            text = self._numbers[key] = number_text(value)
        return text


@dataclass
class UpcomingRow:
    pk: int
    when: str
    roster_url: str
    title: str
    room: str
    is_makeup: bool
    cancel_url: str
    day: str


@dataclass
class HistoryRow:
    day: str
    is_cancelled: bool
    roster_url: str
    title: str
    status_label: str
    made_up_on: str
    makeup_url: str
    minutes: str


@dataclass
class ReminderRow:
    day: str
    kind: str
    channel: str
    status: str
    reason: str


@dataclass
class LedgerRow:
    css_class: str
    week: str
    days: str
    is_current: bool
    is_full_week: bool
    attended: str
    ahead: str
    minimum: str
    offered: str
    at_risk: bool
    below_minimum: bool
    counts_against: bool
    short_reason: str
    short_reason_label: str
    is_finished: bool


@dataclass
class FollowUpRow:
    url: str
    kind: str
    created: str
    status: str
    assignee: str
    outcome_note: str


@dataclass
class ChartRows:
    upcoming: list[UpcomingRow]
    history: list[HistoryRow]
    followups: list[FollowUpRow]
    reminders: list[ReminderRow]
    ledger_weeks: list[LedgerRow]
    # The same rows written out as the chart's loops wrote them (see the *_html functions).
    upcoming_html: SafeString = SafeString()
    history_html: SafeString = SafeString()
    followups_html: SafeString = SafeString()
    reminders_html: SafeString = SafeString()
    ledger_html: SafeString = SafeString()


def _title(visit: dict) -> str:
    return visit["session__title"] or visit["session__session_type__name"]


def _upcoming(visits: list[dict], fmt: PageFormats, roster: RowUrl) -> list[UpcomingRow]:
    cancel = RowUrl("makeup_cancel")
    zones: dict[str, ZoneInfo] = {}
    rows = []
    for visit in visits:
        name = visit["session__site__time_zone"]
        zone = zones.get(name) or zones.setdefault(name, ZoneInfo(name))
        rows.append(UpcomingRow(
            pk=visit["pk"], when=fmt.when(visit["session__starts_at"].astimezone(zone)),
            roster_url=roster(visit["session_id"]), title=_title(visit),
            room=visit["session__room__name"] or "No room",
            is_makeup=bool(visit["makeup_for_id"]),
            cancel_url=cancel(visit["pk"]) if visit["makeup_for_id"] else "",
            day=fmt.day(visit["session__local_date"])))
    return rows


def _history(visits: list[dict], fmt: PageFormats, roster: RowUrl, *,
             can_schedule: bool) -> list[HistoryRow]:
    book = RowUrl("makeup_book")
    labels = _labels_of(AttendanceStatus)
    rows = []
    for visit in visits:
        status, made_up_on = visit["status"], visit["made_up_on"]
        offers_makeup = (can_schedule and not made_up_on and status in MISSED_STATUSES
                         and visit["session__kind"] in MAKEUP_KINDS
                         and not visit["makeup_for_id"])
        minutes = visit["minutes_attended"]
        rows.append(HistoryRow(
            day=fmt.day(visit["session__local_date"]),
            is_cancelled=visit["session__status"] == SessionStatus.CANCELLED,
            roster_url=roster(visit["session_id"]), title=_title(visit),
            status_label=labels.get(status, status),
            made_up_on=fmt.day(made_up_on) if made_up_on else "",
            makeup_url=book(visit["pk"]) if offers_makeup else "",
            minutes="—" if minutes is None else fmt.number(minutes)))
    return rows


def _labels_of(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices.choices}


def _followups(followups: list[dict], fmt: PageFormats) -> list[FollowUpRow]:
    detail = RowUrl("followup_detail")
    kinds, statuses = choice_labels(FollowUp, "kind"), choice_labels(FollowUp, "status")
    rows = []
    for followup in followups:
        name = f"{followup['assignee__first_name'] or ''} {followup['assignee__last_name'] or ''}"
        rows.append(FollowUpRow(
            url=detail(followup["pk"]), kind=kinds.get(followup["kind"], followup["kind"]),
            # |date shows an aware time in the current zone (the staff decorator's site);
            # MONTH_DAY_FORMAT reads only its day.
            created=fmt.month_day(timezone.localtime(followup["created_at"]).date()),
            status=statuses.get(followup["status"], followup["status"]),
            assignee=name.strip() or "Unassigned", outcome_note=followup["outcome_note"]))
    return rows


def _reminders(reminders: list[Reminder], fmt: PageFormats) -> list[ReminderRow]:
    kinds, channels = choice_labels(Reminder, "kind"), choice_labels(Reminder, "channel")
    statuses, reasons = choice_labels(Reminder, "status"), choice_labels(Reminder, "reason")
    return [ReminderRow(day=fmt.day(r.visit_date), kind=kinds.get(r.kind, r.kind),
                        channel=channels.get(r.channel, r.channel),
                        status=statuses.get(r.status, r.status),
                        reason=reasons.get(r.reason, r.reason) if r.reason else "")
            for r in reminders]


def _ledger_weeks(ledger: HoursLedger | None, fmt: PageFormats) -> list[LedgerRow]:
    if ledger is None:
        return []
    rows = []
    for w in ledger.weeks:
        counts_against = w.counts_against
        rows.append(LedgerRow(
            css_class=("table-warning" if w.at_risk else "table-danger" if counts_against
                       else "") + (" fw-semibold" if w.is_current else ""),
            week=w.week_start.isoformat(),
            days=f"{fmt.month_day(w.week_start)}–{fmt.month_day(w.week_end)}",
            is_current=w.is_current, is_full_week=w.is_full_week,
            attended=fmt.number(w.attended_hours),
            ahead=fmt.number(w.scheduled_hours_ahead),
            minimum=fmt.number(w.minimum_hours),
            offered=fmt.number(w.offered_hours),
            at_risk=w.at_risk, below_minimum=w.below_minimum, counts_against=counts_against,
            short_reason=w.short_reason, short_reason_label=w.short_reason_label,
            is_finished=w.is_finished))
    return rows


# The chart's row loops, written in Python: the template's loops were a third of the page's
# time. Each keeps the loop's markup and whitespace; every value goes through html.escape,
# which is what autoescaping calls (tests/staff/test_chart_rows.py compares each with the loop).
_UPCOMING = ('\n      <li class="list-group-item">{when} · <a href="{url}">{title}</a> · {room}'
             '{makeup}</li>\n      ')
_MAKEUP_BADGE = ' · <span class="badge text-bg-light border makeup-badge">Make-up</span>'
_MAKEUP_CANCEL = (' <form method="post" action="{url}" class="d-inline">{csrf}<button type="submit"'
                  ' class="btn btn-link btn-sm p-0 align-baseline">Cancel make-up<span'
                  ' class="visually-hidden"> on {day}</span></button></form>')
_CSRF_INPUT = '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'


def upcoming_html(rows: list[UpcomingRow], *, can_schedule: bool, csrf_token) -> SafeString:
    """The coming visits' list items. `csrf_token` is called only if a cancel form is shown."""
    csrf = None
    parts = []
    e = EscapedOnce()  # the chart's rows repeat their days, titles, labels and rooms
    for a in rows:
        makeup = ""
        if a.is_makeup:
            makeup = _MAKEUP_BADGE
            if can_schedule:
                if csrf is None:
                    csrf = _CSRF_INPUT.format(escape(str(csrf_token())))
                makeup += _MAKEUP_CANCEL.format(url=escape(a.cancel_url), csrf=csrf,
                                                day=e[a.day])
        parts.append(_UPCOMING.format(when=e[a.when], url=escape(a.roster_url),
                                      title=e[a.title], room=e[a.room], makeup=makeup))
    # Safe: every value above was escaped.
    return mark_safe("".join(parts))


_HISTORY = ('\n      <tr>\n        <td>{day}</td>\n        <td>{session}</td>\n'
            '        <td>{status}{makeup}</td>\n        <td>{minutes}</td>\n      </tr>\n      ')


def history_html(rows: list[HistoryRow]) -> SafeString:
    """The attendance history's table rows."""
    parts = []
    e = EscapedOnce()  # the chart's rows repeat their days, titles, labels and rooms
    for a in rows:
        title = e[a.title]
        session = (f"<s>{title}</s>" if a.is_cancelled
                   else f'<a href="{escape(a.roster_url)}">{title}</a>')
        makeup = ""
        if a.made_up_on:
            makeup = f' · <span class="made-up">made up {e[a.made_up_on]}</span>'
        elif a.makeup_url:
            makeup = (f' · <a href="{escape(a.makeup_url)}">Make-up<span class="visually-hidden">'
                      f' for {e[a.day]}</span></a>')
        parts.append(_HISTORY.format(day=e[a.day], session=session, status=e[a.status_label],
                                     makeup=makeup, minutes=e[a.minutes]))
    # Safe: every value above was escaped.
    return mark_safe("".join(parts))


_FOLLOWUP = ('\n      <li class="list-group-item"><a href="{url}">{kind}</a> · {created} · {status}'
             ' · {assignee}\n        {note}</li>\n      ')


def followups_html(rows: list[FollowUpRow], *, show_notes: bool) -> SafeString:
    """The follow-ups' list items; outcome notes only for those who see clinical notes."""
    # Safe: every value is escaped.
    return mark_safe("".join(_FOLLOWUP.format(
        url=escape(f.url), kind=escape(f.kind), created=escape(f.created),
        status=escape(f.status), assignee=escape(f.assignee),
        note=(f'<div class="outcome-note">{escape(f.outcome_note)}</div>'
              if show_notes and f.outcome_note else ""))
        for f in rows))


_REMINDER = ('\n        <tr class="reminder-row">\n          <td>{day}</td>\n'
             '          <td>{kind}, {channel}</td>\n          <td>{status}{reason}</td>\n'
             '        </tr>\n      ')


def reminders_html(rows: list[ReminderRow]) -> SafeString:
    """The reminder table's rows."""
    # Safe: every value is escaped.
    return mark_safe("".join(_REMINDER.format(
        day=escape(r.day), kind=escape(r.kind), channel=escape(r.channel),
        status=escape(r.status),
        reason=f'<div class="text-body-secondary">{escape(r.reason)}</div>' if r.reason else "")
        for r in rows))


_LEDGER = ('\n      <tr class="{css_class}" data-week="{week}">\n'
           '        <td>{days}{current}</td>\n'
           '        <td class="attended-hours">{attended} h</td>\n'
           '        <td>{ahead} h</td>\n'
           '        <td>{minimum}</td>\n'
           '        <td>{offered} h</td>\n'
           '        <td>{state}</td>\n'
           '      </tr>\n      ')
_SHORT_REASON = '<span class="small short-reason" data-reason="{}">{}</span>'


def _ledger_state(w: LedgerRow) -> str:
    if w.at_risk:
        return '<span class="badge text-bg-warning">At risk</span>'
    if w.below_minimum:
        badge = "text-bg-danger" if w.counts_against else "text-bg-secondary"
        return (f'<span class="badge {badge}">Below minimum</span> '
                + _SHORT_REASON.format(escape(w.short_reason), escape(w.short_reason_label)))
    if w.short_reason:
        return _SHORT_REASON.format(escape(w.short_reason), escape(w.short_reason_label))
    return "Met" if w.is_finished else "—"


def ledger_html(rows: list[LedgerRow]) -> SafeString:
    """The hours ledger's weeks."""
    # Safe: every value is escaped; the state's markup is constant around escaped values.
    return mark_safe("".join(_LEDGER.format(
        css_class=escape(w.css_class), week=escape(w.week), days=escape(w.days),
        current=" (this week)" if w.is_current else "", attended=escape(w.attended),
        ahead=escape(w.ahead),
        minimum=f"{escape(w.minimum)} h" if w.is_full_week else "partial week",
        offered=escape(w.offered), state=_ledger_state(w))
        for w in rows))


def chart_rows(*, chart: ParticipantChart, reminders: list[Reminder],
               ledger: HoursLedger | None, can_schedule: bool, show_notes: bool = False,
               csrf_token=str) -> ChartRows:
    fmt, roster = PageFormats(), RowUrl("roster")
    rows = ChartRows(
        upcoming=_upcoming(chart.upcoming, fmt, roster),
        history=_history(chart.history, fmt, roster, can_schedule=can_schedule),
        followups=_followups(chart.followups, fmt),
        reminders=_reminders(reminders, fmt),
        ledger_weeks=_ledger_weeks(ledger, fmt))
    rows.upcoming_html = upcoming_html(rows.upcoming, can_schedule=can_schedule,
                                       csrf_token=csrf_token)
    rows.history_html = history_html(rows.history)
    rows.followups_html = followups_html(rows.followups, show_notes=show_notes)
    rows.reminders_html = reminders_html(rows.reminders)
    rows.ledger_html = ledger_html(rows.ledger_weeks)
    return rows



# staff/authorizations/_table.html as the chart includes it for each enrollment, written in
# Python: the include, its loop and some twenty lookups and filters a row cost ~0.4 ms of a chart
# with one authorization. tests/staff/test_chart_rows.py compares the two, byte for byte.
_AUTH_HEAD = (
    '<div class="table-responsive"><table class="table table-sm authorizations">\n'
    '  <caption class="visually-hidden">Authorizations{caption}</caption>\n'
    '  <thead><tr><th scope="col">Payer and number</th><th scope="col">Status</th>'
    '<th scope="col">Covers</th><th scope="col">Dates</th>'
    '<th scope="col" class="text-end">Authorized</th><th scope="col" class="text-end">Used</th>'
    '<th scope="col" class="text-end">Scheduled</th><th scope="col" class="text-end">Left</th>'
    '<th scope="col">Next review</th>{actions}</tr></thead>\n  <tbody>\n  ')
_AUTH_ACTIONS = '<th scope="col"><span class="visually-hidden">Actions</span></th>'
_AUTH_ROW = (
    '\n  <tr class="authorization-row" data-number="{number}">\n'
    '    <td>{payer}{numbered}{member}</td>\n'
    '    <td>{status}</td>\n'
    '    <td>{service_code} per {unit} · LOC {level_of_care}</td>\n'
    '    <td class="text-nowrap">{start} – {end}</td>\n'
    '    <td class="text-end">{authorized}</td>\n'
    '    <td class="text-end units-used">{used}</td>\n'
    '    <td class="text-end units-scheduled">{scheduled}</td>\n'
    '    <td class="text-end units-left">{left}</td>\n'
    '    <td>{review}</td>\n'
    '    {edit}\n'
    '  </tr>\n'
    '  {note}\n  ')
_AUTH_EDIT = ('<td><a class="btn btn-outline-secondary btn-sm" href="{url}">Change<span'
              ' class="visually-hidden"> {payer} {number}</span></a></td>')
_AUTH_NOTE = ('<tr><td colspan="{span}" class="small text-body-secondary">{note}</td></tr>')
_AUTH_TAIL = "\n  </tbody>\n</table></div>\n"


def authorizations_table_html(authorizations, *, can_edit, caption, show_notes) -> SafeString:
    """What {% include "staff/authorizations/_table.html" with authorizations=... can_edit=...
    caption=... %} writes on the chart (show_notes from the chart's context)."""
    from django.template.defaultfilters import floatformat

    from iop_clinic.fixed_urls import key_url
    from iop_clinic.formatting import calendar_date

    text = template_text  # {{ value }}: localized, then escaped
    parts = [_AUTH_HEAD.format(caption=f" {text(caption)}" if caption else "",
                               actions=_AUTH_ACTIONS if can_edit else "")]
    for a in authorizations:
        number, payer = text(a.number), text(a.payer)
        parts.append(_AUTH_ROW.format(
            number=number, payer=payer,
            numbered=f" · {number}" if a.number else "",
            member=(f'<div class="small text-body-secondary">member {text(a.member_id)}</div>'
                    if a.member_id else ""),
            status=text(a.get_status_display()), service_code=text(a.service_code),
            unit=text(str(a.get_unit_display()).lower()), level_of_care=text(a.level_of_care),
            start=text(calendar_date(a.start_date)), end=text(calendar_date(a.end_date)),
            authorized=text(a.units_authorized), used=text(floatformat(a.used, "-2")),
            scheduled=text(floatformat(a.scheduled, "-2")),
            left=text(floatformat(a.remaining, "-2")),
            review=text(calendar_date(a.next_review_date) or "—"),
            edit=(_AUTH_EDIT.format(url=text(key_url("authorization_edit", a.id)), payer=payer,
                                    number=number) if can_edit else ""),
            note=(_AUTH_NOTE.format(span=10 if can_edit else 9, note=text(a.note))
                  if a.note and show_notes else "")))
    parts.append(_AUTH_TAIL)
    # Safe: every value went through template_text (localized and escaped), as the
    # template's {{ }} do; floatformat's text is safe already.
    return mark_safe("".join(parts))
