"""Server-rendered SVG charts for the report pages: geometry here, markup in templates (the
repeated marks, a bar's three elements or a week's dot, written here: a template loop over them
was a chart's main cost).

Why our own: the charts are a handful of bars and lines. Rendering them as SVG in the page needs
no script and no style attribute (sizes are SVG geometry attributes, colours are classes in
static/css/reports.css), so they work under the strict Content-Security-Policy, print as
vectors, and carry a <title>/<desc> text alternative next to a table with the same figures.
pygal, the well-kept SVG package, embeds <style> and <script> blocks in its SVG and points
tooltips at a script on a CDN by default; Chart.js and friends draw on a canvas with JavaScript.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import html

from django.template.defaultfilters import floatformat
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

WIDTH = 640
LABEL_WIDTH = 200
BAR_HEIGHT = 22
GAP = 8
PLOT_WIDTH = WIDTH - LABEL_WIDTH - 70


def _escape(value) -> str:
    """What format_html does to each value (conditional_escape), without the lazy-string
    wrapper it goes through for every value: most of a bar chart's marks' time."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def _svg_number(value: float) -> str:
    """A coordinate as SVG attribute text, written once here: the templates' number formatting
    of every coordinate was half of a chart's rendering time. str() is what that formatting
    gave for the staff pages' English, and SVG wants its decimal point whatever the language."""
    return str(value)


@dataclass
class Bar:
    """One bar; its geometry is SVG attribute text (see _svg_number)."""

    label: str
    value: float
    display: str
    y: str = "0"
    width: str = "0"
    text_x: str = "0"
    text_y: str = "0"

    @property
    def short_label(self) -> str:
        # What |truncatechars:30 wrote, once a bar rather than through a template filter.
        # Truncator normalizes (NFC) and looks up its translated ellipsis even for a label that
        # fits, 40 µs a bar; a short ASCII label is its own normal form and is never cut.
        if len(self.label) <= 30 and self.label.isascii():
            return self.label
        return Truncator(self.label).chars(30)


@dataclass
class BarChart:
    """Horizontal bars, one per label, scaled to the largest value (or to `scale_max`)."""

    title: str
    bars: list[Bar]
    height: int
    label_width: int = LABEL_WIDTH
    width: int = WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def label_x(self) -> int:
        """Where the labels end, right-aligned left of the axis."""
        return self.label_width - 6

    @property
    def description(self) -> str:
        if not self.bars:
            return "No figures in this range."
        return "; ".join(f"{bar.label}: {bar.display}" for bar in self.bars) + "."

    @property
    def marks(self) -> SafeString:
        """Each bar's label, bar and value, as templates/staff/reports/_bar_chart.html's loop
        wrote them (its blank lines included), escaped by format_html as autoescaping did."""
        # The chart's own numbers are escaped once, not once a bar; a bar's geometry is
        # _svg_number's digits (nothing to escape); its label and value are escaped.
        label_x, label_width, bar_height = map(_escape, (
            self.label_x, self.label_width, self.bar_height))
        return mark_safe("".join([_BAR.format(
            label_x, bar.text_y, _escape(bar.short_label), label_width, bar.y, bar.width,
            bar_height, bar.text_x, bar.text_y, _escape(bar.display)) for bar in self.bars]))


_BAR = ('\n    <text class="chart-label" x="{}" y="{}">{}</text>'
        '\n    <rect class="chart-bar" x="{}" y="{}" width="{}" height="{}"/>'
        '\n    <text class="chart-value" x="{}" y="{}">{}</text>\n    ')


def bar_chart(title: str, items: list[tuple[str, float | Decimal | None, str]],
              *, scale_max: float | None = None) -> BarChart:
    """`items`: (label, value, what to print). A value of None draws no bar but keeps the row."""
    values = [float(value or 0) for _label, value, _display in items]
    top = scale_max or max(values, default=0) or 1
    bars = []
    for index, ((label, _value, display), value) in enumerate(zip(items, values, strict=True)):
        y = GAP + index * (BAR_HEIGHT + GAP)
        width = round(PLOT_WIDTH * max(value, 0) / top, 1)
        bars.append(Bar(label=label, value=value, display=display, y=_svg_number(y),
                        width=_svg_number(width), text_x=_svg_number(LABEL_WIDTH + width + 6),
                        text_y=_svg_number(y + BAR_HEIGHT * 0.7)))
    return BarChart(title=title, bars=bars, height=GAP + len(bars) * (BAR_HEIGHT + GAP) + GAP)


@dataclass
class Point:
    """One week's value; x and y are SVG attribute text (see _svg_number)."""

    label: str
    value: float
    x: str
    y: str


@dataclass
class LineChart:
    """A line over weeks: values from zero to the largest, labelled at a few ticks."""

    title: str
    points: list[Point]
    ticks: list[Point] = field(default_factory=list)
    width: int = WIDTH
    height: int = 220
    top: float = 0
    left: int = 50
    bottom: int = 190

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)

    @property
    def dots(self) -> SafeString:
        """A dot a week, as templates/staff/reports/_line_chart.html's loop wrote them."""
        # x and y are _svg_number's digits: nothing to escape.
        return mark_safe("".join([_DOT.format(p.x, p.y) for p in self.points]))

    @property
    def tick_labels(self) -> SafeString:
        """The weeks labelled under the axis, as the template's loop wrote them."""
        y = _escape(self.height - 8)
        return mark_safe("".join([_TICK.format(tick.x, y, _escape(tick.label))
                                  for tick in self.ticks]))

    @property
    def description(self) -> str:
        if not self.points:
            return "No figures in this range."
        low = min(self.points, key=lambda p: p.value)
        high = max(self.points, key=lambda p: p.value)
        return (f"{len(self.points)} weeks from {self.points[0].label} to "
                f"{self.points[-1].label}: lowest {low.value:g} (week of {low.label}), highest "
                f"{high.value:g} (week of {high.label}), last {self.points[-1].value:g}.")


# A week's dot and a tick's label, written as format_html_join wrote them (each value escaped
# as format_html escapes it, see _escape): its lazy-string wrapper per value was most of a line
# chart's time.
_DOT = '<circle class="chart-dot" cx="{}" cy="{}" r="3"/>'
_TICK = '<text class="chart-tick" x="{}" y="{}">{}</text>'


def line_chart(title: str, items: list[tuple[str, float]]) -> LineChart:
    chart = LineChart(title=title, points=[])
    top = max((float(v) for _label, v in items), default=0) or 1
    chart.top = top
    span = chart.width - chart.left - 20
    step = span / max(len(items) - 1, 1)
    plot = chart.bottom - 20
    for index, (label, value) in enumerate(items):
        chart.points.append(Point(
            label=label, value=float(value), x=_svg_number(round(chart.left + index * step, 1)),
            y=_svg_number(round(chart.bottom - plot * float(value) / top, 1))))
    every = max(len(chart.points) // 6, 1)
    chart.ticks = chart.points[::every]
    return chart


# --- A chart as its <figure> ---------------------------------------------------------------

# templates/staff/reports/_bar_chart.html and _line_chart.html as they wrote a chart, the blank
# line their opening comment left and the file's last newline included: an {% include %} of
# them, about twenty variables and a filter resolved by the template engine, cost more than the
# chart's own marks. Every value is escaped as autoescaping did (_escape), every number written
# as the template wrote it (report_rows.Numbers).
_BAR_FIGURE = (
    '\n<figure class="mb-3">\n  <svg class="chart" viewBox="0 0 {width} {height}" role="img" '
    'aria-labelledby="{id}-title {id}-desc" id="{id}">\n'
    '    <title id="{id}-title">{title}</title>\n'
    '    <desc id="{id}-desc">{description}</desc>\n'
    '    <line class="chart-axis" x1="{label_width}" y1="0" x2="{label_width}" y2="{height}"/>\n'
    '    {marks}\n  </svg>\n'
    '  <figcaption class="small text-body-secondary">{title}. The table below holds the same '
    'figures.</figcaption>\n</figure>\n')
_LINE_FIGURE = (
    '\n<figure class="mb-3">\n  <svg class="chart" viewBox="0 0 {width} {height}" role="img" '
    'aria-labelledby="{id}-title {id}-desc" id="{id}">\n'
    '    <title id="{id}-title">{title}</title>\n'
    '    <desc id="{id}-desc">{description}</desc>\n'
    '    <line class="chart-axis" x1="{left}" y1="{bottom}" x2="{width}" y2="{bottom}"/>\n'
    '    <line class="chart-axis" x1="{left}" y1="10" x2="{left}" y2="{bottom}"/>\n'
    '    <text class="chart-tick" x="4" y="24">{top}</text>\n'
    '    <text class="chart-tick" x="4" y="{bottom}">0</text>\n'
    '    {polyline}\n    {dots}\n    {ticks}\n  </svg>\n'
    '  <figcaption class="small text-body-secondary">{title}. The table below holds the same '
    'figures.</figcaption>\n</figure>\n')


def figure_html(chart: BarChart | LineChart, chart_id: str) -> SafeString:
    """The chart as templates/staff/reports/_bar_chart.html or _line_chart.html wrote it
    (`{% include ... with chart=chart id=chart_id %}`), to the byte."""
    from staff.report_rows import Numbers  # staff.report_rows' rows never draw charts

    number = Numbers()
    if isinstance(chart, BarChart):
        return mark_safe(_BAR_FIGURE.format(
            id=_escape(chart_id), width=_escape(number(chart.width)),
            height=_escape(number(chart.height)), title=_escape(chart.title),
            description=_escape(chart.description),
            label_width=_escape(number(chart.label_width)), marks=chart.marks))
    polyline = (f'<polyline class="chart-line" points="{_escape(chart.polyline)}"/>'
                if chart.points else "")
    return mark_safe(_LINE_FIGURE.format(
        id=_escape(chart_id), width=_escape(number(chart.width)),
        height=_escape(number(chart.height)), title=_escape(chart.title),
        description=_escape(chart.description), left=_escape(number(chart.left)),
        bottom=_escape(number(chart.bottom)), top=_top_text(chart.top, number),
        polyline=polyline, dots=chart.dots, ticks=chart.tick_labels))


def _top_text(top: float, number) -> str:
    """`{{ chart.top|floatformat:"-1" }}`: a whole number (a count, the usual top) as its
    digits, which is what floatformat writes for one where numbers are written plainly; any
    other value through floatformat itself."""
    if number._plain and float(top).is_integer():
        return str(int(top))
    return _escape(floatformat(top, "-1"))
