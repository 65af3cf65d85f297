"""The progress page's cards and the home page's hours card written in Python (portal/progress_card.py) read, byte for byte, as
progress.html's tags wrote them, in English and Spanish, for every branch the cards tell apart."""
import datetime as dt
import itertools
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template import engines
from django.utils import translation

from portal import progress_card
from portal.selectors import Progress

# progress.html's cards as they were, between {% else %} and {% endif %}.
_OLD = """{% load portal_words %}
<section class="card portal-card mb-3" aria-labelledby="hours">
  <div class="card-body">
    <h2 class="h5" id="hours">{% translate "Hours this week" %}</h2>
    <p class="mb-1">{% blocktranslate trimmed with attended=progress.attended_hours|hours:1 minimum=progress.minimum_hours|hours:"-1" week=progress.week_start|day_date:"MONTH_DAY_FORMAT" %}<span class="portal-big">{{ attended }}</span> of {{ minimum }} hours (week of {{ week }}){% endblocktranslate %}</p>
    <div class="progress mb-2" role="progressbar" aria-label="{% translate 'Hours attended this week' %}" aria-valuenow="{{ progress.attended_hours }}" aria-valuemin="0" aria-valuemax="{{ progress.minimum_hours }}">
      <div class="progress-bar portal-bar-{{ progress.bar_step }}"></div>
    </div>
    {% if state.is_discharged %}
    {% elif not progress.below_minimum %}
      <p class="mb-0">{% translate "You have reached this week's hours. Well done." %}</p>
    {% elif progress.short_reason == "Clinic offered less than the minimum" %}
      <p class="mb-0 clinic-short">{% translate "The clinic offers fewer hours than the minimum this week; this does not count against you." %}</p>
    {% elif progress.at_risk %}
      <p class="mb-0 portal-warning">{% blocktranslate trimmed with hours=progress.still_scheduled_hours|hours:1 %}<strong>Heads up:</strong> even with the {{ hours }} hours still scheduled, you would miss this week's minimum. Please call us.{% endblocktranslate %}</p>
    {% else %}
      <p class="mb-0">{% blocktranslate trimmed with hours=progress.still_scheduled_hours|hours:1 %}{{ hours }} more hours are scheduled this week.{% endblocktranslate %}</p>
    {% endif %}
  </div>
</section>
<section class="card portal-card mb-3" aria-labelledby="overall">
  <div class="card-body">
    <h2 class="h5" id="overall">{% translate "Overall" %}</h2>
    <dl class="portal-stats mb-0">
      <div><dt>{% translate "Attendance" %}</dt><dd>{% if progress.attendance_percent is None %}—{% else %}{{ progress.attendance_percent }}%{% endif %}</dd></div>
      <div><dt>{% translate "Weeks completed" %}</dt><dd>{% blocktranslate trimmed with done=progress.weeks_completed total=progress.total_weeks %}{{ done }} of {{ total }}{% endblocktranslate %}</dd></div>
      <div><dt>{% translate "Weeks remaining" %}</dt><dd>{{ progress.weeks_remaining }}</dd></div>
      <div><dt>{% if state.is_discharged %}{% translate "Completed on" %}{% else %}{% translate "Expected to finish" %}{% endif %}</dt><dd>{{ progress.projected_completion|day_date }}</dd></div>
    </dl>
    {% if progress.cannot_complete_by_end and not state.is_discharged %}
    <p class="mt-2 mb-0 portal-warning cannot-complete">{% blocktranslate trimmed with end=progress.projected_completion|day_date %}The weeks below the minimum can no longer be made up before the program ends on {{ end }}. Please talk to your clinician.{% endblocktranslate %}</p>
    {% endif %}
  </div>
</section>
"""


# home.html's card as it was, between {% if progress and not state.is_discharged %} and
# {% endif %}.
_OLD_HOME = """{% load fixed_urls portal_words %}
<section class="card portal-card mb-3 no-print" aria-labelledby="week-hours">
  <div class="card-body">
    <h2 class="h5 card-title" id="week-hours">{% translate "This week's hours" %}</h2>
    <p class="mb-1">{% blocktranslate trimmed with attended=progress.attended_hours|hours:1 minimum=progress.minimum_hours|hours:"-1" %}<span class="portal-big">{{ attended }}</span> of {{ minimum }} hours{% endblocktranslate %}</p>
    <div class="progress mb-2" role="progressbar" aria-label="{% translate 'Hours attended this week' %}" aria-valuenow="{{ progress.attended_hours }}" aria-valuemin="0" aria-valuemax="{{ progress.minimum_hours }}">
      <div class="progress-bar portal-bar-{{ progress.bar_step }}"></div>
    </div>
    <a href="{% fixed_url 'portal-progress' %}">{% translate "See my progress" %}</a>
  </div>
</section>
"""


def _progresses():
    combos = itertools.product(
        [Decimal("0.00"), Decimal("7.50"), Decimal("12.25")],  # attended
        [True, False],  # below the minimum
        ["", "Clinic offered less than the minimum", "Missed time"],
        [True, False],  # at risk
        [None, 0, 87],  # attendance %
        [True, False],  # cannot complete by the end
        [None, dt.date(2027, 3, 1)])
    for attended, below, reason, at_risk, percent, cannot, projected in combos:
        yield Progress(
            week_start=dt.date(2026, 11, 30), attended_hours=attended,
            minimum_hours=Decimal("9.00"), still_scheduled_hours=Decimal("3.25"),
            below_minimum=below, at_risk=at_risk, attendance_percent=percent,
            weeks_completed=5, weeks_remaining=7, total_weeks=12,
            projected_completion=projected, short_reason=reason,
            cannot_complete_by_end=cannot)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("discharged", [False, True])
def test_it_writes_what_the_progress_template_wrote(language, discharged):
    old = engines["django"].from_string(_OLD)
    progress_card._labels.clear()
    with translation.override(language):
        for progress in _progresses():
            state = SimpleNamespace(is_discharged=discharged)
            assert progress_card.progress_card_html(progress, is_discharged=discharged) == (
                old.render({"progress": progress, "state": state})), progress


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_writes_what_the_home_templates_hours_card_wrote(language):
    old = engines["django"].from_string(_OLD_HOME)
    progress_card._labels.clear()
    with translation.override(language):
        for progress in _progresses():
            assert progress_card.home_card_html(progress) == old.render(
                {"progress": progress}), progress
