"""Today's boxes of open follow-ups, offered seats and excuses waiting for review run statements
the ORM compiles once a process; they read what the ORM querysets they replace read.

The references below are those querysets as they were: the same rows, in the same order, at one
site and at two, with few rows and with more than a box shows.
"""
import datetime as dt

import pytest
from django.db import connection
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from participants.models import Enrollment, Participant
from sessions.models import ExcusedAbsenceRequest, FollowUp
from sessions.selectors import care, pages
from tests import factories

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 1, 5)
NAMES = ["O'Brien & <Sons>", "Zoë", "Ana", "Émile"]


def joined_followups_at(site_ids):
    """"At these sites" joined with the person and the session, not read from the session's
    site kept on the follow-up (FollowUp.session_site) as the pages read it."""
    return Q(participant__home_site_id__in=site_ids) | Q(session__site_id__in=site_ids)


def orm_open_followups(*, site_ids, assignee=None, rows=100):
    queryset = (FollowUp.objects.filter(status="open")
                .filter(joined_followups_at(site_ids)).order_by("created_at", "pk")
                .values("pk", "participant_id", "kind", "week_start", "missed_on",
                        "participant__first_name", "participant__last_name",
                        about_date=Coalesce("missed_on", "week_start")))
    if assignee is not None:
        queryset = queryset.filter(assignee=assignee)
    return list(queryset[:rows])


def orm_grouped(rows, limit=20):
    """open_followups_by_person's grouping as it was, over the ORM's rows."""
    people = {}
    for followup in rows:
        entry = people.get(followup["participant_id"])
        if entry is None:
            if len(people) >= limit:
                continue
            entry = people[followup["participant_id"]] = pages.PersonFollowUps(
                f"{followup['participant__first_name']} {followup['participant__last_name']}", [])
        entry.followups.append(followup)
    for entry in people.values():
        entry.followups.sort(key=lambda f: (f["about_date"] or dt.date.min, f["pk"]))
    return list(people.values())


def orm_offered_seats(*, site_ids):
    return list(Enrollment.objects.filter(
        track__site_id__in=site_ids, status="waitlisted", seat_offered_at__isnull=False)
        .order_by("seat_offered_at", "pk")
        .values("pk", "track_id", "track__name", "seat_offered_at",
                "track__program__seat_offer_hours", "participant__code",
                "participant__first_name", "participant__last_name")[:50])


def orm_pending_excuses(*, site_ids):
    """Read through the attendance's live session (its site, start and day), not the columns
    the database keeps on the request and the row; ties of a start in the order they were
    asked."""
    rows = (ExcusedAbsenceRequest.objects.filter(
        status="pending", attendance__session__site_id__in=site_ids)
        .order_by("attendance__session__starts_at", "pk").values(
        "code", "attendance__participant__first_name", "attendance__participant__last_name",
        "attendance__session__local_date")[:50])
    return [{**{k: v for k, v in row.items() if k != "attendance__session__local_date"},
             "attendance__session_date": row["attendance__session__local_date"]}
            for row in rows]


def build(site, other_site, clinician, people: int):
    now = timezone.now()
    for n in range(people):
        where = site if n % 3 else other_site
        person = factories.ParticipantFactory(home_site=where, first_name=NAMES[n % 4],
                                              last_name=f"Ruiz {n}")
        track = factories.TrackFactory(site=where)
        factories.EnrollmentFactory(
            participant=person, track=track,
            **({"status": "waitlisted", "waitlisted_at": now,
                "seat_offered_at": now - dt.timedelta(hours=n % 5)} if n % 2
               else {"status": "active"}))
        # Now and then a session at the other site: the follow-up belongs to both.
        elsewhere = other_site if where == site else site
        session = factories.TherapySessionFactory(
            track=track if n % 7 != 3 else factories.TrackFactory(site=elsewhere),
            starts_at=dt.datetime(2026, 1, 5 + n % 6, 18, tzinfo=dt.UTC))
        attendance = factories.AttendanceFactory(session=session, participant=person,
                                                 status="expected")
        ExcusedAbsenceRequest.objects.create(
            attendance=attendance, reason="Doctor", requested_at=now,
            **({"status": "pending"} if n % 4 else {"status": "declined", "decided_at": now}))
        for k in range(n % 4):
            FollowUp.objects.create(
                participant=person, kind="below_minimum_hours",
                week_start=MONDAY - dt.timedelta(weeks=k), assignee=clinician if k else None,
                session=session if k == 2 else None, status="open" if n % 5 else "resolved",
                resolved_at=None if n % 5 else now)


@pytest.mark.parametrize("people", [4, 40])
def test_the_boxes_read_what_the_orm_read(site, other_site, clinician, people):
    build(site, other_site, clinician, people)

    for site_ids in ([site.pk], [site.pk, other_site.pk], [other_site.pk]):
        for assignee in (None, clinician):
            expected = orm_grouped(orm_open_followups(site_ids=site_ids, assignee=assignee))
            assert pages.open_followups_by_person(site_ids=site_ids,
                                                  assignee=assignee) == expected
        offers = care.offered_seats(site_ids=site_ids)
        assert [{k: v for k, v in o.items() if k != "offer_expires_at"} for o in offers] \
            == orm_offered_seats(site_ids=site_ids)
        assert care.pending_excuses(site_ids=site_ids) == orm_pending_excuses(site_ids=site_ids)
    assert care.offered_seats(site_ids=[]) == care.pending_excuses(site_ids=[]) == []
    assert pages.open_followups_by_person(site_ids=[]) == []
    both = [site.pk, other_site.pk]
    assert orm_offered_seats(site_ids=both) and orm_pending_excuses(site_ids=both)
    assert orm_open_followups(site_ids=both, assignee=clinician)
    if people == 40:  # more people than the box names, and two follow-ups of some
        assert len(orm_grouped(orm_open_followups(site_ids=both))) == 20
        assert any(len(p.followups) > 1 for p in orm_grouped(orm_open_followups(site_ids=both)))


def test_a_statement_is_compiled_once_and_run_with_each_requests_values(
        site, other_site, clinician, django_assert_num_queries):
    build(site, other_site, clinician, 8)
    care.pending_excuses(site_ids=[site.pk])
    before = care._by_sites_statement.cache_info()

    with django_assert_num_queries(1):
        here = care.pending_excuses(site_ids=[site.pk])
    with django_assert_num_queries(1):
        there = care.pending_excuses(site_ids=[other_site.pk])

    after = care._by_sites_statement.cache_info()
    assert after.hits == before.hits + 2 and after.misses == before.misses
    assert here == orm_pending_excuses(site_ids=[site.pk])
    assert there == orm_pending_excuses(site_ids=[other_site.pk]) and here != there


@pytest.mark.parametrize("people", [0, 4, 40])
def test_todays_follow_ups_and_their_count_come_in_one_statement(
        site, other_site, clinician, front_desk, people, django_assert_num_queries):
    """Today's follow-up box and its "N open at your site" link: the list (mine, or everyone's)
    and the count of every open follow-up at my sites, read together; with no follow-up in the
    list (the front desk is assigned none), the count alone after it."""
    build(site, other_site, clinician, people)

    for site_ids in ([site.pk], [site.pk, other_site.pk], [other_site.pk]):
        for assignee in (None, clinician, front_desk):
            expected = (orm_grouped(orm_open_followups(site_ids=site_ids, assignee=assignee)),
                        FollowUp.objects.filter(status="open")
                        .filter(joined_followups_at(site_ids)).count())
            with django_assert_num_queries(1 if expected[0] else 2):
                found = pages.open_followups_and_count(site_ids=site_ids, assignee=assignee)
            assert found == expected
    assert pages.open_followups_and_count(site_ids=[]) == ([], 0)
    if people == 40:
        assert pages.open_followups_and_count(site_ids=[site.pk], assignee=clinician)[0]


def _rows_read(plan: dict, table: str) -> int:
    """The rows of `table` an EXPLAIN ANALYZE plan (JSON) read, over every loop of every node."""
    rows = plan.get("Actual Rows", 0) * plan.get("Actual Loops", 0) if (
        plan.get("Relation Name") == table) else 0
    return rows + sum(_rows_read(child, table) for child in plan.get("Plans", []))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_a_clinicians_box_reads_only_the_people_of_their_follow_ups(site, other_site, clinician):
    """A clinician's open follow-ups are found by their (assignee, status) index and sorted
    whole; joined to the people, PostgreSQL hashed every participant the clinic ever had for
    them. Each one's name is read by key instead (the home site is kept on the follow-up): here
    4 follow-ups, of a site with 60 people (and 20 elsewhere), read 2 rows each (first and
    last name)."""
    people = [factories.ParticipantFactory(home_site=site) for _ in range(60)]
    for _ in range(20):
        factories.ParticipantFactory(home_site=other_site)
    for n, person in enumerate(people[:4]):
        FollowUp.objects.create(participant=person, kind="below_minimum_hours",
                                week_start=MONDAY - dt.timedelta(weeks=n), assignee=clinician)
    assert len(pages.open_followups_by_person(site_ids=[site.pk], assignee=clinician)) == 4

    statement = pages._open_followups_statement("default", connection.vendor, 1, True, 100)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Participant._meta.db_table}")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement.sql}",
                       statement._params({"sites": [site.pk], "assignee": clinician.pk}))
        plan = cursor.fetchone()[0][0]["Plan"]
    assert _rows_read(plan, Participant._meta.db_table) == 2 * 4
