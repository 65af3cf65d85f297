"""The layout every staff page shares: own assets only, no inline code, labelled controls."""
import re

import pytest
from django.urls import reverse

from sessions.services.attendance import attendance_mark
from tests import factories

from .conftest import make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)


@pytest.fixture
def every_page(group_session, track, front_desk, clinician):
    session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="absent", by=front_desk)
    factories.WeeklySlotFactory(track=track)
    return [
        reverse("home"), reverse("calendar"), reverse("roster", args=[session.pk]),
        reverse("participant_search") + "?q=a",
        reverse("participant_chart", args=[first.participant.code]),
        reverse("followup_list"), reverse("followup_detail", args=[first.followups.get().pk]),
        reverse("program_list"), reverse("program_create"), reverse("track_create"),
        reverse("track_edit", args=[track.pk]),
        # Payer authorizations and make-ups (issue 16): the review packet's Print button too.
        reverse("review_packet", args=[first.participant.code]),
        reverse("makeup_book", args=[first.pk]), reverse("authorizations_expiring"),
        reverse("authorization_new", args=[first.enrollment_id]),
        reverse("coverage_edit", args=[first.enrollment_id]),
    ]


def test_it_serves_pages_without_inline_code_or_foreign_assets(as_director, every_page, client):
    pages = {url: as_director.get(url) for url in every_page}
    pages[reverse("login")] = client.get(reverse("login"))
    for url, response in pages.items():
        assert response.status_code == 200, url
        html = response.content.decode()
        for attributes in SCRIPT.findall(html):
            assert "src=" in attributes, f"inline <script> on {url}"
        assert not INLINE_HANDLER.search(html), f"inline event handler on {url}"
        assert not STYLE_ELEMENT.search(html), f"<style> element on {url}"
        assert not re.findall(r'(?:src|href)="(?://|https?://)', html), f"foreign asset on {url}"
        assert "bootstrap/css/bootstrap.min.css" in html


def test_it_labels_every_form_control(as_director, every_page):
    for url in every_page:
        html = as_director.get(url).content.decode()
        labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
            if re.search(r'type="(hidden|submit)"', tag):
                continue
            control_id = re.search(r'id="([^"]+)"', tag)
            assert control_id and (control_id.group(1) in labelled or "aria-label" in tag), (
                f"unlabelled control on {url}: {tag}")


def test_it_shows_times_in_the_sites_time_zone(as_clinician, track):
    make_group_session(track, size=1, hour=18, title="Evening")  # 18:00 in New York, 23:00 UTC
    page = as_clinician.get(reverse("home")).content.decode()
    assert "6:00 PM – 9:00 PM" in page  # as the calendar, sheets and portal write a span
    assert "11:00 PM" not in page
