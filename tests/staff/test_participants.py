import pytest
from django.urls import reverse

from sessions.services.attendance import attendance_mark
from sessions.services.followups import followup_resolve
from tests import factories

from .conftest import make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_it_finds_participants_by_name_or_record_number(as_front_desk, site):
    ana = factories.ParticipantFactory(home_site=site, first_name="Anabel", last_name="Quill",
                                       record_number="MRN-777001")
    factories.ParticipantFactory(home_site=site, first_name="Bert", last_name="Other")

    by_name = as_front_desk.get(reverse("participant_search"), {"q": "quill"}).content.decode()
    by_number = as_front_desk.get(reverse("participant_search"), {"q": "777001"}).content.decode()

    assert "Quill, Anabel" in by_name and "Other, Bert" not in by_name
    assert "Quill, Anabel" in by_number
    assert reverse("participant_chart", args=[ana.code]) in by_name


def test_it_answers_an_htmx_search_with_the_results_only(as_front_desk, site):
    factories.ParticipantFactory(home_site=site, last_name="Quill")
    response = as_front_desk.get(reverse("participant_search"), {"q": "Quill"},
                                 HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    assert "<html" not in response.content.decode()
    assert "Quill" in response.content.decode()
    restored = as_front_desk.get(reverse("participant_search"), {"q": "Quill"},
                                 HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results",
                                 HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restored.content.decode()


# A NUL byte is answered 400 at the door (tests/security/test_request_guards.py).
@pytest.mark.parametrize("q", ["x" * 500, "%", "' OR 1=1 --"])
def test_it_survives_odd_search_input(as_front_desk, q):
    assert as_front_desk.get(reverse("participant_search"), {"q": q}).status_code == 200


def test_it_shows_the_chart_by_public_code(as_clinician, group_session, clinician):
    session, (first, *_rest) = group_session
    factories.ContactConsentFactory(participant=first.participant, channel="sms")
    attendance_mark(attendance=first, status="present", by=clinician)

    chart = reverse("participant_chart", args=[first.participant.code])
    page = as_clinician.get(chart).content.decode()

    assert first.participant.full_name in page
    assert "Contact consent" in page and "given" in page
    assert session.track.name in page
    assert "Present" in page
    for point in ["hours-ledger", "care-plan"]:
        assert f'data-include-point="{point}"' in page
    assert 'id="reminders-heading"' in page


def test_it_hides_clinical_notes_from_front_desk(as_front_desk, as_clinician, group_session,
                                                 clinician, front_desk):
    _session, (first, *_rest) = group_session
    attendance_mark(attendance=first, status="absent", by=front_desk)
    followup = first.followups.get()
    followup_resolve(followup=followup, outcome_note="Relapse disclosed on the call", by=clinician)
    enrollment = first.enrollment
    enrollment.status = "discharged"
    enrollment.discharge_date = enrollment.admission_date
    enrollment.discharge_reason = "other"
    enrollment.discharge_note = "Private discharge remark"
    enrollment.save()
    chart = reverse("participant_chart", args=[first.participant.code])
    detail = reverse("followup_detail", args=[followup.pk])

    for url in (chart, detail):
        assert "Relapse disclosed" not in as_front_desk.get(url).content.decode()
    assert "Private discharge remark" not in as_front_desk.get(chart).content.decode()
    assert "Relapse disclosed" in as_clinician.get(chart).content.decode()
    assert "Private discharge remark" in as_clinician.get(chart).content.decode()


def test_it_answers_404_for_an_unknown_code(as_clinician):
    url = reverse("participant_chart", args=["00000000-0000-0000-0000-000000000000"])
    assert as_clinician.get(url).status_code == 404


def test_it_finds_a_participant_enrolled_at_my_site_whose_home_is_elsewhere(
    as_clinician, other_site, track
):
    visitor = factories.ParticipantFactory(home_site=other_site, last_name="Visitorson")
    factories.EnrollmentFactory(participant=visitor, track=track)
    page = as_clinician.get(reverse("participant_search"), {"q": "Visitorson"}).content.decode()
    assert "Visitorson" in page
    assert as_clinician.get(reverse("participant_chart", args=[visitor.code])).status_code == 200


@pytest.mark.parametrize("size", [1, 12])
def test_it_keeps_fixed_query_budgets(as_clinician, site, track, clinician, size,
                                      django_assert_max_num_queries):
    participants = [factories.ParticipantFactory(home_site=site, last_name=f"Budget{i}")
                    for i in range(size)]
    charted = participants[0]
    factories.ContactConsentFactory(participant=charted, channel="email")
    factories.EnrollmentFactory(participant=charted, track=track)
    for i in range(size):
        _session, (row,) = make_group_session(track, size=1, hour=8 + i % 12)
        row.participant = charted
        if i % 2:  # marked: in the history table, with minutes (one query for all rows)
            row.status, row.minutes_attended = "late", 40
        row.save()
    # The caseload's track and clinician filters cost a query each (issue 14), at any size.
    with django_assert_max_num_queries(10):
        as_clinician.get(reverse("participant_search"), {"q": "Budget"})
    # The chart also records the view (audit) and reads care plans, excuses and the reminder
    # history (the hours ledger's rows come with its lists); +1: the authorizations' usage (the
    # enrollments' payers come with them).
    with django_assert_max_num_queries(14):
        as_clinician.get(reverse("participant_chart", args=[charted.code]))


def test_it_links_each_upcoming_session_of_the_chart_to_its_roster(as_clinician, track):
    import datetime as dt

    from .conftest import MONDAY

    session, (expected,) = make_group_session(track, size=1, day=MONDAY + dt.timedelta(days=7))
    page = as_clinician.get(reverse("participant_chart",
                                    args=[expected.participant.code])).content.decode()

    upcoming = page[page.index('id="upcoming-heading"'):page.index('id="history-heading"')]
    assert f'href="{reverse("roster", args=[session.pk])}"' in upcoming
