"""The follow-up list and the caseload print their rows written in Python (staff/list_rows.py);
each page must be the same, byte for byte, as its template's own row loop wrote it. The loops
are kept here as they were in the shipped templates (nothing renders them there any more),
rendered over the same rows the page writes, in the page's place."""
import datetime as dt

import pytest
from django.template import Context, Template
from django.test.html import parse_html
from django.urls import reverse
from django.utils import timezone

from sessions.models import FollowUp
from tests import factories

pytestmark = pytest.mark.django_db

# templates/staff/sessions/followup_list.html's row loop, as it was.
FOLLOWUP_LOOP = """{% for followup in followups %}
  <tr>
    <td><a href="{{ followup.url }}">{{ followup.name }}</a></td>
    <td>{{ followup.kind }}</td>
    <td class="followup-day">{% if followup.is_week %}week of {% endif %}{{ followup.about }}</td>
    <td>{{ followup.assignee }}</td>
    <td>{{ followup.created }}</td>
    <td>{{ followup.status }}</td>
  </tr>
  {% endfor %}"""

# templates/staff/participants/_results.html's row loop, as it was.
CASELOAD_LOOP = """{% for row in rows %}
  <tr>
    <td><a href="{{ row.chart_url }}">{{ row.name }}</a>{% if at_risk %} <span class="badge text-bg-warning">At risk</span>{% endif %}</td>
    <td>{{ row.record_number }}</td>
    <td>{% if row.status %}<span class="badge text-bg-{{ row.badge_class }}">{{ row.status_label }}</span>{% else %}<span class="text-body-secondary">Not enrolled</span>{% endif %}</td>
    <td>{{ row.track }}{% if row.since %}<div class="small text-body-secondary">since {{ row.since }}</div>{% endif %}</td>
    <td>{{ row.home_site }}</td>
    <td>{{ row.clinician }}</td>
  </tr>
  {% endfor %}"""  # noqa: E501


def _table(html: str) -> str:
    return html[html.index("<table"):html.index("</table>")]


def _both(client, monkeypatch, url, query, writer, loop, context):
    """The page's table with its rows written in Python, and with the old loop writing them
    over the same rows (`context` names them as the loop reads them); the rest of the page
    carries a fresh CSRF token each time."""
    import staff.views.sessions as views

    written = _table(client.get(url, query).content.decode())
    monkeypatch.setattr(views, writer, lambda *args, **kwargs: Template(loop).render(
        Context(context(*args, **kwargs))))
    looped = _table(client.get(url, query).content.decode())
    return written, looped


def test_the_follow_up_rows_are_what_the_template_wrote(as_director, site, track, clinician,
                                                        monkeypatch):
    odd = factories.ParticipantFactory(home_site=site, first_name='Jo <"J">', last_name="O'Neil")
    plain = factories.ParticipantFactory(home_site=site, first_name="Ann", last_name="Lee")
    FollowUp.objects.create(participant=odd, kind="unexcused_absence", assignee=clinician,
                            missed_on=dt.date(2026, 1, 5))
    FollowUp.objects.create(participant=plain, kind="below_minimum_hours",
                            week_start=dt.date(2026, 1, 12))
    FollowUp.objects.create(participant=plain, kind="cant_come", status="resolved",
                            resolved_at=timezone.now(), missed_on=dt.date(2026, 1, 7))

    written, looped = _both(as_director, monkeypatch, reverse("followup_list"),
                            {"assignee": "", "status": ""}, "followup_rows_html",
                            FOLLOWUP_LOOP, lambda rows: {"followups": rows})

    assert written == looped
    assert parse_html(written) == parse_html(looped)
    assert "Jo &lt;&quot;J&quot;&gt; O&#x27;Neil" in written and "week of " in written
    assert "Unassigned" in written and "Resolved" in written


@pytest.mark.parametrize("query", [{}, {"at_risk": "on"}, {"q": "o"}])
def test_the_caseload_rows_are_what_the_template_wrote(as_front_desk, site, track, clinician,
                                                       monkeypatch, query):
    import staff.views.sessions as views

    odd = factories.ParticipantFactory(home_site=site, first_name="Zoë", last_name='<b>"Bo"</b>',
                                       record_number="R&1", primary_clinician=clinician)
    factories.EnrollmentFactory(participant=odd, track=track, status="active")
    factories.ParticipantFactory(home_site=site, first_name="Noor", last_name="Odd")
    waiting = factories.ParticipantFactory(home_site=site, first_name="Tom", last_name="Oak")
    factories.EnrollmentFactory(participant=waiting, track=track, status="waitlisted",
                                waitlisted_at=timezone.now())
    if "at_risk" in query:  # everyone at risk: the rule itself is tested in test_caseload.py
        monkeypatch.setattr(views, "participant_ids_at_risk",
                            lambda **kwargs: {odd.pk, waiting.pk})

    written, looped = _both(as_front_desk, monkeypatch, reverse("participant_search"), query,
                            "caseload_rows_html", CASELOAD_LOOP,
                            lambda rows, *, at_risk: {"rows": rows, "at_risk": at_risk})

    assert written == looped
    assert "&lt;b&gt;&quot;Bo&quot;&lt;/b&gt;, Zoë" in written and "R&amp;1" in written
    assert ("At risk</span>" in written) == ("at_risk" in query)
    if "at_risk" not in query:
        assert "Not enrolled" in written and "since " in written
