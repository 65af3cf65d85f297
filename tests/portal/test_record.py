"""A participant downloads a copy of their own record: schedule, attendance, consents,
enrollments and continuing-care plan, in one neutral-named JSON file."""
import datetime as dt
import json

import pytest
from django.urls import reverse

from audit.models import AccessEvent
from sessions.models import Attendance, AttendanceStatus
from sessions.services.excuses import excuse_request
from tests import factories

from .conftest import NOW, PROGRAM_NAME, make_sessions, portal_participant
from .test_pages import AUDIT_QUERIES

pytestmark = pytest.mark.django_db

URL = "/portal/my-record/"
# session, user, participant, attendance, excuses, consents, enrollments.
RECORD_BUDGET = 7 + AUDIT_QUERIES


def download(client) -> tuple[object, dict]:
    response = client.get(URL)
    assert response.status_code == 200, response.content[:300]
    return response, json.loads(b"".join(response.streaming_content)
                                if response.streaming else response.content)


def test_it_is_at_the_agreed_address():
    assert reverse("portal-my-record") == URL


def test_it_downloads_as_a_file_with_a_neutral_name(alice_client, alice, now):
    response, _record = download(alice_client)

    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="my-record-2026-03-11.json"'
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    for revealing in ("iop", "program", "alice", "zyzzyva", "substance"):
        assert revealing not in response["Content-Disposition"].lower()


def test_it_holds_the_schedule_with_attendance_and_excuses(alice_client, alice, schedule, now):
    monday = Attendance.objects.get(participant=alice, session=schedule[3])
    monday.status, monday.minutes_attended = AttendanceStatus.PRESENT, 170
    monday.save()
    excuse_request(attendance=Attendance.objects.get(participant=alice, session=schedule[7]),
                   reason="A work shift I cannot move", by=alice.user)

    _response, record = download(alice_client)

    assert record["participant"]["first_name"] == "Alice"
    assert record["participant"]["email"] == alice.email
    assert record["time_zone"] == "America/New_York"
    visits = record["schedule"]
    assert len(visits) == len(schedule)
    assert visits[3]["starts"] == "2026-03-09T18:00:00-04:00"
    assert (visits[3]["attendance"], visits[3]["minutes_attended"]) == ("Present", 170)
    assert visits[3]["room"] == "Room 2B"
    assert visits[7]["excuse_requests"][0]["reason"] == "A work shift I cannot move"
    assert visits[7]["excuse_requests"][0]["status"] == "Waiting for an answer"


def test_it_holds_consents_with_their_times_and_sources(alice_client, alice, now):
    factories.ContactConsentFactory(
        participant=alice, channel="sms", source="intake",
        given_at=dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC),
        revoked_at=dt.datetime(2026, 3, 5, 15, 30, tzinfo=dt.UTC), revoked_source="sms_keyword")
    factories.ContactConsentFactory(participant=alice, channel="sms", source="portal",
                                    given_at=dt.datetime(2026, 3, 6, 1, 0, tzinfo=dt.UTC))

    _response, record = download(alice_client)

    first, second = record["consents"]
    assert first == {"channel": "SMS", "given_at": "2026-03-02T09:00:00-05:00",
                     "given_by": "Signed intake form", "revoked_at": "2026-03-05T10:30:00-05:00",
                     "revoked_by": "SMS keyword", "standing": False}
    assert (second["given_by"], second["standing"]) == ("Participant portal", True)


def test_it_holds_enrollments_and_the_continuing_care_plan(alice_client, alice, now):
    enrollment = alice.enrollments.get()
    factories.ContinuingCarePlanFactory(enrollment=enrollment, step_down_level="1",
                                        support_groups="Tuesday peer meeting")

    _response, record = download(alice_client)

    (entry,) = record["enrollments"]
    assert entry["program"] == PROGRAM_NAME
    assert entry["status"] == "Active"
    assert entry["admission_date"] == "2026-03-02"
    assert entry["continuing_care_plan"]["support_groups"] == "Tuesday peer meeting"
    assert entry["continuing_care_plan"]["step_down_level"] == "Standard outpatient (level 1)"


def test_it_holds_only_the_participants_own_record(alice_client, alice, bob, now):
    factories.ContactConsentFactory(participant=bob, channel="email")

    response = alice_client.get(URL, {"participant": str(bob.code), "code": str(bob.code)})

    text = response.content.decode()
    assert response.status_code == 200
    assert "Alice" in text
    assert "Bob" not in text and "Quagmire" not in text and bob.email not in text
    assert json.loads(text)["consents"] == []


def test_it_records_the_download_in_the_audit_trail(alice_client, alice, now):
    download(alice_client)

    event = AccessEvent.objects.get()
    assert (event.actor, event.participant_id, event.what) == (
        alice.user, alice.pk, "portal: record download")


def test_it_answers_nobody_but_the_participant(client, alice, clinician, now):
    assert client.get(URL).url.startswith(reverse("login"))
    client.force_login(clinician)
    assert client.get(URL).url == reverse("home")
    client.force_login(factories.UserFactory())
    assert client.get(URL).status_code == 403
    client.force_login(alice.user)
    assert client.post(URL).status_code == 405
    assert not AccessEvent.objects.exclude(actor=alice.user).exists()


def test_it_keeps_a_fixed_query_budget(alice_client, alice, site, track, room, now,
                                       django_assert_max_num_queries):
    with django_assert_max_num_queries(RECORD_BUDGET):
        download(alice_client)
    make_sessions(track, room, weeks=3, weekdays=(1, 4))
    from participants.models import Enrollment
    from sessions.services.expected import attendance_expect
    attendance_expect(enrollments=Enrollment.objects.all())
    portal_participant(site, track, first_name="Extra", last_name="Person")
    for day in (2, 3, 4):
        factories.ContactConsentFactory(
            participant=alice, channel="email", given_at=NOW - dt.timedelta(days=day),
            revoked_at=NOW - dt.timedelta(days=day, hours=-1), revoked_source="portal")
    excuse_request(attendance=alice.attendances.order_by("session__starts_at").last(),
                   reason="Travel", by=alice.user)
    factories.ContinuingCarePlanFactory(enrollment=alice.enrollments.get())

    with django_assert_max_num_queries(RECORD_BUDGET):
        _response, record = download(alice_client)
    assert len(record["schedule"]) > 9 and len(record["consents"]) == 3


# --- The readable copy: the same record as a page to read, print or save as PDF -----------

READABLE_URL = "/portal/my-record/readable/"


def test_the_readable_copy_is_at_its_address_and_linked_from_every_page(alice_client, now):
    assert reverse("portal-my-record-readable") == READABLE_URL
    footer = alice_client.get(reverse("portal-progress")).content.decode().split("<footer")[1]
    assert READABLE_URL in footer and f'href="{URL}" download' in footer


def test_the_readable_copy_shows_everything_the_json_holds(alice_client, alice, schedule, now):
    """Every value of the JSON document is on the page, dates and times in our formats."""
    import html as html_lib

    monday = Attendance.objects.get(participant=alice, session=schedule[3])
    monday.status, monday.minutes_attended, monday.note = AttendanceStatus.LATE, 150, "Bus late"
    monday.save()
    excuse_request(attendance=Attendance.objects.get(participant=alice, session=schedule[7]),
                   reason="A work shift I cannot move", by=alice.user)
    factories.ContactConsentFactory(participant=alice, channel="sms", source="intake",
                                    given_at=dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC))
    factories.ContinuingCarePlanFactory(enrollment=alice.enrollments.get(), step_down_level="1",
                                        support_groups="Tuesday peer meeting")
    _response, record = download(alice_client)

    response = alice_client.get(READABLE_URL)

    assert response.status_code == 200
    page = html_lib.unescape(response.content.decode())
    missing = []

    def walk(value, where):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{where}[{index}]")
        elif isinstance(value, str) and value and not _is_iso(value):
            shown = value
            if where.endswith("mobile_phone"):
                from iop_clinic.formatting import phone
                shown = phone(value)
            if where.endswith(("session_status", "time_zone")) and value == "Scheduled":
                return  # a held session says nothing; only a cancelled one is pointed out
            if shown not in page:
                missing.append(f"{where}={value!r}")

    walk(record, "record")
    assert not missing, missing
    # Dates and times in the site's zone and our formats, never ISO text.
    assert "Monday, March 9, 2026, 6:00 PM – 9:00 PM" in page
    assert "Late</strong> · 150 min" in page and "Note: Bus late" in page
    assert "Mar 2, 2026, 9:00 AM (Signed intake form)" in page
    assert "T18:00:00" not in page and "2026-03-09" not in page


def _is_iso(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def test_the_readable_copy_is_neutral_and_kept_out_of_caches(alice_client, alice, now):
    response = alice_client.get(READABLE_URL)

    html = response.content.decode()
    title = html.split("<title>")[1].split("</title>")[0]
    assert title == f"Your record · {alice.home_site.public_alias}"
    assert PROGRAM_NAME not in title
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "data-print" in html and "/static/js/paper.js" in html and "<script>" not in html


def test_the_readable_copy_is_audited_like_the_download(alice_client, alice, now):
    alice_client.get(READABLE_URL)

    event = AccessEvent.objects.get()
    assert (event.actor, event.participant_id, event.what) == (
        alice.user, alice.pk, "portal: record, readable copy")


def test_the_readable_copy_answers_nobody_but_the_participant(client, alice, clinician, now):
    assert client.get(READABLE_URL).url.startswith(reverse("login"))
    client.force_login(clinician)
    assert client.get(READABLE_URL).url == reverse("home")
    client.force_login(factories.UserFactory())
    assert client.get(READABLE_URL).status_code == 403
    client.force_login(alice.user)
    assert client.post(READABLE_URL).status_code == 405


def test_the_readable_copy_says_what_is_not_there_yet(client, site, track, now):
    newcomer = portal_participant(site, track, first_name="Nia", last_name="Newcomb")
    newcomer.enrollments.all().delete()
    client.force_login(newcomer.user)

    html = client.get(READABLE_URL).content.decode()

    assert "No visits yet." in html and "No enrollments yet." in html
    assert "No consent to be contacted is recorded." in html


def test_the_readable_copy_keeps_a_fixed_query_budget(alice_client, alice, site, track, room,
                                                     now, django_assert_max_num_queries):
    with django_assert_max_num_queries(RECORD_BUDGET):
        assert alice_client.get(READABLE_URL).status_code == 200
    make_sessions(track, room, weeks=3, weekdays=(1, 4))
    from participants.models import Enrollment
    from sessions.services.expected import attendance_expect
    attendance_expect(enrollments=Enrollment.objects.all())
    for day in (2, 3, 4):
        factories.ContactConsentFactory(
            participant=alice, channel="email", given_at=NOW - dt.timedelta(days=day),
            revoked_at=NOW - dt.timedelta(days=day, hours=-1), revoked_source="portal")
    excuse_request(attendance=alice.attendances.order_by("session__starts_at").last(),
                   reason="Travel", by=alice.user)
    factories.ContinuingCarePlanFactory(enrollment=alice.enrollments.get())

    with django_assert_max_num_queries(RECORD_BUDGET):
        response = alice_client.get(READABLE_URL)
    assert response.content.decode().count("record-visit") > 9
