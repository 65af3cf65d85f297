"""A family session's roster lists the participant's family contacts and marks whether each
came; the marks are audited and the page keeps its query budget."""
import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from sessions.models import ContactAttendance
from tests import factories

from .conftest import NEW_YORK

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def family_session(participant, *, hour=18):
    starts = dt.datetime(2026, 1, 5, hour, 0, tzinfo=NEW_YORK)
    return factories.TherapySessionFactory(
        track=None, participant=participant, site=participant.home_site, kind="family",
        session_type=factories.SessionTypeFactory(kind="family"), title="Family session",
        starts_at=starts, ends_at=starts + dt.timedelta(hours=1))


def roster(client, session) -> str:
    return client.get(reverse("roster", args=[session.pk])).content.decode()


def mark(client, session, contact, status):
    return client.post(reverse("contact_attendance_mark", args=[session.pk, contact.pk]),
                       {"status": status})


def test_a_family_sessions_roster_lists_the_contacts_expected(as_clinician, site):
    participant = factories.ParticipantFactory(home_site=site)
    factories.ContactFactory(participant=participant, name="Imelda Castro")
    factories.ContactFactory(participant=participant, name="Gone Away",
                             removed_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    page = roster(as_clinician, family_session(participant))
    assert "Family contacts expected" in page and "Imelda Castro" in page
    assert "Gone Away" not in page and "Expected" in page


def test_a_group_sessions_roster_has_no_contacts_box(as_clinician, track):
    from .conftest import make_group_session

    session, (row,) = make_group_session(track, size=1)
    factories.ContactFactory(participant=row.participant)
    assert "Family contacts expected" not in roster(as_clinician, session)


def test_it_marks_a_contact_came_and_changes_its_mind(as_clinician, clinician, site):
    participant = factories.ParticipantFactory(home_site=site)
    contact = factories.ContactFactory(participant=participant, name="Imelda Castro")
    session = family_session(participant)
    assert mark(as_clinician, session, contact, "present").status_code == 302
    assert "Came" in roster(as_clinician, session).split("Imelda Castro")[1][:200]
    mark(as_clinician, session, contact, "absent")
    row = ContactAttendance.objects.get(session=session, contact=contact)
    assert row.status == "absent" and row.marked_by == clinician
    entries = LogEntry.objects.get_for_object(row)
    assert entries.count() == 2
    assert entries.first().additional_data == {"participant": participant.pk}


def test_it_refuses_to_mark_before_the_session_starts(as_clinician, site):
    participant = factories.ParticipantFactory(home_site=site)
    contact = factories.ContactFactory(participant=participant)
    session = family_session(participant, hour=21)
    response = mark(as_clinician, session, contact, "present")
    assert response.status_code == 302
    assert not ContactAttendance.objects.exists()
    assert "has not started" in as_clinician.get(response["Location"]).content.decode()


def test_another_participants_contact_is_not_found(as_clinician, site):
    participant = factories.ParticipantFactory(home_site=site)
    stranger = factories.ContactFactory(participant=factories.ParticipantFactory(home_site=site))
    assert mark(as_clinician, family_session(participant), stranger, "present").status_code == 404


@pytest.mark.parametrize("size", [1, 10])
def test_the_family_roster_keeps_a_fixed_budget(as_clinician, site, size,
                                                django_assert_max_num_queries):
    participant = factories.ParticipantFactory(home_site=site)
    session = family_session(participant)
    factories.AttendanceFactory(session=session, participant=participant)
    for _ in range(size):
        contact = factories.ContactFactory(participant=participant)
        ContactAttendance.objects.create(session=session, contact=contact, status="present",
                                         marked_at=dt.datetime(2026, 1, 5, 23, tzinfo=dt.UTC))
    # The roster's own (tests/staff/test_roster.py) and two: the contacts, their marks.
    with django_assert_max_num_queries(9):
        page = roster(as_clinician, session)
    assert page.count("contact-attendance-row") == size
