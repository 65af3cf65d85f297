"""The progress page's two cards (this week's hours, the program overall) and the home page's
hours card as strings, so the pages' templates do no work per figure.

Byte for byte what progress.html's {% translate %}, {% blocktranslate %}, {% if %} and variable
tags wrote (tests/portal/test_progress_card.py renders the old template beside it): a label as
{% translate %} wrote a literal's translation (trusted, not escaped), a sentence translated with
only its values escaped as {% blocktranslate %} did, numbers localized as a template variable is. About twenty tags cost
~0.3 ms of every view of the page; the words are translated and escaped once a process per
language, the numbers and dates formatted through portal_words' kept texts.
"""
from __future__ import annotations

from html import escape

from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from iop_clinic.fixed_urls import reverse_once

from .selectors import Progress
from .templatetags.portal_words import day_date, hours

# progress.html's text between its tags, in order, with a slot for each value.
_HOURS_CARD = """
<section class="card portal-card mb-3" aria-labelledby="hours">
  <div class="card-body">
    <h2 class="h5" id="hours">{hours_this_week}</h2>
    <p class="mb-1">{week_hours}</p>
    <div class="progress mb-2" role="progressbar" aria-label="{attended_label}" \
aria-valuenow="{attended}" aria-valuemin="0" aria-valuemax="{minimum}">
      <div class="progress-bar portal-bar-{bar_step}"></div>
    </div>
    {note}
  </div>
</section>
<section class="card portal-card mb-3" aria-labelledby="overall">
  <div class="card-body">
    <h2 class="h5" id="overall">{overall}</h2>
    <dl class="portal-stats mb-0">
      <div><dt>{attendance}</dt><dd>{percent}</dd></div>
      <div><dt>{weeks_completed}</dt><dd>{done_of_total}</dd></div>
      <div><dt>{weeks_remaining}</dt><dd>{remaining}</dd></div>
      <div><dt>{finish_label}</dt><dd>{finish}</dd></div>
    </dl>
    {cannot_complete}
  </div>
</section>
"""
# home.html's card, between {% if progress and not state.is_discharged %} and {% endif %}.
_HOME_CARD = """
<section class="card portal-card mb-3 no-print" aria-labelledby="week-hours">
  <div class="card-body">
    <h2 class="h5 card-title" id="week-hours">{this_weeks_hours}</h2>
    <p class="mb-1">{hours_of_minimum}</p>
    <div class="progress mb-2" role="progressbar" aria-label="{attended_label}" \
aria-valuenow="{attended}" aria-valuemin="0" aria-valuemax="{minimum}">
      <div class="progress-bar portal-bar-{bar_step}"></div>
    </div>
    <a href="{progress_url}">{see_my_progress}</a>
  </div>
</section>
"""
_NOTE = '\n      <p class="mb-0{}">{}</p>\n    '
_CANNOT_COMPLETE = '\n    <p class="mt-2 mb-0 portal-warning cannot-complete">{}</p>\n    '
_CLINIC_SHORT = "Clinic offered less than the minimum"  # the ledger's label, as the page compared


class _Labels:
    """progress.html's words in one language, as translated (the templates' literals and
    their translations are trusted; the sentences' values are escaped when filled)."""

    def __init__(self) -> None:
        self.hours_this_week = gettext("Hours this week")
        self.week_hours = gettext(
            '<span class="portal-big">%(attended)s</span> of %(minimum)s hours '
            "(week of %(week)s)")
        self.attended_label = gettext("Hours attended this week")
        self.reached = gettext("You have reached this week's hours. Well done.")
        self.clinic_short = gettext(
            "The clinic offers fewer hours than the minimum this week; this does not count "
            "against you.")
        self.heads_up = gettext(
            "<strong>Heads up:</strong> even with the %(hours)s hours still scheduled, you "
            "would miss this week's minimum. Please call us.")
        self.more_scheduled = gettext("%(hours)s more hours are scheduled this week.")
        self.overall = gettext("Overall")
        self.attendance = gettext("Attendance")
        self.weeks_completed = gettext("Weeks completed")
        self.done_of_total = gettext("%(done)s of %(total)s")
        self.weeks_remaining = gettext("Weeks remaining")
        self.completed_on = gettext("Completed on")
        self.expected_to_finish = gettext("Expected to finish")
        self.this_weeks_hours = gettext("This week's hours")
        self.hours_of_minimum = gettext(
            '<span class="portal-big">%(attended)s</span> of %(minimum)s hours')
        self.see_my_progress = gettext("See my progress")
        self.cannot_complete = gettext(
            "The weeks below the minimum can no longer be made up before the program ends on "
            "%(end)s. Please talk to your clinician.")


_labels: dict[str | None, _Labels] = {}


def _value(value) -> str:
    """A template variable's text: localized, then escaped."""
    return escape(str(localize(value)))


def _words() -> _Labels:
    language = get_language()
    words = _labels.get(language)
    if words is None:
        words = _labels[language] = _Labels()
    return words


def home_card_html(progress: Progress) -> SafeString:
    """home.html's "This week's hours" card for `progress`, in the active language."""
    words = _words()
    # Safe: the labels are the template's trusted literals' translations, every value escaped.
    return mark_safe(_HOME_CARD.format(
        this_weeks_hours=words.this_weeks_hours,
        hours_of_minimum=words.hours_of_minimum % {
            "attended": hours(progress.attended_hours, 1),
            "minimum": hours(progress.minimum_hours, "-1")},
        attended_label=words.attended_label, attended=_value(progress.attended_hours),
        minimum=_value(progress.minimum_hours), bar_step=_value(progress.bar_step),
        progress_url=escape(reverse_once("portal-progress")),
        see_my_progress=words.see_my_progress))


def progress_card_html(progress: Progress, *, is_discharged: bool) -> SafeString:
    """The two cards of progress.html for `progress`, in the active language."""
    words = _words()
    still = hours(progress.still_scheduled_hours, 1)
    if is_discharged:
        note = "\n    "
    elif not progress.below_minimum:
        note = _NOTE.format("", words.reached)
    elif progress.short_reason == _CLINIC_SHORT:
        note = _NOTE.format(" clinic-short", words.clinic_short)
    elif progress.at_risk:
        note = _NOTE.format(" portal-warning", words.heads_up % {"hours": still})
    else:
        note = _NOTE.format("", words.more_scheduled % {"hours": still})
    finish = escape(day_date(progress.projected_completion))
    percent = progress.attendance_percent
    # Safe: the labels are the template's trusted literals' translations, every value escaped
    # (the |hours texts are SafeStrings of digits and separators).
    return mark_safe(_HOURS_CARD.format(
        hours_this_week=words.hours_this_week,
        week_hours=words.week_hours % {
            "attended": hours(progress.attended_hours, 1),
            "minimum": hours(progress.minimum_hours, "-1"),
            "week": escape(day_date(progress.week_start, "MONTH_DAY_FORMAT"))},
        attended_label=words.attended_label, attended=_value(progress.attended_hours),
        minimum=_value(progress.minimum_hours), bar_step=_value(progress.bar_step), note=note,
        overall=words.overall, attendance=words.attendance,
        percent="—" if percent is None else f"{_value(percent)}%",
        weeks_completed=words.weeks_completed,
        done_of_total=words.done_of_total % {"done": _value(progress.weeks_completed),
                                             "total": _value(progress.total_weeks)},
        weeks_remaining=words.weeks_remaining, remaining=_value(progress.weeks_remaining),
        finish_label=words.completed_on if is_discharged else words.expected_to_finish,
        finish=finish,
        cannot_complete=_CANNOT_COMPLETE.format(words.cannot_complete % {"end": finish})
        if progress.cannot_complete_by_end and not is_discharged else ""))
