"""The week calendar's queries run through statements compiled once per process: its menus in
one query, its week in a statement compiled once per number of sites and set of filters. Each
must give exactly what the ORM queries they replace give, for any sites, week and filters."""
import datetime as dt
import itertools

import pytest
from django.contrib.auth import get_user_model

from accounts.roles import Role
from programs.models import Room, Track
from reports.tally import tally_expected_count
from sessions.selectors import pages
from tests import factories

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 1, 5)


def _orm_menus(site_ids):
    """calendar_filter_choices as it read its menus: three ORM queries."""
    return {
        "rooms": list(Room.objects.filter(site_id__in=site_ids).order_by("site__name", "name", "pk")
                      .values_list("pk", "name", "site__name", named=True)),
        "tracks": list(Track.objects.filter(site_id__in=site_ids)
                       .order_by("program__name", "name", "pk")
                       .values_list("pk", "name", "program__name", named=True)),
        "facilitators": list(get_user_model().objects.filter(sites__in=site_ids, is_active=True)
                             .distinct().order_by("last_name", "first_name", "pk")
                             .values_list("pk", "username", "first_name", "last_name",
                                          named=True)),
    }


def _orm_week(*, site_ids, week_start, expected_count=None, **filters):
    """week_calendar's sessions, day by day, as the ORM query reads them."""
    rows = pages._week_queryset(site_ids=site_ids, week_start=week_start,
                                week_end=week_start + dt.timedelta(days=6),
                                expected_count=expected_count,
                                **{f"{name}_id": filters.get(name) for name in
                                   ("room", "facilitator", "track")})
    by_day = {week_start + dt.timedelta(days=n): [] for n in range(7)}
    for row in rows.values_list(*pages.CALENDAR_FIELDS, named=True):
        by_day[row.local_date].append(row)
    return list(by_day.values())


@pytest.fixture
def clinic():
    sites = [factories.SiteFactory(name=name) for name in ("North", "South", "East")]
    program = factories.ProgramFactory(name="Adult IOP")
    tracks = [factories.TrackFactory(site=site, program=program, name=name)
              for site, name in [(sites[0], "Evenings"), (sites[0], "Mornings"),
                                 (sites[1], "Evenings"), (sites[2], "Days")]]
    tracks.append(factories.TrackFactory(site=sites[1], name="Adolescents",
                                         program=factories.ProgramFactory(name="Teen IOP")))
    rooms = [factories.RoomFactory(site=site, name=name)
             for site, name in [(sites[0], "Room A"), (sites[0], "Annex"), (sites[1], "Room A"),
                                (sites[2], "Hall")]]
    people = [factories.StaffFactory(role=Role.CLINICIAN, sites=chosen, first_name=first,
                                     last_name=last)
              for chosen, first, last in [([sites[0]], "Ann", "Lee"),
                                          ([sites[0], sites[1]], "Bo", "Lee"),
                                          ([sites[1]], "", ""), ([sites[2]], "Cy", "Ng"),
                                          ([], "Di", "Ox")]]
    gone = factories.StaffFactory(role=Role.CLINICIAN, sites=[sites[0]], last_name="Gone")
    gone.is_active = False
    gone.save()
    for n, (track, room, person) in enumerate(itertools.product(
            tracks, [None, *rooms], [None, *people[:4]])):
        if room is not None and room.site_id != track.site_id:
            continue
        starts = dt.datetime(2026, 1, 5, 14, tzinfo=dt.UTC) + dt.timedelta(hours=7 * n)
        session = factories.TherapySessionFactory(
            track=track, site=track.site, room=room, facilitator=person, starts_at=starts,
            status="cancelled" if n % 7 == 3 else "scheduled")
        for status in ["expected", "present", "cancelled"][:n % 4]:
            factories.AttendanceFactory(session=session, status=status)
    return sites, tracks, rooms, people


def _site_choices(sites):
    return [[], [sites[0].pk], [sites[1].pk], [sites[1].pk, sites[0].pk],
            [site.pk for site in sites]]


def test_the_menus_are_what_the_three_orm_queries_read(clinic):
    sites, *_rest = clinic
    for site_ids in _site_choices(sites):
        menus = pages.calendar_filter_choices(site_ids=site_ids)
        expected = _orm_menus(site_ids)
        assert menus == expected
        for name, rows in menus.items():
            assert all(type(row)._fields == type(expected[name][0])._fields for row in rows)
    menus = pages.calendar_filter_choices(site_ids=[sites[0].pk, sites[1].pk])
    assert [(r.name, r.site__name) for r in menus["rooms"]] == [
        ("Annex", "North"), ("Room A", "North"), ("Room A", "South")]
    assert sum(1 for u in menus["facilitators"] if u.last_name == "Lee") == 2  # Bo once
    assert not any(u.last_name in ("Gone", "Ox") for u in menus["facilitators"])


def test_the_week_is_what_the_orm_query_reads(clinic, django_assert_num_queries):
    sites, tracks, rooms, people = clinic
    filter_choices = [{}, {"room": rooms[0].pk}, {"facilitator": people[1].pk},
                      {"track": tracks[2].pk},
                      {"room": rooms[2].pk, "facilitator": people[1].pk, "track": tracks[2].pk}]
    seen = 0
    for site_ids, week_start, filters, tally in itertools.product(
            _site_choices(sites), [MONDAY, MONDAY + dt.timedelta(days=7)], filter_choices,
            [False, True]):
        expected_count = tally_expected_count() if tally else None
        with django_assert_num_queries(1 if site_ids else 0):
            days = pages.week_calendar(site_ids=site_ids, week_start=week_start,
                                       expected_count=expected_count,
                                       **{f"{name}_id": pk for name, pk in filters.items()})
        expected = _orm_week(site_ids=site_ids, week_start=week_start,
                             expected_count=tally_expected_count() if tally else None,
                             **filters)
        assert [day.day for day in days] == [week_start + dt.timedelta(days=n) for n in range(7)]
        assert [day.sessions for day in days] == expected
        seen += sum(len(day.sessions) for day in days)
        for day in days:
            for session in day.sessions:
                assert type(session)._fields == pages.CALENDAR_FIELDS
    assert seen > 100
    # The tally and the counted rows say the same.
    counted = pages.week_calendar(site_ids=[s.pk for s in sites], week_start=MONDAY)
    tallied = pages.week_calendar(site_ids=[s.pk for s in sites], week_start=MONDAY,
                                  expected_count=tally_expected_count())
    assert [d.sessions for d in counted] == [d.sessions for d in tallied]
    assert any(s.expected_count == 2 for d in counted for s in d.sessions)
