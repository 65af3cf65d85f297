"""`{% chart_figure chart "id" %}`: a report's chart as its <figure>, written in Python
(staff.charts.figure_html), where `{% include "staff/reports/_bar_chart.html" with ... %}`
wrote it through the template engine."""
from django import template

from staff.charts import figure_html

register = template.Library()


@register.simple_tag
def chart_figure(chart, chart_id: str):
    return figure_html(chart, chart_id)
