import datetime as dt

import pytest
from django.urls import reverse

from accounts.roles import Role
from tests import factories

from .conftest import MONDAY, login, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_it_shows_the_week_of_my_site(as_clinician, track, clinician):
    make_group_session(track, size=1, day=MONDAY, title="Monday skills")
    make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=3), title="Thursday skills")
    make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=7), title="Later group")

    page = as_clinician.get(reverse("calendar")).content.decode()

    assert "Monday skills" in page and "Thursday skills" in page
    assert "Later group" not in page
    assert "Sunday, January 11" in page


def test_it_moves_week_by_week(as_clinician, track):
    make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=8), title="Following Tuesday")
    page = as_clinician.get(reverse("calendar"), {"week": "2026-01-14"}).content.decode()
    assert "Following Tuesday" in page


def test_it_filters_by_room_facilitator_and_track(as_clinician, site, track, clinician):
    other_room = factories.RoomFactory(site=site, name="Room B")
    other_track = factories.TrackFactory(site=site, name="Morning track")
    someone = factories.StaffFactory(role=Role.CLINICIAN, sites=[site])
    make_group_session(track, size=1, title="In A by lead", facilitator=clinician)
    other, _ = make_group_session(other_track, size=1, hour=9, title="In B by someone",
                                  facilitator=someone)
    other.room = other_room
    other.save()

    def titles(**params):
        return as_clinician.get(reverse("calendar"), params).content.decode()

    assert "In B by someone" not in titles(room=track.room_for_tests.pk)
    assert "In A by lead" not in titles(facilitator=someone.pk)
    page = titles(track=track.pk)
    assert "In A by lead" in page and "In B by someone" not in page


@pytest.mark.parametrize("params", [{"site": "abc"}, {"week": "soon"}, {"room": "99999"},
                                    {"week": "0001-01-01"}, {"week": "9999-12-31"},
                                    {"track": "-1"}, {"facilitator": "x"}])
def test_it_ignores_filters_it_cannot_use(as_clinician, track, params):
    make_group_session(track, size=1, title="Still shown")
    response = as_clinician.get(reverse("calendar"), params)
    assert response.status_code == 200
    assert "Still shown" in response.content.decode()


def test_it_never_shows_another_sites_calendar(as_clinician, other_site):
    other_track = factories.TrackFactory(site=other_site)
    make_group_session(other_track, size=1, title="Far away")
    page = as_clinician.get(reverse("calendar"), {"site": other_site.pk}).content.decode()
    assert "Far away" not in page


@pytest.mark.parametrize("per_day", [1, 4])
def test_it_keeps_a_fixed_query_budget(as_clinician, track, per_day,
                                       django_assert_max_num_queries):
    for offset in range(7):
        for hour in range(per_day):
            make_group_session(track, size=2, day=MONDAY + dt.timedelta(days=offset),
                               hour=8 + hour)
    with django_assert_max_num_queries(6):  # 5: the menus are one query, 2 fewer than before
        assert as_clinician.get(reverse("calendar")).status_code == 200


def _grid_item(page: str, title: str) -> str:
    """The opening tag of the grid block holding `title` (its placement classes)."""
    at = page.index(title)
    return page[page.rindex("<li class=\"tg-event", 0, at):at]


def test_it_shows_every_site_of_mine_each_at_its_local_time(site, other_site, track):
    both = factories.StaffFactory(role=Role.CLINICIAN, sites=[site, other_site])
    far_track = factories.TrackFactory(site=other_site, name="Pacific mornings")
    make_group_session(track, size=1, title="East evening")
    make_group_session(far_track, size=2, hour=9, title="West morning")

    page = login(both).get(reverse("calendar")).content.decode()

    assert "East evening" in page and "West morning" in page
    # Each at its own site's wall clock, with its end time and its track's name.
    assert "6:00 PM – 9:00 PM" in page and "9:00 AM – 12:00 PM" in page
    assert "Pacific mornings" in page and track.name in page
    # 9 AM is the grid's first hour, 6 PM the 37th quarter hour; 3 hours are 12 rows.
    assert "tg-start-1 tg-span-12" in _grid_item(page, "West morning")
    assert "tg-start-37 tg-span-12" in _grid_item(page, "East evening")

    only_east = login(both).get(reverse("calendar"), {"site": site.pk}).content.decode()
    assert "East evening" in only_east and "West morning" not in only_east


def test_an_administrator_opens_on_the_sites_they_work_at(site, other_site, track):
    admin = factories.StaffFactory(role=Role.DIRECTOR, sites=[other_site], is_superuser=True)
    make_group_session(track, size=1, title="Not my site")
    far_track = factories.TrackFactory(site=other_site)
    make_group_session(far_track, size=1, title="My site")
    client = login(admin)
    page = client.get(reverse("calendar")).content.decode()
    assert "My site" in page and "Not my site" not in page
    # Every site stays one tick away.
    page = client.get(reverse("calendar"), {"site": [site.pk, other_site.pk]}).content.decode()
    assert "My site" in page and "Not my site" in page


def test_it_marks_today_and_links_day_by_day(as_clinician, track):
    page = as_clinician.get(reverse("calendar"), {"week": "2026-01-07"}).content.decode()
    assert page.count('aria-current="date"') == 1
    today_heading = page[page.index('aria-current="date"'):][:200]
    assert "Mon, Jan 5" in today_heading
    # On a tablet one day shows at a time: Wednesday, with links to Tuesday and Thursday.
    assert "tg-day-other" in page
    focused = page[:page.index("Wed, Jan 7</span>")].rsplit("<section", 1)[1]
    assert "tg-day-other" not in focused
    assert "week=2026-01-06" in page and "week=2026-01-08" in page


def test_its_filters_apply_as_they_change(as_clinician, track):
    page = as_clinician.get(reverse("calendar")).content.decode()
    form = page[page.index('aria-label="Filter the calendar"'):].split("</form>")[0]
    assert 'hx-get="/calendar/"' in page
    assert form.count("data-autosubmit") == 3  # room, facilitator, track (one site: no ticks)


def test_it_says_what_to_do_when_the_week_is_empty(as_clinician, track):
    page = as_clinician.get(reverse("calendar")).content.decode()
    assert "No sessions this week" in page and "Generate schedule" in page


@pytest.mark.parametrize("per_day", [1, 4])
def test_it_keeps_its_query_budget_across_two_sites(site, other_site, track, per_day,
                                                    django_assert_max_num_queries):
    both = factories.StaffFactory(role=Role.CLINICIAN, sites=[site, other_site])
    far_track = factories.TrackFactory(site=other_site)
    for offset in range(7):
        for hour in range(per_day):
            for where in (track, far_track):
                make_group_session(where, size=2, day=MONDAY + dt.timedelta(days=offset),
                                   hour=8 + hour)
    client = login(both)
    with django_assert_max_num_queries(6):  # 5: the menus are one query, 2 fewer than before
        assert client.get(reverse("calendar")).status_code == 200


def test_its_blocks_keep_their_markup(as_clinician, site, track, clinician):
    """The blocks are built in staff/calendar_rows.py, not a template: the same markup the
    block template wrote, every value escaped, the cancelled and the personal kinds too."""
    group, people = make_group_session(track, size=3, title="Skills <& more>",
                                       facilitator=clinician)
    people[0].status = "cancelled"
    people[0].save()
    make_group_session(track, size=1, hour=12, title="Called off", status="cancelled",
                       cancel_reason="Snow")
    solo_type = factories.SessionTypeFactory(kind="individual", name="Check-in")
    person = factories.ParticipantFactory(home_site=site)
    solo = factories.TherapySessionFactory(
        track=None, site=site, session_type=solo_type, participant=person, title="",
        starts_at=dt.datetime(2026, 1, 6, 14, 30, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 1, 6, 15, 15, tzinfo=dt.UTC))

    page = as_clinician.get(reverse("calendar")).content.decode()

    assert (f'<div class="tg-card"><a href="/sessions/{group.pk}/roster/"><span class="tg-time">'
            '6:00 PM – 9:00 PM</span> <span class="tg-title">Skills &lt;&amp; more&gt;</span></a>\n'
            f'<span class="tg-meta tg-group">{track.name}</span>\n'
            f'<span class="tg-meta">{track.room_for_tests.name} · {clinician.get_full_name()}'
            ' · 2 expected</span></div>\n</li>') in page
    assert ('tg-cancelled"><div class="tg-card"><span class="tg-time">12:00 PM – 3:00 PM</span> '
            '<span class="tg-title">Called off</span> <span class="badge text-bg-danger">'
            'Cancelled</span>\n') in page
    assert (f'<a href="/sessions/{solo.pk}/roster/"><span class="tg-time">9:30 AM – 10:15 AM'
            '</span> <span class="tg-title">Check-in</span></a>\n'
            '<span class="tg-meta tg-group">Individual</span>\n'
            '<span class="tg-meta">No room · No facilitator · 0 expected</span>') in page


def test_its_expected_count_follows_every_attendance_write(as_clinician, track):
    """The count comes from the session's attendance tally (reports.SessionTally): marking
    someone absent keeps them counted, a bulk cancellation by the clinic takes them out."""
    group, people = make_group_session(track, size=4, title="Tallied group")
    people[0].status = "absent"
    people[0].save()

    def count_shown() -> str:
        page = as_clinician.get(reverse("calendar")).content.decode()
        block = page.split(f'href="/sessions/{group.pk}/roster/"', 1)[1]
        return block.split(" expected</span>", 1)[0].rsplit(" · ", 1)[1]

    assert count_shown() == "4"
    type(people[0]).objects.filter(pk__in=[p.pk for p in people[1:]]).update(status="cancelled")
    assert count_shown() == "1"


@pytest.mark.parametrize("options", [
    {"grid_id": "week", "day_view": True, "dated": True, "empty_text": "No sessions."},
    {"grid_id": "t<1>", "heading": "h3", "dated": False, "empty_text": ""},
])
def test_its_grid_is_written_as_the_grid_template_writes_it(options):
    """The week calendar writes staff/_timegrid.html in Python (staff.timegrid.grid_html): the
    same bytes for today, the focused day, other days, empty days, either heading."""
    import datetime as dt

    from django.template.loader import render_to_string
    from django.utils.safestring import mark_safe

    from staff.timegrid import GridDay, GridItem, grid_html, time_grid

    monday = dt.date(2026, 3, 9)
    days = []
    for offset in range(7):
        items = ([GridItem(start=9 * 60 + 15 * offset, end=11 * 60, payload=None),
                  GridItem(start=10 * 60, end=22 * 60, payload=None)] if offset in (0, 2, 3)
                 else [])
        days.append(GridDay(day=monday + dt.timedelta(days=offset), weekday=offset,
                            items=items, label=f"Day <{offset}>",
                            html=mark_safe(f"<li>block {offset}</li>") if items else ""))
    grid = time_grid(days=days, today=monday + dt.timedelta(days=2),
                     focus=monday + dt.timedelta(days=3))

    written = grid_html(grid, **options)

    assert written == render_to_string("staff/_timegrid.html", {"grid": grid, **options})
    assert "tg-day-empty" in written and 'aria-current="date"' in written
