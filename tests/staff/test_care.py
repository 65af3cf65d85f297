"""Round-2 staff pages walked with personas: intake, waitlist, discharge, scheduling, track page,
schedule preview, closures, chart extras and Today's boxes."""
import datetime as dt

import pytest
from django.urls import reverse

from audit.models import AccessEvent
from participants.models import ContactConsent, ContinuingCarePlan, Enrollment, Participant
from programs.models import Closure, SessionKind
from sessions.models import ExcusedAbsenceRequest, FollowUp, TherapySession
from sessions.services.followups import followup_raise_below_minimum
from sessions.tasks import raise_below_minimum_followups
from tests import factories

from .conftest import MONDAY, login, make_group_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

# A NUL byte never reaches a form: 400 at the door (tests/security/test_request_guards.py).
GARBAGE = ["", "x" * 5000, "-1", "0", "9999-99-99", "<script>", "1e400", "99999999999",
           "2026-13-45T25:61"]


@pytest.fixture
def rolling(site, clinician):
    return factories.TrackFactory(site=site, mode="rolling", capacity=2, lead_clinician=clinician,
                                  name="Rolling evenings")


def _intake(track, site, **overrides):
    data = {
        "first_name": "Odalys", "last_name": "Quintero", "record_number": "MRN-NEW-1",
        "date_of_birth": "1990-04-01", "email": "odalys@mail.example.com",
        "phone": "+15555550199", "home_site": site.pk, "primary_clinician": "",
        "reminder_channels": "sms", "consent_email": "on", "consent_sms": "on",
        "consent_source": "intake", "track": track.pk, "admission_date": "2026-01-05",
    }
    data.update(overrides)
    return data


def _fill(track, count):
    return [factories.EnrollmentFactory(track=track,
                                        participant=factories.ParticipantFactory(
                                            home_site=track.site))
            for _ in range(count)]


def _offer_nine_hours(track, enrollment, *, monday, rest="expected"):
    """Mon/Wed/Thu 3-hour groups this week with `enrollment` expected (Monday already marked)."""
    for offset, status in ((0, monday), (2, rest), (3, rest)):
        starts = dt.datetime.combine(MONDAY + dt.timedelta(days=offset), dt.time(10, 0),
                                     tzinfo=track.site.zone)
        factories.AttendanceFactory(
            session=factories.TherapySessionFactory(track=track, starts_at=starts),
            participant=enrollment.participant, enrollment=enrollment, status=status)


# --- Intake --------------------------------------------------------------------------------

def test_it_registers_consents_and_enrolls_in_one_pass(as_front_desk, site, rolling):
    response = as_front_desk.post(reverse("participant_intake"), _intake(rolling, site),
                                  follow=True)
    person = Participant.objects.get(record_number="MRN-NEW-1")
    assert "is enrolled in Rolling evenings" in response.content.decode()
    assert set(ContactConsent.objects.filter(participant=person)
               .values_list("channel", "source")) == {("email", "intake"), ("sms", "intake")}
    assert Enrollment.objects.get(participant=person).status == "active"


def test_it_records_the_participants_language_at_intake(as_front_desk, site, rolling):
    response = as_front_desk.post(reverse("participant_intake"),
                                  _intake(rolling, site, language="es"), follow=True)
    person = Participant.objects.get(record_number="MRN-NEW-1")
    assert person.language == "es"
    assert "<dt class=\"col-5\">Language</dt><dd class=\"col-7\">Spanish</dd>" in \
        response.content.decode()
    # Left out (an older form, an import): English.
    as_front_desk.post(reverse("participant_intake"),
                       _intake(rolling, site, record_number="MRN-NEW-2", language=""))
    assert Participant.objects.get(record_number="MRN-NEW-2").language == "en"


def test_it_waitlists_with_a_position_when_the_track_is_full(as_front_desk, site, rolling):
    _fill(rolling, 2)
    response = as_front_desk.post(reverse("participant_intake"), _intake(rolling, site),
                                  follow=True)
    assert "number 1 on the waitlist" in response.content.decode()
    assert Enrollment.objects.get(participant__record_number="MRN-NEW-1").status == "waitlisted"


def test_it_writes_nothing_when_the_enrollment_is_refused(as_front_desk, site, rolling):
    cohort = factories.TrackFactory(site=site, start_date=MONDAY - dt.timedelta(days=14),
                                    end_date=MONDAY + dt.timedelta(days=60))
    response = as_front_desk.post(reverse("participant_intake"), _intake(cohort, site))
    assert response.status_code == 200
    assert "no longer takes new participants" in response.content.decode()
    assert not Participant.objects.filter(record_number="MRN-NEW-1").exists()


def test_it_asks_for_a_phone_before_recording_sms_consent(as_front_desk, site, rolling):
    response = as_front_desk.post(reverse("participant_intake"),
                                  _intake(rolling, site, phone=""))
    assert "Enter a mobile number" in response.content.decode()
    assert not Participant.objects.exists()


@pytest.mark.parametrize("junk", GARBAGE)
def test_it_survives_garbage_in_every_intake_field(as_front_desk, site, rolling, junk):
    data = {key: junk for key in _intake(rolling, site)}
    response = as_front_desk.post(reverse("participant_intake"), data)
    assert response.status_code == 200
    assert not Participant.objects.exists()


def test_it_keeps_intake_from_clinicians(as_clinician, site, rolling):
    assert as_clinician.get(reverse("participant_intake")).status_code == 403
    assert as_clinician.post(reverse("participant_intake"),
                             _intake(rolling, site)).status_code == 403
    assert not Participant.objects.exists()


# --- Profile and consent -------------------------------------------------------------------

def test_it_edits_the_profile_and_consents(as_front_desk, site):
    person = factories.ParticipantFactory(home_site=site)
    url = reverse("participant_edit", args=[person.code])
    form = as_front_desk.get(url).context["form"]
    data = {name: (form.initial.get(name) or "") for name in form.fields}
    data.update(first_name="Renamed", home_site=site.pk, reminder_channels="email",
                date_of_birth="")
    assert as_front_desk.post(url, data).status_code == 302
    person.refresh_from_db()
    assert person.first_name == "Renamed"
    consent = reverse("participant_consent", args=[person.code])
    as_front_desk.post(consent, {"consent-channel": "sms", "consent-action": "give",
                                 "consent-source": "verbal"})
    assert person.has_consent("sms")
    as_front_desk.post(consent, {"consent-channel": "sms", "consent-action": "revoke",
                                 "consent-source": "verbal"})
    assert not person.has_consent("sms")


@pytest.mark.parametrize("junk", GARBAGE)
def test_it_survives_garbage_in_the_profile_and_consent_forms(as_front_desk, site, junk):
    person = factories.ParticipantFactory(home_site=site, first_name="Kept")
    url = reverse("participant_edit", args=[person.code])
    fields = as_front_desk.get(url).context["form"].fields
    assert as_front_desk.post(url, {name: junk for name in fields}).status_code == 200
    response = as_front_desk.post(reverse("participant_consent", args=[person.code]),
                                  {"consent-channel": junk, "consent-action": junk,
                                   "consent-source": junk})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.first_name == "Kept" and not person.consents.exists()


# --- Waitlist, hold, discharge -------------------------------------------------------------

def test_a_discharge_offers_the_seat_and_front_desk_admits(as_front_desk, as_director, site,
                                                           rolling):
    first, _second = _fill(rolling, 2)
    as_front_desk.post(reverse("participant_intake"), _intake(rolling, site))
    waiting = Enrollment.objects.get(participant__record_number="MRN-NEW-1")
    response = as_director.post(reverse("enrollment_discharge", args=[first.pk]), {
        "discharge_date": "2026-01-05", "reason": "step_down", "note": "Doing well",
        "step_down_level": "1", "step_down_provider": "Riverside outpatient",
        "support_groups": "AA Tuesdays", "plan_notes": "", "followup_type": "",
        "followup_at": "", "followup_repeat": "1"})
    assert response.status_code == 302
    track_page = as_front_desk.get(reverse("track_detail", args=[rolling.pk])).content.decode()
    assert "Seat offered" in track_page
    assert "Odalys Quintero" in as_front_desk.get(reverse("home")).content.decode()
    as_front_desk.post(reverse("waitlist_admit", args=[waiting.pk]), {"next": "track"})
    waiting.refresh_from_db()
    assert waiting.status == "active"


def test_a_clinician_discharges_only_their_caseload(as_clinician, clinician, site, rolling):
    mine, theirs = _fill(rolling, 2)
    Participant.objects.filter(pk=mine.participant_id).update(primary_clinician=clinician)
    data = {"discharge_date": "2026-01-05", "reason": "step_down", "step_down_level": "",
            "followup_repeat": "1"}
    assert as_clinician.post(reverse("enrollment_discharge", args=[theirs.pk]),
                             data).status_code == 403
    assert as_clinician.post(reverse("enrollment_discharge", args=[mine.pk]),
                             data).status_code == 302
    assert Enrollment.objects.get(pk=mine.pk).status == "discharged"
    assert Enrollment.objects.get(pk=theirs.pk).status == "active"


def test_front_desk_never_discharges(as_front_desk, site, rolling):
    (enrollment,) = _fill(rolling, 1)
    chart = as_front_desk.get(reverse("participant_chart", args=[enrollment.participant.code]))
    assert reverse("enrollment_discharge", args=[enrollment.pk]) not in chart.content.decode()
    assert as_front_desk.get(reverse("enrollment_discharge",
                                     args=[enrollment.pk])).status_code == 403


def test_it_books_follow_ups_with_the_care_plan(as_director, site, rolling):
    (enrollment,) = _fill(rolling, 1)
    individual = factories.SessionTypeFactory(kind=SessionKind.INDIVIDUAL, name="Check-in")
    as_director.post(reverse("enrollment_discharge", args=[enrollment.pk]), {
        "discharge_date": "2026-01-05", "reason": "step_down", "step_down_level": "1",
        "support_groups": "SMART Recovery", "followup_type": individual.pk,
        "followup_at": "2026-01-14T10:00", "followup_repeat": "2"})
    plan = ContinuingCarePlan.objects.get(enrollment=enrollment)
    assert plan.support_groups == "SMART Recovery"
    assert TherapySession.objects.filter(care_plan=plan).count() == 2
    chart = as_director.get(reverse("participant_chart", args=[enrollment.participant.code]))
    assert "SMART Recovery" in chart.content.decode()
    booked = chart.content.decode().split("Follow-up appointments")[1].split("</ul>")[0]
    assert booked.count("Check-in") == 2


@pytest.mark.parametrize("junk", GARBAGE)
def test_it_survives_garbage_in_the_discharge_and_hold_forms(as_director, rolling, junk):
    (enrollment,) = _fill(rolling, 1)
    fields = ["discharge_date", "reason", "note", "step_down_level", "step_down_provider",
              "support_groups", "plan_notes", "followup_type", "followup_at", "followup_repeat"]
    response = as_director.post(reverse("enrollment_discharge", args=[enrollment.pk]),
                                {name: junk for name in fields})
    assert response.status_code == 200
    response = as_director.post(reverse("enrollment_hold", args=[enrollment.pk]),
                                {"reason": junk})
    assert response.status_code in (200, 302)
    enrollment.refresh_from_db()
    assert enrollment.status in ("active", "on_hold")
    assert enrollment.discharge_date is None


def test_it_holds_and_resumes(as_front_desk, rolling):
    (enrollment,) = _fill(rolling, 1)
    as_front_desk.post(reverse("enrollment_hold", args=[enrollment.pk]), {"reason": "Travel"})
    enrollment.refresh_from_db()
    assert enrollment.status == "on_hold"
    as_front_desk.post(reverse("enrollment_resume", args=[enrollment.pk]))
    enrollment.refresh_from_db()
    assert enrollment.status == "active"


# --- Personal sessions and cancelling ------------------------------------------------------

def test_it_names_the_clash_when_booking_a_session(as_clinician, clinician, site, rolling):
    (enrollment,) = _fill(rolling, 1)
    individual = factories.SessionTypeFactory(kind=SessionKind.INDIVIDUAL, name="Check-in")
    make_group_session(rolling, size=0, day=MONDAY + dt.timedelta(days=7), hour=18,
                       facilitator=clinician, title="Evening group")
    url = reverse("personal_session_new", args=[enrollment.participant.code])
    data = {"session_type": individual.pk, "starts_at_local": "2026-01-12T18:30",
            "duration_minutes": "60", "facilitator": clinician.pk, "room": "", "title": ""}
    response = as_clinician.post(url, data)
    assert response.status_code == 200
    assert "Evening group" in response.content.decode()
    assert not TherapySession.objects.filter(participant=enrollment.participant).exists()
    data["starts_at_local"] = "2026-01-12T10:00"
    assert as_clinician.post(url, data).status_code == 302
    assert TherapySession.objects.filter(participant=enrollment.participant).count() == 1


@pytest.mark.parametrize("junk", GARBAGE)
def test_it_survives_garbage_in_the_booking_and_cancel_forms(as_clinician, rolling, junk):
    (enrollment,) = _fill(rolling, 1)
    url = reverse("personal_session_new", args=[enrollment.participant.code])
    fields = ["session_type", "starts_at_local", "duration_minutes", "facilitator", "room",
              "title", "repeat_weekly"]
    assert as_clinician.post(url, {name: junk for name in fields}).status_code == 200
    session, _ = make_group_session(rolling, size=1, day=MONDAY + dt.timedelta(days=7))
    response = as_clinician.post(reverse("session_cancel", args=[session.pk]), {"reason": junk})
    session.refresh_from_db()
    assert response.status_code in (200, 302)
    assert session.status == ("cancelled" if junk.strip("\x00").strip() and len(junk) <= 200
                              else "scheduled")


def test_it_cancels_a_session_with_a_reason(as_front_desk, rolling):
    session, (row,) = make_group_session(rolling, size=1, day=MONDAY + dt.timedelta(days=7))
    response = as_front_desk.post(reverse("session_cancel", args=[session.pk]), {"reason": ""})
    assert response.status_code == 200
    response = as_front_desk.post(reverse("session_cancel", args=[session.pk]),
                                  {"reason": "Facilitator ill"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == "cancelled"


# --- Track page, schedule preview, closures ------------------------------------------------

@pytest.fixture
def timetabled(site, clinician):
    track = factories.TrackFactory(site=site, start_date=MONDAY + dt.timedelta(days=7),
                                   end_date=MONDAY + dt.timedelta(days=7 + 12 * 7 - 1),
                                   lead_clinician=clinician)
    for weekday in (0, 2, 3):
        factories.WeeklySlotFactory(track=track, weekday=weekday)
    return track


def test_it_previews_then_generates_on_confirmation(as_director, site, timetabled):
    factories.ClosureFactory(site=site, date=dt.date(2026, 1, 19))
    url = reverse("schedule_generate", args=[timetabled.pk])
    page = as_director.get(url).content.decode()
    assert '<span id="preview-total">35</span>' in page  # 36 minus the closed Monday
    assert "Mon, Jan 19" in page
    assert not TherapySession.objects.exists()
    as_director.post(url)
    assert TherapySession.objects.filter(track=timetabled).count() == 35
    page = as_director.get(url).content.decode()
    assert '<span id="preview-total">0</span>' in page


@pytest.mark.parametrize("junk", GARBAGE)
def test_it_survives_garbage_in_the_schedule_and_closure_forms(as_director, timetabled, junk):
    url = reverse("schedule_generate", args=[timetabled.pk])
    assert as_director.get(url, {"until": junk}).status_code == 200
    assert as_director.post(url, {"until": junk, "skip_conflicts": junk}).status_code in (200,
                                                                                          302)
    response = as_director.post(reverse("closure_list"),
                                {"site": junk, "date": junk, "reason": junk})
    assert response.status_code == 200
    assert not Closure.objects.exists()


def test_it_shows_what_a_closure_cancelled(as_director, site, rolling):
    session, _ = make_group_session(rolling, size=1, day=MONDAY + dt.timedelta(days=7),
                                    title="Skills group")
    response = as_director.post(reverse("closure_list"), {
        "site": site.pk, "date": "2026-01-12", "reason": "Snow day",
        "confirmed": f"{site.pk}:2026-01-12"})
    page = response.content.decode()
    assert "Cancelled by this closure" in page and "Skills group" in page
    session.refresh_from_db()
    assert session.status == "cancelled"
    again = as_director.post(reverse("closure_list"), {
        "site": site.pk, "date": "2026-01-12", "reason": "Twice"})
    assert "already closed" in again.content.decode()


def test_only_directors_generate_and_close(as_front_desk, as_clinician, timetabled):
    for client in (as_front_desk, as_clinician):
        assert client.get(reverse("schedule_generate", args=[timetabled.pk])).status_code == 403
        assert client.post(reverse("schedule_generate", args=[timetabled.pk])).status_code == 403
        assert client.get(reverse("closure_list")).status_code == 403
    assert not TherapySession.objects.exists()
    assert as_front_desk.get(reverse("track_detail", args=[timetabled.pk])).status_code == 200


def test_another_sites_objects_are_not_found(as_outsider, as_director, site, rolling):
    (enrollment,) = _fill(rolling, 1)
    session, _ = make_group_session(rolling, size=0)
    code = enrollment.participant.code
    for url in (reverse("track_detail", args=[rolling.pk]),
                reverse("schedule_generate", args=[rolling.pk]),
                reverse("participant_edit", args=[code]),
                reverse("personal_session_new", args=[code]),
                reverse("enrollment_hold", args=[enrollment.pk]),
                reverse("enrollment_discharge", args=[enrollment.pk]),
                reverse("session_cancel", args=[session.pk])):
        assert as_outsider.get(url).status_code in (403, 404), url
    for url in (reverse("waitlist_admit", args=[enrollment.pk]),
                reverse("enrollment_discharge", args=[enrollment.pk])):
        assert as_outsider.post(url).status_code in (403, 404)
    outsider_director = factories.StaffFactory(role="director",
                                               sites=[factories.SiteFactory()])
    other = login(outsider_director)
    for url in (reverse("track_detail", args=[rolling.pk]),
                reverse("schedule_generate", args=[rolling.pk]),
                reverse("enrollment_discharge", args=[enrollment.pk]),
                reverse("participant_edit", args=[code])):
        assert other.get(url).status_code == 404, url


# --- Chart and Today -----------------------------------------------------------------------

def test_the_chart_shows_the_ledger_and_records_the_view(as_clinician, rolling):
    (enrollment,) = _fill(rolling, 1)
    page = as_clinician.get(reverse("participant_chart",
                                    args=[enrollment.participant.code])).content.decode()
    assert "Hours per week" in page and "projected completion" in page
    assert AccessEvent.objects.filter(participant_id=enrollment.participant_id,
                                      what="chart").count() == 1


def test_today_shows_at_risk_offers_and_pending_excuses(as_clinician, clinician, site, rolling):
    enrollment, waiting = _fill(rolling, 2)
    Enrollment.objects.filter(pk=enrollment.pk).update(admission_date=MONDAY)
    session, (row,) = make_group_session(rolling, size=1, day=MONDAY + dt.timedelta(days=3))
    _offer_nine_hours(rolling, enrollment, monday="absent")
    ExcusedAbsenceRequest.objects.create(attendance=row, reason="Doctor",
                                         requested_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    waiting.status, waiting.waitlisted_at = "waitlisted", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    waiting.seat_offered_at = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    waiting.save()
    page = as_clinician.get(reverse("home")).content.decode()
    assert enrollment.participant.full_name in page.split('id="at-risk-heading"')[1]
    assert waiting.participant.full_name in page.split('id="offers-heading"')[1]
    assert row.participant.full_name in page.split('id="excuses-heading"')[1]


def test_today_links_each_offer_and_excuse_to_its_page(as_director, site, rolling):
    enrollment, waiting = _fill(rolling, 2)
    session, (row,) = make_group_session(rolling, size=1, day=MONDAY + dt.timedelta(days=3))
    excuse = ExcusedAbsenceRequest.objects.create(
        attendance=row, reason="Doctor", requested_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    waiting.status, waiting.waitlisted_at = "waitlisted", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    waiting.seat_offered_at = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    waiting.save()
    name = waiting.participant.full_name

    page = as_director.get(reverse("home")).content.decode()

    offers = page.split('id="offers-heading"')[1].split("</section>")[0]
    chart = reverse("participant_chart", args=[waiting.participant.code])
    track = reverse("track_detail", args=[rolling.pk])
    assert f'<a href="{chart}">{name}</a> · <a href="{track}">{rolling.name}</a>' in offers
    assert "left to answer" in offers
    for action, label in (("waitlist_admit", "Admit"), ("waitlist_pass", "Declined")):
        assert f'<form method="post" action="{reverse(action, args=[waiting.pk])}">' in offers
        assert f'{label}<span class="visually-hidden"> {name}</span>' in offers
    excuses = page.split('id="excuses-heading"')[1].split("</section>")[0]
    review = f'{reverse("excuse_review", args=[excuse.code])}?next={reverse("home")}'
    assert (f'<a href="{review}">{row.participant.full_name}</a> · Thu, Jan 8'
            in excuses)


# --- Below-minimum follow-ups --------------------------------------------------------------

def test_it_raises_a_below_minimum_follow_up_once(site, rolling, clinician):
    (enrollment,) = _fill(rolling, 1)
    Participant.objects.filter(pk=enrollment.participant_id).update(primary_clinician=clinician)
    # The clinic offered the 9 hours; the participant missed Monday's 3 and nothing else was marked
    # as attended either, so the short week is theirs (see the ledger's short reasons).
    _offer_nine_hours(rolling, enrollment, monday="absent", rest="absent")
    later = MONDAY + dt.timedelta(days=8)  # Tuesday of the next week: week 1 is finished
    assert followup_raise_below_minimum(today=later) == 1
    assert followup_raise_below_minimum(today=later) == 0
    followup = FollowUp.objects.get(kind="below_minimum_hours")
    assert followup.assignee == clinician and followup.week_start == MONDAY
    assert raise_below_minimum_followups() == 0  # "now" is still in week 1: nothing finished


# --- Query budgets -------------------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 8])
def test_new_pages_keep_fixed_query_budgets(as_director, director, site, rolling, size,
                                            django_assert_max_num_queries):
    Enrollment.objects.all().delete()
    rolling.capacity = 50
    rolling.save()
    enrollments = _fill(rolling, size)
    for enrollment in enrollments:
        Participant.objects.filter(pk=enrollment.participant_id).update(
            primary_clinician=director)
        factories.WeeklySlotFactory(track=rolling, weekday=enrollment.pk % 7,
                                    start_time=dt.time(8 + enrollment.pk % 10, 0))
        factories.ClosureFactory(site=site, date=MONDAY + dt.timedelta(days=enrollment.pk % 90))
        factories.EnrollmentFactory(track=rolling, status="waitlisted",
                                    waitlisted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    code = enrollments[0].participant.code
    budgets = {
        reverse("track_detail", args=[rolling.pk]): 11,  # -1: seats counted from its people rows
        reverse("schedule_generate", args=[rolling.pk]): 14,
        reverse("closure_list"): 9,
        reverse("participant_intake"): 10,
        reverse("participant_edit", args=[code]): 10,
        reverse("personal_session_new", args=[code]): 11,
        reverse("enrollment_discharge", args=[enrollments[0].pk]): 9,
        reverse("enrollment_hold", args=[enrollments[0].pk]): 8,
        reverse("home"): 17,  # a director's: +2 outbox warning, +2 authorization alerts
    }
    for url, budget in budgets.items():
        with django_assert_max_num_queries(budget):
            assert as_director.get(url).status_code == 200, url
