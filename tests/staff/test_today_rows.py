"""Today's list items written in Python equal what board.html's loops rendered.

The loops below are board.html's as they were before the items moved to staff/today_rows.py;
the rows hold the texts a page can meet, markup characters and quotes included, so a value
that is not escaped (or escaped twice) shows as a difference.
"""
import datetime as dt

import pytest
from django.template import Context, Template
from django.test.html import parse_html
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy

from sessions.models import FollowUp

from staff.today_rows import (
    AlertRow,
    FailedReminderRow,
    FollowUpLine,
    FollowUpPerson,
    SessionRow,
    _escaper,
    alert_items,
    failed_reminder_items,
    followup_items,
    session_items,
)
from tests import factories

from .conftest import MONDAY

TRICKY = ["O'Brien & <Sons>", 'Say "hi"', "Zoë · café", "plain"]

SESSION_LOOP = """
      {% for session in session_rows %}
      <li class="list-group-item d-flex flex-wrap gap-2 align-items-center justify-content-between{% if session.cancelled %} session-cancelled{% endif %}">
        <div class="me-auto">
          <div class="fw-semibold">
            <span class="session-time">{{ session.time_text }}</span>
            <span class="badge text-bg-secondary ms-1">{{ session.kind_label }}</span>
            <span class="session-title">{{ session.title }}</span>
            {% if session.cancelled %}<span class="badge text-bg-danger">Cancelled</span>{% endif %}
          </div>
          <div class="small text-body-secondary">
            {{ session.who_text }}
            {{ session.room_text }} · {{ session.facilitator_text }}
            {% if sessions_sites_many %}· {{ session.site_name }}{% endif %}
          </div>
        </div>
        <div class="text-nowrap small" aria-label="Marked {{ session.marked_count }} of {{ session.expected_count }} expected">
          <span class="fw-semibold">{{ session.marked_count }}</span> / {{ session.expected_count }} marked
        </div>
        {% if not session.cancelled %}
        <a class="btn btn-primary btn-tap" href="{{ session.roster_url }}">Roster<span class="visually-hidden"> for {{ session.title }} at {{ session.start_text }}</span></a>
        {% endif %}
      </li>
      {% endfor %}
"""  # noqa: E501
FOLLOWUP_LOOP = """
        {% for person in followup_people %}
        <li class="list-group-item followup-person">
          <span class="fw-semibold">{{ person.name }}</span>
          <ul class="list-unstyled small mb-0">
            {% for followup in person.followups %}
            <li><a href="{{ followup.url }}">{{ followup.kind_label }}</a> · <span class="followup-day">{{ followup.day_text }}</span></li>
            {% endfor %}
          </ul>
        </li>
        {% endfor %}
"""  # noqa: E501
ALERT_LOOP = """
  {% for alert in authorization_alerts %}
  <li class="list-group-item authorization-alert" data-kind="{{ alert.kind }}"><a href="{{ alert.chart_url }}">{{ alert.participant }}</a>
    <div class="text-body-secondary">{{ alert.message }}</div></li>
  {% endfor %}
"""  # noqa: E501
FAILED_LOOP = """
        {% for reminder in failed_reminders %}
        <li class="list-group-item failed-reminder-row"><a href="{{ reminder.chart_url }}">{{ reminder.name }}</a>
          <div class="text-body-secondary">{{ reminder.text }}</div></li>
        {% endfor %}
"""  # noqa: E501


def rendered(loop: str, **context) -> object:
    return parse_html(Template(loop).render(Context(context)))


def test_it_writes_the_days_sessions_as_the_template_did():
    rows = [
        SessionRow(cancelled=number % 3 == 0, time_text=f"{number}:00 PM – 9:00 PM",
                   start_text=f"{number}:00 PM", kind_label=text, title=TRICKY[number - 1],
                   who_text="" if number == 2 else f"{text} · ", room_text=text,
                   facilitator_text="No facilitator", site_name=text,
                   marked_count=number, expected_count=12,
                   roster_url=f"/sessions/{number}/roster/?a=1&b=<2>")
        for number, text in enumerate(TRICKY, start=1)
    ]

    assert parse_html(session_items(rows)) == rendered(SESSION_LOOP, session_rows=rows)
    assert session_items(rows).count("session-cancelled") == 1
    assert session_items([]) == ""


def test_it_writes_the_follow_ups_by_person_as_the_template_did():
    people = [
        FollowUpPerson(name=name, followups=[
            FollowUpLine(url=f"/follow-ups/{n}/?x=\"{n}\"", kind_label=TRICKY[n],
                         day_text=f"week of {TRICKY[-n]}")
            for n in range(index % 3)])
        for index, name in enumerate(TRICKY)
    ]

    assert parse_html(followup_items(people)) == rendered(FOLLOWUP_LOOP, followup_people=people)
    assert followup_items([]) == ""


def test_it_writes_the_authorization_alerts_as_the_template_did():
    alerts = [AlertRow(kind=f'ends"{n}', chart_url=f"/participants/{n}/&", participant=text,
                       message=f"{text} <b>ends</b> in {n} days")
              for n, text in enumerate(TRICKY)]

    assert parse_html(alert_items(alerts)) == rendered(ALERT_LOOP, authorization_alerts=alerts)


def test_it_writes_the_failed_reminders_as_the_template_did():
    reminders = [FailedReminderRow(chart_url=f"/participants/{n}/?next=<x>", name=text,
                                   text=f"Text message for Mon, Nov 30 · {text} (<detail>)")
                 for n, text in enumerate(TRICKY)]

    assert parse_html(failed_reminder_items(reminders)) == rendered(
        FAILED_LOOP, failed_reminders=reminders)


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_now")
def test_todays_follow_up_box_says_which_week_or_day_each_is_about(as_front_desk, site, track):
    """The box reads follow-ups as plain values (about_date in SQL): each line says the day it
    is about as the follow-up does (FollowUp.about_date), in that order, under the person."""
    person = factories.ParticipantFactory(home_site=site, first_name="Ines", last_name="Ruiz")
    enrollment = factories.EnrollmentFactory(participant=person, track=track)
    missed = FollowUp.objects.create(participant=person, enrollment=enrollment,
                                     kind="unexcused_absence", missed_on=MONDAY + dt.timedelta(2))
    week = FollowUp.objects.create(participant=person, enrollment=enrollment,
                                   kind="below_minimum_hours", week_start=MONDAY)
    other = factories.ParticipantFactory(home_site=site, first_name="Ann", last_name="<Bo>")
    FollowUp.objects.create(participant=other, kind="unexcused_absence", missed_on=MONDAY)

    page = as_front_desk.get(reverse("home")).content.decode()

    box = page.split('id="followups-heading"')[1].split("</section>")[0]
    people = box.split("followup-person")[1:]
    assert [p.split('<span class="fw-semibold">')[1].split("</span>")[0] for p in people] == [
        "Ines Ruiz", "Ann &lt;Bo&gt;"]  # the longest waiting first
    assert [week.about_date, missed.about_date] == [MONDAY, MONDAY + dt.timedelta(2)]
    assert (f'<li><a href="{reverse("followup_detail", args=[week.pk])}">Week below the '
            'minimum hours</a> · <span class="followup-day">week of Mon, Jan 5</span></li>'
            ) in people[0]
    assert people[0].index("week of Mon, Jan 5") < people[0].index("Wed, Jan 7")
    assert (f'<li><a href="{reverse("followup_detail", args=[missed.pk])}">Unexcused '
            'absence</a> · <span class="followup-day">Wed, Jan 7</span></li>') in people[0]


def test_each_text_is_escaped_as_the_template_escapes_it():
    escaped = _escaper()
    values = [*TRICKY, SafeString("<b>kept</b>"), "<b>kept</b>", gettext_lazy("A & B"), 12, 12.0,
              True, 1, "12"]
    for _ in range(2):  # the second time from what the first one kept
        assert [escaped(value) for value in values] == [conditional_escape(v) for v in values]
    assert escaped("<b>kept</b>") == "&lt;b&gt;kept&lt;/b&gt;"
    assert escaped(SafeString("<b>kept</b>")) == "<b>kept</b>"
