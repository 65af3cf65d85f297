"""Every paged staff list's Previous and Next links, followed as a browser follows them.

Django's {% querystring %} writes its own leading "?": a link written "?{% querystring %}" sent
the browser to "??page=2", which the list read as no page at all, so Next showed page 1 again.
"""
import datetime as dt
import html
import re
from urllib.parse import urljoin

import pytest
from django.urls import reverse

from sessions.services.attendance import attendance_mark
from tests import factories

from .conftest import make_group_session
from .test_today_and_chart_boxes import make_reminder

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def follow(client, url: str, response, label: str):
    """The page that the list's link named `label` leads to, the href resolved against the
    page's own address as a browser does."""
    links = re.findall(rf'<a class="page-link" href="([^"]*)">{label}</a>',
                       response.content.decode())
    assert len(links) == 1, f"one {label} link expected, found {links}"
    target = urljoin(url, html.unescape(links[0]))
    assert "??" not in target
    return client.get(target)


def test_the_follow_up_lists_next_and_previous_links_turn_the_page(as_director, track,
                                                                    front_desk):
    _session, attendances = make_group_session(track, size=30)
    for attendance in attendances:
        attendance_mark(attendance=attendance, status="absent", by=front_desk)
    url = reverse("followup_list") + "?status=open&assignee="
    first = as_director.get(url)
    assert first.context["page_obj"].number == 1

    second = follow(as_director, url, first, "Next")

    assert second.context["page_obj"].number == 2
    assert "Page 2 of 2" in second.content.decode()
    assert second.context["form"].data["status"] == "open"  # the filters kept
    seen = {row["pk"] for row in first.context["page_obj"].object_list}
    assert seen.isdisjoint(row["pk"] for row in second.context["page_obj"].object_list)
    back = follow(as_director, url, second, "Previous")
    assert back.context["page_obj"].number == 1


def test_the_caseloads_next_link_turns_the_page(as_front_desk, site):
    for i in range(30):
        factories.ParticipantFactory(home_site=site, last_name=f"Page{i:02d}")
    url = reverse("participant_search") + "?q=Page"
    first = as_front_desk.get(url)

    second = follow(as_front_desk, url, first, "Next")

    assert [p["last_name"] for p in second.context["page_obj"].object_list] == [
        f"Page{i:02d}" for i in range(25, 30)]


def test_the_charts_reminders_next_link_turns_their_page(as_clinician, site):
    participant = factories.ParticipantFactory(home_site=site)
    for offset in range(40):
        make_reminder(participant, status="pending",
                      visit=dt.date(2026, 1, 5) + dt.timedelta(days=offset))
    url = reverse("participant_chart", args=[participant.code])
    first = as_clinician.get(url)

    second = follow(as_clinician, url, first, "Next")

    assert second.status_code == 200
    assert second.context["reminders"].number == 2
