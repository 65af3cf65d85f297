"""Today's rows as plain values, so the board's template does no per-row work.

The day list, the follow-ups and the other boxes resolved URLs, time zones, labels and filter
chains per row: about a third of the page's time at a clinic of 2,000. Here each URL is
reversed once a page and completed per row, and every text is formatted once, exactly as the
template wrote it (the HTML a user sees is unchanged).

The longest boxes (the day's sessions, the follow-ups, the authorization alerts, the failed
reminders) are also written out here as their list items (`*_items`, every value escaped as the
template escaped it, each distinct text once): looping over a hundred-odd rows in the template,
a variable lookup and a filter at a time, was still a third of the page's CPU.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

from iop_clinic.formatting import clock, day as day_text
from iop_clinic.page_rows import PLACEHOLDER_CODE, EscapedOnce, RowUrl, choice_labels
from reminders.models import Reminder
from sessions.models import FollowUp, SessionStatus, TherapySession

def _chart_url() -> RowUrl:
    return RowUrl("participant_chart", placeholder=PLACEHOLDER_CODE)


@dataclass
class SessionRow:
    cancelled: bool
    time_text: str  # "6:00 PM – 9:00 PM" at the session's site
    start_text: str
    kind_label: str
    title: str
    who_text: str  # "Name · " or "Track · " or ""
    room_text: str
    facilitator_text: str
    site_name: str
    marked_count: int
    expected_count: int
    roster_url: str


def session_rows(sessions: list[dict]) -> list[SessionRow]:
    """The day's sessions (pages.day_sessions) as the list shows them."""
    if not sessions:
        return []
    roster = RowUrl("roster")
    zones: dict = {}
    clocks: dict = {}  # (zone, instant) -> "6:00 PM": a day's sessions share a few times

    def clock_at(moment, zone_name: str) -> str:
        text = clocks.get((zone_name, moment))
        if text is None:
            zone = zones.get(zone_name)
            if zone is None:
                zone = zones[zone_name] = ZoneInfo(zone_name)
            text = clocks[zone_name, moment] = clock(moment.astimezone(zone))
        return text

    kinds = choice_labels(TherapySession, "kind")
    rows = []
    for session in sessions:
        start = clock_at(session["starts_at"], session["site__time_zone"])
        if session["participant_id"] is not None:
            who = f"{session['participant__first_name']} {session['participant__last_name']} · "
        elif session["track_id"] is not None:
            who = f"{session['track__name']} · "
        else:
            who = ""
        facilitator = ""
        if session["facilitator_id"] is not None:  # as User.get_full_name()
            facilitator = (f"{session['facilitator__first_name']} "
                           f"{session['facilitator__last_name']}").strip()
        rows.append(SessionRow(
            cancelled=session["status"] == SessionStatus.CANCELLED,
            time_text=f"{start} – {clock_at(session['ends_at'], session['site__time_zone'])}",
            start_text=start,
            kind_label=kinds.get(session["kind"], session["kind"]),
            title=session["title"] or session["session_type__name"],
            who_text=who,
            room_text=session["room__name"] or "No room",
            facilitator_text=facilitator or "No facilitator",
            site_name=session["site__name"],
            marked_count=session["marked_count"], expected_count=session["expected_count"],
            roster_url=roster(session["pk"]),
        ))
    return rows


_SESSION_ITEM = """
      <li class="list-group-item d-flex flex-wrap gap-2 align-items-center justify-content-between{cancelled_class}">
        <div class="me-auto">
          <div class="fw-semibold">
            <span class="session-time">{time_text}</span>
            <span class="badge text-bg-secondary ms-1">{kind_label}</span>
            <span class="session-title">{title}</span>
            {cancelled_badge}
          </div>
          <div class="small text-body-secondary">
            {who_text}
            {room_text} · {facilitator_text}{site_text}
          </div>
        </div>
        <div class="text-nowrap small" aria-label="Marked {marked} of {expected} expected">
          <span class="fw-semibold">{marked}</span> / {expected} marked
        </div>
        {roster_link}
      </li>
"""  # noqa: E501 (the template's lines)
_ROSTER_LINK = ('<a class="btn btn-primary btn-tap" href="{}">Roster<span class="visually-hidden">'
                ' for {} at {}</span></a>')
_CANCELLED_BADGE = SafeString('<span class="badge text-bg-danger">Cancelled</span>')


def _escaper():
    """conditional_escape, done once per distinct text of a page's list: a day's sessions share
    a few times, kinds, rooms, facilitators and tracks. Plain `str` texts through
    `EscapedOnce` (html.escape, conditional_escape's result without its lazy checks); others
    (lazy or safe strings) by conditional_escape, each once too."""
    plain = EscapedOnce()
    done: dict = {}

    def escaped(text) -> str:
        if type(text) is str:
            return plain[text]
        key = (type(text), text)
        out = done.get(key)
        if out is None:
            out = done[key] = conditional_escape(text)
        return out
    return escaped


def session_items(rows: list[SessionRow], *, name_sites: bool = False) -> SafeString:
    """The day list's items, as board.html's loop wrote them, each naming its site when
    `name_sites` (someone working at several sites sees their sessions side by side).

    What format_html_join did (every value conditionally escaped, then formatted), with each
    distinct text escaped once and no format_html per item: about half the list's time."""
    e = _escaper()
    items = []
    for row in rows:
        title, start = e(row.title), e(row.start_text)
        items.append(_SESSION_ITEM.format(
            cancelled_class=" session-cancelled" if row.cancelled else "",
            time_text=e(row.time_text), kind_label=e(row.kind_label), title=title,
            cancelled_badge=_CANCELLED_BADGE if row.cancelled else "",
            who_text=e(row.who_text), room_text=e(row.room_text),
            facilitator_text=e(row.facilitator_text),
            site_text=f" · {e(row.site_name)}" if name_sites else "",
            marked=row.marked_count, expected=row.expected_count,
            roster_link="" if row.cancelled else _ROSTER_LINK.format(e(row.roster_url), title,
                                                                      start),
        ))
    return SafeString("".join(items))


@dataclass
class FollowUpLine:
    url: str
    kind_label: str
    day_text: str  # "week of Mon, Nov 30" for a short week, the missed day otherwise


@dataclass
class FollowUpPerson:
    name: str
    followups: list[FollowUpLine] = field(default_factory=list)


def followup_rows(people) -> list[FollowUpPerson]:
    """Open follow-ups by person (pages.open_followups_by_person) as the box shows them."""
    if not people:
        return []
    detail = RowUrl("followup_detail")
    kinds = choice_labels(FollowUp, "kind")
    days: dict = {}
    rows = []
    for person in people:
        row = FollowUpPerson(name=person.participant_name)
        for followup in person.followups:
            about = followup["about_date"]
            if about not in days:
                days[about] = day_text(about) or "—"
            prefix = "week of " if followup["week_start"] and not followup["missed_on"] else ""
            row.followups.append(FollowUpLine(
                url=detail(followup["pk"]), kind_label=kinds.get(followup["kind"], followup["kind"]),
                day_text=f"{prefix}{days[about]}"))
        rows.append(row)
    return rows


_PERSON_ITEM = """
        <li class="list-group-item followup-person">
          <span class="fw-semibold">{}</span>
          <ul class="list-unstyled small mb-0">{}
          </ul>
        </li>
"""
_FOLLOWUP_LINE = """
            <li><a href="{}">{}</a> · <span class="followup-day">{}</span></li>"""


def followup_items(people: list[FollowUpPerson]) -> SafeString:
    """The follow-up box's items (a person and their open follow-ups), as board.html wrote them
    (as format_html_join did, each distinct text escaped once)."""
    e = _escaper()
    return SafeString("".join(_PERSON_ITEM.format(e(person.name), "".join(
        _FOLLOWUP_LINE.format(e(line.url), e(line.kind_label), e(line.day_text))
        for line in person.followups)) for person in people))


@dataclass
class AtRiskRow:
    chart_url: str
    name: str
    attended_hours: object  # Decimals, localized by the template as before
    scheduled_hours_ahead: object
    minimum_hours: object
    shortfall_hours: object


def at_risk_rows(at_risk) -> list[AtRiskRow]:
    """Rows of `ledger.people_at_risk` (code, name and hours read in its one statement)."""
    if not at_risk:
        return []  # no URL to reverse (a box is often empty)
    chart = _chart_url()
    return [AtRiskRow(chart_url=chart(row.code), name=row.full_name,
                      attended_hours=row.attended_hours,
                      scheduled_hours_ahead=row.scheduled_hours_ahead,
                      minimum_hours=row.minimum_hours, shortfall_hours=row.shortfall_hours)
            for row in at_risk]


@dataclass
class AlertRow:
    kind: str
    chart_url: str
    participant: str
    message: str


def alert_rows(alerts) -> list[AlertRow]:
    """The authorization alerts shown (the first few of authorization_alerts)."""
    if not alerts:
        return []
    chart = _chart_url()
    return [AlertRow(kind=alert.kind, chart_url=chart(alert.participant_code),
                     participant=alert.participant, message=alert.message)
            for alert in alerts]


_ALERT_ITEM = """
  <li class="list-group-item authorization-alert" data-kind="{}"><a href="{}">{}</a>
    <div class="text-body-secondary">{}</div></li>
"""


def alert_items(rows: list[AlertRow]) -> SafeString:
    """The authorization alerts' items (staff/authorizations/_alerts.html's list), as
    format_html_join wrote them, each distinct text escaped once."""
    e = _escaper()
    return SafeString("".join(_ALERT_ITEM.format(
        e(row.kind), e(row.chart_url), e(row.participant), e(row.message)) for row in rows))


@dataclass
class FailedReminderRow:
    chart_url: str
    name: str
    text: str  # "Text message for Mon, Nov 30 · Provider refused (detail)"


def failed_reminder_rows(reminders) -> list[FailedReminderRow]:
    """Failed reminders (reminders.selectors.failed_reminders) as the box shows them."""
    if not reminders:
        return []
    chart = _chart_url()
    channels = reasons = None
    days: dict = {}  # the last week's failures share a few visit days
    rows = []
    for reminder in reminders:
        if channels is None:
            channels = choice_labels(Reminder, "channel")
            reasons = choice_labels(Reminder, "reason")
        if reminder.visit_date not in days:
            days[reminder.visit_date] = day_text(reminder.visit_date)
        text = (f"{channels.get(reminder.channel, reminder.channel)} for "
                f"{days[reminder.visit_date]} · {reasons.get(reminder.reason, reminder.reason)}")
        if reminder.detail:
            text += f" ({reminder.detail})"
        rows.append(FailedReminderRow(chart_url=chart(reminder.participant_code),
                                      name=reminder.participant_name, text=text))
    return rows


_FAILED_REMINDER_ITEM = """
        <li class="list-group-item failed-reminder-row"><a href="{}">{}</a>
          <div class="text-body-secondary">{}</div></li>
"""


def failed_reminder_items(rows: list[FailedReminderRow]) -> SafeString:
    """The failed-reminder box's items, as board.html wrote them (as format_html_join did,
    each distinct text escaped once)."""
    e = _escaper()
    return SafeString("".join(_FAILED_REMINDER_ITEM.format(
        e(row.chart_url), e(row.name), e(row.text)) for row in rows))


@dataclass
class OfferRow:
    chart_url: str
    name: str
    track_url: str
    track_name: str
    offer_expires_at: object  # a datetime: the template says how long is left
    admit_url: str
    pass_url: str


def offer_rows(offers: list[dict]) -> list[OfferRow]:
    """Seats offered and not answered yet (care.offered_seats) as the box shows them."""
    if not offers:
        return []  # four URLs not reversed: the box is empty most days
    chart, track = _chart_url(), RowUrl("track_detail")
    admit, decline = RowUrl("waitlist_admit"), RowUrl("waitlist_pass")
    return [OfferRow(chart_url=chart(offer["participant__code"]),
                     name=f"{offer['participant__first_name']} {offer['participant__last_name']}",
                     track_url=track(offer["track_id"]), track_name=offer["track__name"],
                     offer_expires_at=offer["offer_expires_at"],
                     admit_url=admit(offer["pk"]), pass_url=decline(offer["pk"]))
            for offer in offers]


@dataclass
class ExcuseRow:
    review_url: str  # back to Today after the review
    name: str
    day_text: str


def excuse_rows(excuses: list[dict]) -> list[ExcuseRow]:
    """Excused-absence requests waiting for review (care.pending_excuses) as the box shows them."""
    if not excuses:
        return []
    review = RowUrl("excuse_review", placeholder=PLACEHOLDER_CODE)
    back = f"?next={reverse('home')}"
    return [ExcuseRow(review_url=review(excuse["code"]) + back,
                      name=(f"{excuse['attendance__participant__first_name']} "
                            f"{excuse['attendance__participant__last_name']}"),
                      day_text=day_text(excuse["attendance__session_date"]))
            for excuse in excuses]
