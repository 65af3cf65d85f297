import pytest
from django.urls import reverse

from sessions.services.attendance import attendance_mark

from .conftest import make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


@pytest.fixture
def absence(group_session, front_desk):
    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="absent", by=front_desk)
    return first.followups.get()


def test_it_lists_my_open_follow_ups_by_default(as_clinician, absence):
    page = as_clinician.get(reverse("followup_list")).content.decode()
    assert absence.participant.full_name in page


def test_it_filters_by_assignee(as_director, absence, director):
    # A director's default view is everyone at their sites (issue 13); "Me" narrows it.
    mine = as_director.get(reverse("followup_list"), {"assignee": "me", "status": "open"}
                           ).content.decode()
    everyone = as_director.get(reverse("followup_list"))
    assert absence.participant.full_name not in mine
    assert absence.participant.full_name in everyone.content.decode()


@pytest.mark.parametrize("params", [{"assignee": "nobody"}, {"status": "??"}, {"page": "zz"}])
def test_it_survives_odd_filters(as_clinician, absence, params):
    assert as_clinician.get(reverse("followup_list"), params).status_code == 200


def test_it_lets_a_clinician_resolve_with_an_outcome(as_clinician, absence):
    response = as_clinician.post(reverse("followup_detail", args=[absence.pk]),
                                 {"outcome_note": "Reached; back Thursday."})
    assert response.status_code == 302
    absence.refresh_from_db()
    assert absence.status == "resolved"


def test_it_shows_a_field_error_for_an_empty_outcome(as_clinician, absence):
    response = as_clinician.post(reverse("followup_detail", args=[absence.pk]),
                                 {"outcome_note": "  "})
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    absence.refresh_from_db()
    assert absence.status == "open"


def test_it_hides_and_refuses_the_outcome_form_for_front_desk(as_front_desk, absence):
    page = as_front_desk.get(reverse("followup_detail", args=[absence.pk])).content.decode()
    assert "outcome_note" not in page
    response = as_front_desk.post(reverse("followup_detail", args=[absence.pk]),
                                  {"outcome_note": "Called"})
    assert response.status_code == 403
    absence.refresh_from_db()
    assert absence.status == "open"


def test_it_refuses_to_resolve_twice(as_clinician, absence):
    url = reverse("followup_detail", args=[absence.pk])
    as_clinician.post(url, {"outcome_note": "Done"})
    response = as_clinician.post(url, {"outcome_note": "Again"})
    assert response.status_code == 200
    absence.refresh_from_db()
    assert absence.outcome_note == "Done"


@pytest.mark.parametrize("size", [1, 10])
def test_it_keeps_a_fixed_query_budget(as_clinician, track, front_desk, size,
                                       django_assert_max_num_queries):
    session, rows = make_group_session(track, size=size)
    for row in rows:
        attendance_mark(attendance=row, status="absent", by=front_desk)
    with django_assert_max_num_queries(9):
        assert as_clinician.get(reverse("followup_list"),
                                {"assignee": "", "status": ""}).status_code == 200


@pytest.mark.parametrize("earlier_absences", [0, 6])
def test_it_keeps_a_fixed_query_budget_on_the_detail_page(as_clinician, track, front_desk,
                                                         earlier_absences,
                                                         django_assert_max_num_queries):
    session, rows = make_group_session(track, size=earlier_absences + 1)
    for row in rows:
        attendance_mark(attendance=row, status="absent", by=front_desk)
    followup = rows[-1].followups.first()
    with django_assert_max_num_queries(7):
        assert as_clinician.get(reverse("followup_detail", args=[followup.pk])).status_code == 200


@pytest.mark.parametrize("status", ["", "open", "resolved"])
@pytest.mark.parametrize("assigned", [False, True])
@pytest.mark.parametrize("sites", [1, 2])
def test_its_compiled_pages_are_the_querysets_pages(status, assigned, sites,
                                                    django_assert_num_queries):
    """The list reads its count and each page through statements compiled once a process
    (pages.FollowUpPages): the same follow-ups, in the same order, as followup_list's queryset,
    for every status, assignee and number of sites, one query each."""
    import datetime as dt

    from django.core.paginator import Paginator
    from django.utils import timezone

    from sessions.models import FollowUp
    from sessions.selectors import pages
    from tests import factories

    north, south, elsewhere = (factories.SiteFactory(name=name)
                               for name in ("North", "South", "Elsewhere"))
    dana, lee = (factories.StaffFactory(first_name=name, last_name="Oak")
                 for name in ("Dana", "Lee"))
    at_south = factories.TherapySessionFactory(track=factories.TrackFactory(site=south))
    for n in range(7):
        home = (north, south, elsewhere)[n % 3]
        person = factories.ParticipantFactory(home_site=home, first_name=f"P{n}")
        resolved = n % 4 == 0
        FollowUp.objects.create(
            participant=person, kind="below_minimum_hours", week_start=dt.date(2026, 3, 2),
            assignee=(dana, lee, None)[n % 3], status="resolved" if resolved else "open",
            resolved_at=timezone.now() if resolved else None,
            # one follow-up of someone elsewhere is about a session at South
            session=at_south if n == 2 else None)
    site_ids = [north.pk, south.pk][:sites]
    assignee_id = dana.pk if assigned else None

    queryset = pages.followup_list(site_ids=site_ids, assignee_id=assignee_id, status=status)
    expected = list(queryset)
    if sites == 2 and not status and not assigned:
        assert len(expected) == 6  # all but the follow-up elsewhere about no session here
    listed = pages.followup_list_pages(site_ids=site_ids, assignee_id=assignee_id,
                                       status=status)
    with django_assert_num_queries(1):
        assert listed.count() == len(expected)
    got = []
    for number in Paginator(listed, 2).page_range:
        with django_assert_num_queries(1):
            got += listed[(number - 1) * 2:number * 2]
    assert got == expected
    assert set(FollowUp.objects.values_list("status", flat=True)) == {"open", "resolved"}


def test_it_lists_nothing_for_someone_with_no_site(as_clinician, clinician):
    from sessions.selectors import pages

    assert list(pages.followup_list_pages(site_ids=[], assignee_id=None, status="")) == []
    clinician.sites.clear()
    assert "No follow-ups match." in as_clinician.get(reverse("followup_list")).content.decode()


def _old_followup_list(*, site_ids, assignee_id, status):
    """The follow-up list as it was defined before each follow-up kept its session's site
    (FollowUp.session_site): the person's home site or the session's, joined."""
    from django.db.models import Q

    from sessions.models import FollowUp
    from sessions.selectors import pages

    queryset = (FollowUp.objects.filter(Q(participant__home_site_id__in=site_ids)
                                        | Q(session__site_id__in=site_ids))
                .order_by("-created_at", "-pk"))
    if status:
        queryset = queryset.filter(status=status)
    if assignee_id:
        queryset = queryset.filter(assignee_id=assignee_id)
    return list(queryset.values(*pages.FOLLOWUP_LIST_FIELDS))


@pytest.mark.parametrize("status", ["", "open", "resolved"])
@pytest.mark.parametrize("assigned", [False, True])
def test_its_pages_equal_the_join_definition_across_sites(status, assigned):
    """The list reads the session's site kept on each follow-up (so it does not grow with the
    clinic's history of sessions); the old definition joined every session. Both list the
    same follow-ups in the same order, and count them the same, for every pairing of a home
    site with a session at each site or none, each status and assignee, and every choice of
    sites, including sites whose sessions only other sites' people missed."""
    import datetime as dt
    import itertools

    from django.core.paginator import Paginator
    from django.utils import timezone

    from sessions.models import FollowUp
    from sessions.selectors import pages
    from tests import factories

    sites = [factories.SiteFactory(name=f"Site {n}") for n in range(3)]
    sessions = [factories.TherapySessionFactory(track=factories.TrackFactory(site=site))
                for site in sites]
    dana, lee = (factories.StaffFactory(first_name=name, last_name="Oak")
                 for name in ("Dana", "Lee"))
    missed = itertools.count()
    for home, session, state, assignee in itertools.product(
            sites, [None, *sessions], ["open", "resolved"], [dana, lee, None]):
        FollowUp.objects.create(
            participant=factories.ParticipantFactory(home_site=home),
            session=session, assignee=assignee, kind="unexcused_absence", status=state,
            missed_on=dt.date(2026, 1, 1) + dt.timedelta(days=next(missed)),
            resolved_at=timezone.now() if state == "resolved" else None)
    assignee_id = dana.pk if assigned else None

    for chosen in ([sites[0]], [sites[1]], [sites[0], sites[2]], [sites[2], sites[1]], sites):
        site_ids = [site.pk for site in chosen]
        expected = _old_followup_list(site_ids=site_ids, assignee_id=assignee_id, status=status)
        assert expected  # every choice lists some
        assert list(pages.followup_list(site_ids=site_ids, assignee_id=assignee_id,
                                        status=status)) == expected
        listed = pages.followup_list_pages(site_ids=site_ids, assignee_id=assignee_id,
                                           status=status)
        assert listed.count() == len(expected)
        got = []
        for number in Paginator(listed, 5).page_range:
            got += listed[(number - 1) * 5:number * 5]
        assert got == expected
    # One site, every status and assignee: its own people's (4 session choices x 2 statuses x
    # 3 assignees) and the other two sites' people's about its session (2 x 2 x 3).
    everything = _old_followup_list(site_ids=[sites[0].pk], assignee_id=None, status="")
    assert len(everything) == 4 * 2 * 3 + 2 * 2 * 3


def test_no_form_of_the_list_reads_the_sessions():
    """A join with the sessions, a list of the sites' sessions or a look-up of each one reads
    sessions the clinic held, more as its history grows: every form of the list (a status or
    not, an assignee or not) reads the session's site kept on the follow-up. Its count joins
    nothing and reads the person's home site kept on the follow-up too, so an index that
    includes both sites answers it alone."""
    from sessions.selectors import pages

    for status in (True, False):
        for assignee in (True, False):
            count, page, _names = pages._followup_list_statements("default", "postgresql", 2,
                                                                  status, assignee)
            for statement in (count, page):
                assert "iop_sessions_therapysession" not in statement.sql
                assert '"session_site_id" IN' in statement.sql
            assert " JOIN " not in count.sql
            assert '"home_site_id" IN' in count.sql
            assert "participants_participant" not in count.sql


def test_one_persons_list_looks_each_person_up_by_key():
    """One assignee's follow-ups are found by their (assignee, status) index and sorted whole:
    joined to the participants, PostgreSQL hashed everyone the clinic ever had for them. Their
    page looks each person up by key instead (the names it shows are held equal to the join's
    above); everyone's list, walked newest first, keeps the join."""
    from sessions.selectors import pages

    for status in (True, False):
        _count, mine, _names = pages._followup_list_statements("default", "postgresql", 1,
                                                               status, True)
        _count, everyone, _names = pages._followup_list_statements("default", "postgresql", 1,
                                                                   status, False)
        assert 'JOIN "participants_participant"' not in mine.sql
        assert mine.sql.count('FROM "participants_participant"') == 2
        assert 'JOIN "participants_participant"' in everyone.sql
