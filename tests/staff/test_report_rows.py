"""The report pages' rows and chart marks written in Python (staff/report_rows.py,
staff/charts.py) are what the templates' loops wrote, to the byte: each loop is kept here as it
was in templates/staff/reports/, rendered over the same varied rows, and compared."""
import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.test.html import parse_html
from django.utils import formats, translation

from reports.selectors import (
    AttendanceRow,
    BelowMinimum,
    BillingLine,
    BillingSummary,
    CensusTrack,
    ReasonCount,
    StaffLoadRow,
    WeekCount,
)
from staff import charts, report_rows

TODAY = dt.date(2026, 2, 18)
CODE = "5b0e4a52-0a4c-4d0b-9d59-3b1c2f6d7e8f"


def _old(loop: str, **context) -> str:
    return Template(loop).render(Context(context))


ATTENDANCE_LOOP = """{% for row in rows %}
  <tr><th scope="row">{{ row.label }}</th><td class="text-end">{{ row.held_hours }}</td><td class="text-end">{{ row.attended_hours }}</td><td class="text-end">{% if row.rate is not None %}{{ row.rate }}%{% else %}—{% endif %}</td><td class="text-end">{% if row.no_show_rate is not None %}{{ row.no_show_rate }}%{% else %}—{% endif %}</td><td class="text-end">{{ row.excused_hours }}</td><td class="text-end">{{ row.unmarked }}</td></tr>
  {% empty %}<tr><td colspan="7">No sessions held in this range.</td></tr>
  {% endfor %}"""  # noqa: E501

BELOW_LOOP = """{% for b in rows %}
  <tr><th scope="row"><a href="{% url 'participant_chart' b.participant_code %}">{{ b.participant }}</a></th><td>{{ b.track }}</td><td class="text-end">{{ b.minimum_hours }} h</td><td class="text-end">{{ b.attended_hours }} h</td><td class="text-end">{{ b.ahead_hours }} h</td><td class="text-end">{{ b.offered_hours }} h</td><td data-reason="{{ b.reason }}">{{ b.reason_label }}</td></tr>
  {% empty %}<tr><td colspan="7">Nobody.</td></tr>
  {% endfor %}"""  # noqa: E501

CENSUS_LOOP = """{% for t in rows %}
  <tr><td>{{ t.site }}</td><th scope="row">{{ t.track }} <span class="small text-body-secondary">{{ t.program }}</span></th><td class="text-end">{{ t.capacity }}</td><td class="text-end">{{ t.active }}</td><td class="text-end">{{ t.on_hold }}</td><td class="text-end">{{ t.waitlisted }}</td><td class="text-end">{{ t.offered }}</td><td class="text-end">{{ t.seats_free }}</td></tr>
  {% empty %}<tr><td colspan="8">No active tracks match.</td></tr>
  {% endfor %}"""  # noqa: E501

WEEKS_LOOP = """{% for w in rows %}<tr><th scope="row"><time datetime="{{ w.week_start|date:'Y-m-d' }}">{{ w.week_start|date }}</time></th><td class="text-end">{{ w.count }}</td></tr>{% endfor %}"""  # noqa: E501

COUNTS_LOOP = """{% for row in rows %}<tr><th scope="row">{{ row.label }}</th><td class="text-end">{{ row.count }}</td></tr>{% endfor %}"""  # noqa: E501

STAFF_LOAD_LOOP = """{% for row in rows %}<tr><th scope="row">{{ row.clinician }}</th><td class="text-end">{{ row.sessions }}</td><td class="text-end">{{ row.session_hours }}</td><td class="text-end">{{ row.participant_hours }}</td></tr>
  {% empty %}<tr><td colspan="4">No sessions held in this range.</td></tr>{% endfor %}"""  # noqa: E501

BILLING_SUMMARY_LOOP = """{% for s in rows %}<tr><th scope="row">{{ s.week_start|date }}</th><td>{{ s.service_code }}</td><td class="text-end">{{ s.participants }}</td><td class="text-end">{{ s.sessions }}</td><td class="text-end">{{ s.days }}</td><td class="text-end">{{ s.hours }}</td><td class="text-end">{{ s.units }}</td></tr>
  {% empty %}<tr><td colspan="7">Nothing billable in this range.</td></tr>{% endfor %}"""  # noqa: E501

BILLING_LINES_LOOP = """{% for line in rows %}<tr><td>{{ line.week_start|date }}</td><th scope="row">{{ line.participant }} <span class="small text-body-secondary">{{ line.record_number }}</span></th><td>{{ line.service_code }}</td><td class="text-end">{{ line.sessions }}</td><td class="text-end">{{ line.days }}</td><td class="text-end">{{ line.minutes }}</td><td class="text-end">{{ line.units }}</td></tr>
  {% empty %}<tr><td colspan="7">Nothing billable in this range.</td></tr>{% endfor %}"""  # noqa: E501

BAR_LOOP = """{% for bar in chart.bars %}
    <text class="chart-label" x="{{ chart.label_x }}" y="{{ bar.text_y }}">{{ bar.label|truncatechars:30 }}</text>
    <rect class="chart-bar" x="{{ chart.label_width }}" y="{{ bar.y }}" width="{{ bar.width }}" height="{{ chart.bar_height }}"/>
    <text class="chart-value" x="{{ bar.text_x }}" y="{{ bar.text_y }}">{{ bar.display }}</text>
    {% endfor %}"""  # noqa: E501

DOTS_LOOP = """{% for point in chart.points %}<circle class="chart-dot" cx="{{ point.x }}" cy="{{ point.y }}" r="3"/>{% endfor %}"""  # noqa: E501
TICKS_LOOP = """{% for tick in chart.ticks %}<text class="chart-tick" x="{{ tick.x }}" y="{{ chart.height|add:'-8' }}">{{ tick.label }}</text>{% endfor %}"""  # noqa: E501

# templates/staff/reports/_bar_chart.html and _line_chart.html as they were before
# staff.charts.figure_html wrote the charts.
BAR_FIGURE = """{# A horizontal bar chart (staff/charts.py): geometry as SVG attributes, colours from classes. #}
<figure class="mb-3">
  <svg class="chart" viewBox="0 0 {{ chart.width }} {{ chart.height }}" role="img" aria-labelledby="{{ id }}-title {{ id }}-desc" id="{{ id }}">
    <title id="{{ id }}-title">{{ chart.title }}</title>
    <desc id="{{ id }}-desc">{{ chart.description }}</desc>
    <line class="chart-axis" x1="{{ chart.label_width }}" y1="0" x2="{{ chart.label_width }}" y2="{{ chart.height }}"/>
    {{ chart.marks }}{# each bar's label, bar and value: BarChart.marks #}
  </svg>
  <figcaption class="small text-body-secondary">{{ chart.title }}. The table below holds the same figures.</figcaption>
</figure>
"""  # noqa: E501
LINE_FIGURE = """{# A line over weeks (staff/charts.py): geometry as SVG attributes, colours from classes. #}
<figure class="mb-3">
  <svg class="chart" viewBox="0 0 {{ chart.width }} {{ chart.height }}" role="img" aria-labelledby="{{ id }}-title {{ id }}-desc" id="{{ id }}">
    <title id="{{ id }}-title">{{ chart.title }}</title>
    <desc id="{{ id }}-desc">{{ chart.description }}</desc>
    <line class="chart-axis" x1="{{ chart.left }}" y1="{{ chart.bottom }}" x2="{{ chart.width }}" y2="{{ chart.bottom }}"/>
    <line class="chart-axis" x1="{{ chart.left }}" y1="10" x2="{{ chart.left }}" y2="{{ chart.bottom }}"/>
    <text class="chart-tick" x="4" y="24">{{ chart.top|floatformat:"-1" }}</text>
    <text class="chart-tick" x="4" y="{{ chart.bottom }}">0</text>
    {% if chart.points %}<polyline class="chart-line" points="{{ chart.polyline }}"/>{% endif %}
    {{ chart.dots }}{# LineChart.dots and .tick_labels #}
    {{ chart.tick_labels }}
  </svg>
  <figcaption class="small text-body-secondary">{{ chart.title }}. The table below holds the same figures.</figcaption>
</figure>
"""  # noqa: E501


def _attendance_rows():
    return [
        AttendanceRow("Evenings <Mon & Wed>", 960, 750, 180, 9, 1, 1, 2),
        AttendanceRow('"Quoted" track', 0, 0, 0, 0, 0, 0, 0),  # no rates: dashes
        AttendanceRow("Mañana", 61, 1, 59, 1, 3, 2, 0),
        AttendanceRow("Big", 6_000_000, 5_999_999, 0, 12_345, 678, 0, 1234),
    ]


def _below_rows():
    def below(**values):
        base = {"week_start": dt.date(2026, 2, 9), "participant_code": CODE,
                "participant": "O'Neil, <Kim>", "record_number": "R1", "track": "T1 & co",
                "minimum_hours": Decimal("6.00"), "attended_minutes": 200, "offered_minutes": 360,
                "ahead_minutes": 0, "excused_minutes": 0, "unmarked_minutes": 0, "today": TODAY}
        return BelowMinimum(**(base | values))

    return [below(), below(offered_minutes=120, minimum_hours=Decimal("7.5")),
            below(excused_minutes=200), below(unmarked_minutes=180, attended_minutes=0),
            below(week_start=dt.date(2026, 2, 16), ahead_minutes=61, minimum_hours=Decimal(9))]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("empty", [False, True])
def test_the_tables_rows_are_what_the_template_loops_wrote(empty, language):
    with translation.override(language):
        _compare_tables(empty)


def _compare_tables(empty):
    cases = [
        (report_rows.attendance_rows_html, ATTENDANCE_LOOP, _attendance_rows()),
        (report_rows.below_minimum_rows_html, BELOW_LOOP, _below_rows()),
        (report_rows.census_rows_html, CENSUS_LOOP, [
            CensusTrack(1, "North <1>", "Adult & teen", "Evenings", 12, 10, 1, 3, 1, 0),
            CensusTrack(2, "South", "IOP", '"Days"', 1000, 0, 0, 0, 0, 1000)]),
        (report_rows.weeks_rows_html, WEEKS_LOOP, [
            WeekCount(dt.date(2026, 1, 5), 0), WeekCount(dt.date(2026, 12, 28), 12_345)]),
        (report_rows.counts_rows_html, COUNTS_LOOP, [
            ReasonCount("a", "Transferred <elsewhere>", 3), ReasonCount("b", "Other", 0)]),
        (report_rows.billing_summary_rows_html, BILLING_SUMMARY_LOOP, [
            BillingSummary(dt.date(2026, 2, 9), "H0015", 12, 40, 30, 5401, 28),
            BillingSummary(dt.date(2026, 2, 9), "<90853>", 0, 0, 0, 29, 0),
            BillingSummary(dt.date(2026, 12, 28), "A&B", 1, 1, 1, 1_000_000, 1)]),
        (report_rows.billing_lines_rows_html, BILLING_LINES_LOOP, [
            BillingLine(CODE, "O'Neil, <Kim>", "R&1", dt.date(2026, 2, 9), "H0015", "day", 5, 4,
                        725, 3),
            BillingLine(CODE, "Doe, Jo", "", dt.date(2026, 2, 9), "<x>", "session", 0, 0, 0, 0),
            BillingLine(CODE, '"Q"', "R2", dt.date(2026, 1, 5), "90853", "session", 12, 3,
                        1_234_567, 12)]),
        (report_rows.staff_load_rows_html, STAFF_LOAD_LOOP, [
            StaffLoadRow(1, "Kim O'Neil", 12, 2160, 20_000), StaffLoadRow(2, "<b>", 0, 0, 1)]),
    ]
    for write, loop, rows in cases:
        rows = [] if empty else rows
        assert write(rows) == _old(loop, rows=rows), write.__name__
        assert parse_html(write(rows)) == parse_html(_old(loop, rows=rows))


def test_the_chart_marks_are_what_the_template_loops_wrote():
    bars = charts.bar_chart("Rates", [
        ("Evenings <Mon & Wed>", Decimal("78.1"), "78.1%"), ("A" * 31, 0, "0%"),
        ("Ünïcode label that is long enough to cut", 12, "12"), ("Café", None, "none"),
        ("e\u0301", 3, "3")], scale_max=100)
    assert bars.marks == _old(BAR_LOOP, chart=bars)
    line = charts.line_chart("Weeks", [(f"Nov {day}", day % 7) for day in range(1, 30)])
    assert line.dots == _old(DOTS_LOOP, chart=line)
    assert line.tick_labels == _old(TICKS_LOOP, chart=line)
    empty = charts.line_chart("Weeks", [])
    assert (empty.dots, empty.tick_labels) == ("", "")
    assert charts.bar_chart("None", []).marks == ""


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_charts_figures_are_what_their_templates_wrote(language):
    bars = charts.bar_chart("Seats <free> & taken", [
        ("North · Evenings", 3, "3 of 12"), ('"Days"', None, "none"), ("Big", 12_345, "12345")])
    weeks = [(f"Nov {day}", day % 7 * 1000) for day in range(1, 14)]
    with translation.override(language):
        for chart, template in (
                (bars, BAR_FIGURE), (charts.bar_chart("None", []), BAR_FIGURE),
                (charts.line_chart("In care <weekly>", weeks), LINE_FIGURE),
                (charts.line_chart("Half", [("Jan 5", Decimal("2.5"))]), LINE_FIGURE),
                (charts.line_chart("Big", [("Jan 5", 12_345_678), ("Jan 12", 0)]), LINE_FIGURE),
                (charts.line_chart("Empty", []), LINE_FIGURE)):
            ours = charts.figure_html(chart, "chart-x")
            assert ours == _old(template, chart=chart, id="chart-x"), chart.title


@pytest.mark.parametrize("language", ["en", "es"])
def test_numbers_are_written_as_localize_writes_them(language):
    values = [0, 7, 1234567, -3, Decimal("0.0"), Decimal("12.5"), Decimal("1234.50"),
              Decimal("-0.5"), Decimal("6.00"), 2.5, None, True]
    with translation.override(language):
        number = report_rows.Numbers()
        assert [number(value) for value in values] == [formats.localize(v) for v in values]


@pytest.mark.parametrize("language", ["en", "es"])
def test_days_are_written_as_the_date_filter_writes_them_in_each_language(language):
    days = [dt.date(2026, 1, 5), dt.date(2026, 3, 1), dt.date(2026, 12, 28)]
    with translation.override(language):
        for name in ("DATE_FORMAT", "MONTH_DAY_FORMAT"):
            text = report_rows.date_texts(name)
            assert [text(day) for day in days] == [formats.date_format(d, name) for d in days]
        weeks = [WeekCount(day, 1) for day in days]
        assert report_rows.weeks_rows_html(weeks) == _old(WEEKS_LOOP, rows=weeks)


def test_numbers_follow_a_change_of_settings():
    # Numbers asks localize once a language and process; a change of settings asks again.
    assert report_rows.Numbers()(1234567) == "1234567"
    with override_settings(USE_THOUSAND_SEPARATOR=True):
        assert report_rows.Numbers()(1234567) == formats.localize(1234567) == "1,234,567"
    assert report_rows.Numbers()(1234567) == "1234567"
