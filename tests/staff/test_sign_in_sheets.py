"""A session's roster prints as a sign-in sheet, and a day's sessions at a site print as one
sheet a page (templates/staff/sessions/_sign_in_sheet.html, static/css/print.css)."""
import datetime as dt

import pytest
from django.urls import reverse

from accounts.roles import Role
from tests import factories
from tests.auth import sign_in

from .conftest import MONDAY, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

SHEETS = reverse("sign_in_sheets")


def sheet_of(html: str, session) -> str:
    return html.split(f'id="sheet-{session.pk}"')[1].split("</section>")[0]


def test_the_roster_prints_as_a_sign_in_sheet(as_clinician, track, clinician):
    session, (ana, ben, cai) = make_group_session(track, size=3, facilitator=clinician,
                                                  title="Coping skills")
    ben.status = "excused"
    ben.save()
    cai.status = "cancelled"
    cai.save()
    # Faker may give two of them one last name: a name no one else has (Faker's have no digits).
    cai.participant.last_name = f"{cai.participant.last_name}{cai.participant.pk}"
    cai.participant.save()

    html = as_clinician.get(reverse("roster", args=[session.pk])).content.decode()

    assert '<div class="print-only">' in html and '<div class="screen-only">' in html
    sheet = sheet_of(html, session)
    assert ">Coping skills</h2>" in sheet
    assert "Monday, January 5, 2026, 6:00 PM – 9:00 PM" in sheet
    assert f"{track.site.name} · Sign-in sheet" in html
    assert f"Room A · Facilitator: {clinician.get_full_name()} · 2 expected" in sheet
    for column in ("Participant", "Time in", "Time out", "Signature", "Staff"):
        assert f">{column}</th>" in sheet
    assert f"{ana.participant.last_name}, {ana.participant.first_name}" in sheet
    assert f"{ben.participant.last_name}, {ben.participant.first_name}</td>\n" \
           "        <td>Excused</td>" in sheet
    assert cai.participant.last_name not in sheet  # the clinic took them off this session
    assert sheet.count('class="sheet-blank"') == 2
    assert "Printed Mon, Jan 5, 8:00 PM" in html.split(f'id="sheet-{session.pk}"')[1]
    assert "data-print" in html and "/static/js/paper.js" in html


def test_a_cancelled_session_has_no_sheet_to_print(as_clinician, track):
    session, _rows = make_group_session(track, size=2, status="cancelled",
                                        cancel_reason="Snow")

    html = as_clinician.get(reverse("roster", args=[session.pk])).content.decode()

    assert 'id="sheet-' not in html and "data-print" not in html


def test_the_day_prints_one_sheet_per_session_at_the_site_in_time_order(as_front_desk, track,
                                                                        site, other_site):
    evening, evening_rows = make_group_session(track, size=2, hour=18, title="Evening group")
    morning, morning_rows = make_group_session(track, size=3, hour=9, title="Morning group")
    make_group_session(track, size=1, hour=12, title="Called off", status="cancelled",
                       cancel_reason="Snow")
    make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=1), title="Tomorrow")
    elsewhere = factories.TrackFactory(site=other_site)
    make_group_session(elsewhere, size=1, title="Other site")

    response = as_front_desk.get(SHEETS, {"date": "2026-01-05"})

    html = response.content.decode()
    assert [s.title for s in response.context["sessions"]] == ["Morning group", "Evening group"]
    assert html.count('class="sheet-page"') == 2
    assert html.index('id="sheet-%d"' % morning.pk) < html.index('id="sheet-%d"' % evening.pk)
    for session, rows in ((morning, morning_rows), (evening, evening_rows)):
        sheet = sheet_of(html, session)
        assert all(row.participant.last_name in sheet for row in rows)
    assert "Called off" not in html and "Tomorrow" not in html and "Other site" not in html
    assert "Print 2 sheets" in html
    assert "Cancelled sessions have no sheet." in html


def test_the_day_defaults_to_today_at_my_site(as_front_desk, track):
    make_group_session(track, size=1, title="Today's group")

    response = as_front_desk.get(SHEETS)

    assert response.context["day"] == MONDAY
    assert "Today&#x27;s group" in response.content.decode()


def test_the_day_offers_my_sites_only_and_switches_between_them(client, site, other_site):
    both = factories.StaffFactory(role=Role.FRONT_DESK, sites=[site, other_site])
    there = factories.TrackFactory(site=other_site)
    make_group_session(there, size=1, title="Over there")
    sign_in(client, both)

    html = client.get(SHEETS, {"date": "2026-01-05", "site": other_site.pk}).content.decode()

    assert "Over there" in html
    assert f'<option value="{other_site.pk}" selected>' in html


@pytest.mark.parametrize("query, field", [
    ({"date": "not-a-day"}, "date"),
    ({"date": "0001-01-01"}, "date"),
    ({"site": "abc"}, "site"),
])
def test_a_bad_choice_is_named_on_its_field(as_front_desk, track, query, field):
    response = as_front_desk.get(SHEETS, query)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'id="id_{field}-error"' in response.content.decode()


def test_another_sites_id_shows_my_own_site_instead(as_front_desk, track, other_site):
    make_group_session(track, size=1, title="Mine")

    response = as_front_desk.get(SHEETS, {"site": other_site.pk})

    assert response.status_code == 200 and response.context["site"] == track.site
    assert "site" in response.context["form"].errors


def test_it_says_when_there_is_nothing_to_print(as_front_desk, site):
    html = as_front_desk.get(SHEETS, {"date": "2026-01-04"}).content.decode()

    assert "No sessions take place at" in html and "nothing to print" in html
    assert "data-print" not in html


def test_today_links_to_the_days_sheets(as_front_desk, track):
    make_group_session(track, size=1)

    html = as_front_desk.get(reverse("home")).content.decode()

    assert f'href="{SHEETS}?date=2026-01-05">Sign-in sheets</a>' in html


@pytest.mark.parametrize("sessions, size", [(1, 2), (6, 20)])
def test_it_keeps_a_fixed_query_budget(client, track, front_desk, sessions, size,
                                       django_assert_max_num_queries):
    for hour in range(sessions):
        make_group_session(track, size=size, hour=8 + hour)
    sign_in(client, front_desk)

    # session, user, groups, sites (the decorator), my sites, the sessions, their attendance
    with django_assert_max_num_queries(8):
        response = client.get(SHEETS, {"date": "2026-01-05"})
    assert response.content.decode().count('class="sheet-name">') == sessions * (size + 1)
