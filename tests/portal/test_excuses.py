import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from sessions.models import Attendance, AttendanceStatus, ExcusedAbsenceRequest
from sessions.services.excuses import excuse_approve, excuse_decline, excuse_request

from .conftest import NY, attendance_at

pytestmark = pytest.mark.django_db

NEXT_MONDAY = dt.date(2026, 3, 16)


def test_it_records_a_request_made_with_enough_notice(alice, now):
    attendance = attendance_at(alice, NEXT_MONDAY)

    request = excuse_request(attendance=attendance, reason="Work shift", by=alice.user)

    assert request.status == "pending" and request.reason == "Work shift"
    attendance.refresh_from_db()
    assert attendance.status == AttendanceStatus.EXPECTED


def test_it_refuses_a_request_inside_the_notice_window(alice, now):
    tomorrow = attendance_at(alice, dt.date(2026, 3, 12))  # 30 hours ahead; 48 needed

    with pytest.raises(ValidationError) as error:
        excuse_request(attendance=tomorrow, reason="Work shift", by=alice.user)

    assert error.value.code == "too_late"
    assert not ExcusedAbsenceRequest.objects.exists()


def test_it_uses_the_programs_notice_hours(alice, program, now):
    program.excused_notice_hours = 24
    program.save()

    excuse_request(attendance=attendance_at(alice, dt.date(2026, 3, 12)), reason="Work",
                   by=alice.user)

    assert ExcusedAbsenceRequest.objects.count() == 1


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_it_refuses_an_empty_or_overlong_reason(alice, now, reason):
    with pytest.raises(ValidationError):
        excuse_request(attendance=attendance_at(alice, NEXT_MONDAY), reason=reason, by=alice.user)

    assert not ExcusedAbsenceRequest.objects.exists()


def test_it_refuses_a_second_pending_request(alice, now):
    attendance = attendance_at(alice, NEXT_MONDAY)
    excuse_request(attendance=attendance, reason="Work", by=alice.user)

    with pytest.raises(ValidationError) as error:
        excuse_request(attendance=attendance, reason="Work", by=alice.user)

    assert error.value.code == "already_requested"


def test_it_excuses_the_attendance_on_approval(alice, clinician, now,
                                               django_capture_on_commit_callbacks):
    request = excuse_request(attendance=attendance_at(alice, NEXT_MONDAY), reason="Work",
                             by=alice.user)

    with django_capture_on_commit_callbacks(execute=True):
        approved = excuse_approve(request=request, by=clinician)

    assert approved.status == "approved" and approved.decided_by == clinician
    attendance = attendance_at(alice, NEXT_MONDAY)
    assert attendance.status == AttendanceStatus.EXCUSED and attendance.marked_by == clinician


def test_it_keeps_the_participant_expected_on_decline(alice, clinician, now):
    request = excuse_request(attendance=attendance_at(alice, NEXT_MONDAY), reason="Work",
                             by=alice.user)

    declined = excuse_decline(request=request, by=clinician, note="Please swap shifts")

    assert declined.status == "declined" and declined.decision_note == "Please swap shifts"
    assert attendance_at(alice, NEXT_MONDAY).status == AttendanceStatus.EXPECTED
    with pytest.raises(ValidationError) as error:
        excuse_approve(request=request, by=clinician)
    assert error.value.code == "already_answered"


def test_it_refuses_to_approve_once_attendance_was_marked(alice, clinician, now):
    request = excuse_request(attendance=attendance_at(alice, NEXT_MONDAY), reason="Work",
                             by=alice.user)
    Attendance.objects.filter(pk=request.attendance_id).update(status="absent")

    with pytest.raises(ValidationError) as error:
        excuse_approve(request=request, by=clinician)

    assert error.value.code == "already_marked"
    request.refresh_from_db()
    assert request.status == "pending"


def test_it_takes_a_request_from_the_portal_and_shows_the_answer(
        client, alice, clinician, schedule, now):
    session = attendance_at(alice, NEXT_MONDAY).session
    client.force_login(alice.user)

    response = client.post(reverse("portal-excuse", args=[session.pk]), {"reason": "Work shift"})
    assert response.status_code == 302
    assert "Excuse requested" in client.get(reverse("portal-home")).content.decode()

    request = ExcusedAbsenceRequest.objects.get()
    client.force_login(clinician)
    review = client.get(reverse("excuse_review", args=[request.code]))
    assert "Work shift" in review.content.decode()
    # Issue 13, item 9: the staff layout with its navigation, not the portal's.
    assert 'aria-label="Main"' in review.content.decode()
    assert "portal.css" not in review.content.decode()
    assert "Monday, March 16, 2026 6:00 PM" in review.content.decode()  # the site's local time
    assert client.post(reverse("excuse_approve", args=[request.code])).status_code == 302

    client.force_login(alice.user)
    html = client.get(reverse("portal-home")).content.decode()
    assert "Your excused absence was approved." in html


def test_it_shows_a_decline_with_its_note(client, alice, clinician, now):
    request = excuse_request(attendance=attendance_at(alice, NEXT_MONDAY), reason="Work",
                             by=alice.user)
    client.force_login(clinician)
    client.post(reverse("excuse_decline", args=[request.code]),
                {"note": "Please call us to talk it over"})

    client.force_login(alice.user)
    html = client.get(reverse("portal-home")).content.decode()

    assert "Excuse not approved." in html and "Please call us to talk it over" in html


def test_it_shows_a_decline_note_as_the_clinician_wrote_it_not_as_markup(
        client, alice, clinician, now):
    request = excuse_request(attendance=attendance_at(alice, NEXT_MONDAY), reason="Work",
                             by=alice.user)
    excuse_decline(request=request, by=clinician, note='Call <b>Sam</b> & say "hi"')

    client.force_login(alice.user)
    html = client.get(reverse("portal-home")).content.decode()

    assert ("<strong>Excuse not approved.</strong> Call &lt;b&gt;Sam&lt;/b&gt; &amp; "
            "say &quot;hi&quot; We still expect you.") in html
    assert "<b>Sam</b>" not in html


def test_it_answers_too_late_on_the_form_not_with_a_500(client, alice, now):
    session = attendance_at(alice, NEXT_MONDAY).session
    url = reverse("portal-excuse", args=[session.pk])

    # Signed in after the trip: days idle would (rightly) have signed her out.
    with time_machine.travel(dt.datetime(2026, 3, 15, 12, 0, tzinfo=NY), tick=False):
        client.force_login(alice.user)
        response = client.post(url, {"reason": "Work"})

    assert response.status_code == 200
    assert "at least 48 hours" in response.content.decode()
    assert not ExcusedAbsenceRequest.objects.exists()


def test_it_shows_field_errors_for_an_empty_reason(client, alice, now):
    session = attendance_at(alice, NEXT_MONDAY).session
    client.force_login(alice.user)

    response = client.post(reverse("portal-excuse", args=[session.pk]), {"reason": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert not ExcusedAbsenceRequest.objects.exists()


def test_it_hides_other_sites_requests_from_staff(client, alice, outsider_clinician, now):
    request = excuse_request(attendance=attendance_at(alice, NEXT_MONDAY), reason="Work",
                             by=alice.user)
    client.force_login(outsider_clinician)

    assert client.get(reverse("excuse_review", args=[request.code])).status_code == 404
    assert client.post(reverse("excuse_approve", args=[request.code])).status_code == 404
    request.refresh_from_db()
    assert request.status == "pending"


def test_it_keeps_the_review_page_on_a_fixed_query_budget(client, alice, bob, clinician, now,
                                                          django_assert_max_num_queries):
    request = excuse_request(attendance=attendance_at(alice, NEXT_MONDAY), reason="Work",
                             by=alice.user)
    client.force_login(clinician)
    url = reverse("excuse_review", args=[request.code])
    with django_assert_max_num_queries(8):
        assert client.get(url).status_code == 200
    excuse_request(attendance=attendance_at(bob, NEXT_MONDAY), reason="Work", by=bob.user)
    with django_assert_max_num_queries(8):
        assert client.get(url).status_code == 200


def test_it_refuses_a_request_made_by_someone_else(alice, bob, now):
    with pytest.raises(ValidationError) as error:
        excuse_request(attendance=attendance_at(alice, NEXT_MONDAY), reason="Work", by=bob.user)

    assert error.value.code == "not_allowed"
    assert not ExcusedAbsenceRequest.objects.exists()
