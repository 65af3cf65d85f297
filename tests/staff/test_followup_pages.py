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
