"""Answering a seat offer: signed in to the portal, or through the one-time link sent to
someone without a login. Accepting admits through the waitlist service, declining passes the
seat on; a used, expired or made-up link gets a clear page, never a 500."""
import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from participants.models import Enrollment, PortalLink
from reminders.channels import sms
from reminders.delivery import LINK_LEFT_OUT
from reminders.models import Reminder
from reminders.sweeper import reminders_sweep
from sessions.models import Attendance
from sessions.services.enrollment import enrollment_withdraw
from tests import factories
from tests.privacy import names

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 2, 2, 15, 0, tzinfo=dt.UTC)  # 10 AM in New York
LINK = re.compile(r"https?://\S+?/portal/o/[A-Za-z0-9_-]+")


@pytest.fixture(autouse=True)
def _now(settings):
    settings.SMS_BACKEND = "reminders.channels.sms.InMemoryBackend"
    settings.PUBLIC_BASE_URL = "https://portal.example.com"
    sms.outbox.clear()
    with time_machine.travel(NOW, tick=False):
        yield
    sms.outbox.clear()


@pytest.fixture
def track(site):
    track = factories.TrackFactory(site=site, mode="rolling", capacity=1,
                                   name="Evening relapse prevention group",
                                   start_date=NOW.date() - dt.timedelta(days=30))
    factories.TherapySessionFactory(track=track, site=site,
                                    starts_at=NOW + dt.timedelta(days=2, hours=8))
    return track


def waiting(track, *, days: int, portal: bool = False, first_name: str = "Ann"):
    participant = factories.ParticipantFactory(
        home_site=track.site, first_name=first_name, reminder_channels="both",
        user=factories.UserFactory() if portal else None)
    factories.ContactConsentFactory(participant=participant, channel="sms")
    return factories.EnrollmentFactory(participant=participant, track=track, status="waitlisted",
                                       waitlisted_at=NOW - dt.timedelta(days=days))


def free_the_seat(track, capture):
    """The one active person leaves before starting: the seat goes to the first waiting,
    whose offer is sent through the outbox."""
    active = factories.EnrollmentFactory(track=track)
    Enrollment.objects.filter(pk=active.pk).update(admission_date=NOW.date() + dt.timedelta(days=3))
    with capture(execute=True):
        enrollment_withdraw(enrollment=active)
    with capture(execute=True):
        reminders_sweep()


@pytest.fixture
def offered(track, eager_celery, django_capture_on_commit_callbacks):
    """Ann (no portal login) is offered the seat; Bo waits behind her."""
    ann, bo = waiting(track, days=9), waiting(track, days=8, first_name="Bo")
    free_the_seat(track, django_capture_on_commit_callbacks)
    ann.refresh_from_db()
    assert ann.seat_offered_at is not None
    return ann, bo


def link_in(text: str) -> str:
    return re.sub(r"^https?://[^/]+", "", LINK.search(text).group(0))


def test_it_sends_a_one_time_link_by_email_and_text_and_keeps_neither(offered):
    [email], [text] = mail.outbox, sms.outbox
    email_path, text_path = link_in(email.body), link_in(text.body)
    assert email_path != text_path  # one token per message
    assert len(text.body) <= 160 and text.body.endswith("Reply STOP to opt out.")
    for path in (email_path, text_path):
        token = path.rsplit("/", 1)[1]
        assert not Reminder.objects.filter(body__contains=token).exists()
    assert set(Reminder.objects.filter(kind="offer").values_list("status", flat=True)) == {"sent"}
    assert all(LINK_LEFT_OUT in body for body in
               Reminder.objects.filter(kind="offer").values_list("body", flat=True))
    assert PortalLink.objects.filter(purpose="seat_offer").count() == 2


def test_it_shows_the_offer_neutrally_and_a_get_answers_nothing(client, offered, track):
    ann, _ = offered
    response = client.get(link_in(mail.outbox[0].body))

    page = response.content.decode()
    assert response.status_code == 200
    assert "A place is open for you" in page and track.site.public_alias in page
    assert "Please answer by Wednesday, February 4" in page
    assert "Your first visit would be Wednesday, February 4" in page
    for secret in (track.name, track.program.name, "group", "relapse"):
        assert secret.lower() not in page.lower()
    assert not names(page, ann.participant.last_name)
    assert response["Referrer-Policy"] == "no-referrer"
    ann.refresh_from_db()
    assert ann.status == "waitlisted" and ann.seat_offered_at is not None


def test_it_admits_on_accept_and_spends_every_link_to_the_offer(client, offered, track):
    ann, bo = offered
    path, other = link_in(mail.outbox[0].body), link_in(sms.outbox[0].body)

    response = client.post(path, {"answer": "accept"})

    assert response.status_code == 200 and "The place is yours" in response.content.decode()
    ann.refresh_from_db()
    assert ann.status == "active" and ann.seat_offered_at is None
    assert Attendance.objects.filter(participant=ann.participant, status="expected").exists()
    bo.refresh_from_db()
    assert bo.seat_offered_at is None  # the seat is taken
    for used in (path, other):
        again = client.get(used)
        text = again.content.decode()
        assert again.status_code == 410 and "no longer works" in text
        assert track.site.public_alias in text and "please call us at (555)" in text


def test_it_passes_the_seat_on_when_declined(client, offered):
    ann, bo = offered

    response = client.post(link_in(sms.outbox[0].body), {"answer": "decline"})

    assert response.status_code == 200 and "passed the place on" in response.content.decode()
    ann.refresh_from_db()
    bo.refresh_from_db()
    assert ann.status == "waitlisted" and ann.seat_offered_at is None
    assert ann.waitlisted_at == NOW  # the back of the queue
    assert bo.seat_offered_at is not None


def test_it_shows_a_clear_page_once_the_offer_has_run_out(client, offered):
    ann, _ = offered
    path = link_in(mail.outbox[0].body)
    with time_machine.travel(NOW + dt.timedelta(hours=48, minutes=1), tick=False):
        assert client.get(path).status_code == 410
        response = client.post(path, {"answer": "accept"})
    assert response.status_code == 410
    ann.refresh_from_db()
    assert ann.status == "waitlisted"


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 16, "LINKxxxxxxxxxxxx"])
def test_it_shows_a_clear_page_for_a_made_up_link(client, token):
    for response in (client.get(reverse("portal-offer-link", args=[token])),
                     client.post(reverse("portal-offer-link", args=[token]), {"answer": "accept"})):
        assert response.status_code == 410


def test_it_keeps_the_link_when_a_rule_refuses_the_answer(client, offered, track):
    ann, _ = offered
    # Meanwhile admitted elsewhere: one active enrollment at a time.
    factories.EnrollmentFactory(participant=ann.participant, status="active")
    path = link_in(mail.outbox[0].body)

    response = client.post(path, {"answer": "accept"})

    assert response.status_code == 200
    assert "We could not take your answer online. Please call us" in response.content.decode()
    ann.refresh_from_db()
    assert ann.status == "waitlisted"
    assert client.get(path).status_code == 200  # still usable


def test_it_refuses_a_post_without_an_answer(client, offered):
    assert client.post(link_in(mail.outbox[0].body), {"answer": "maybe"}).status_code == 400


def test_it_links_a_portal_user_to_the_portal_and_admits_when_signed_in(
        client, track, eager_celery, django_capture_on_commit_callbacks):
    cam = waiting(track, days=9, portal=True, first_name="Cam")
    free_the_seat(track, django_capture_on_commit_callbacks)
    assert "https://portal.example.com/portal/offer/" in mail.outbox[0].body
    assert "https://portal.example.com/portal/offer/" in sms.outbox[0].body
    assert not PortalLink.objects.exists()  # nothing secret to send

    client.force_login(cam.participant.user)
    home = client.get(reverse("portal-home")).content.decode()
    assert "A place is open for you" in home and reverse("portal-offer") in home
    page = client.get(reverse("portal-offer")).content.decode()
    assert "Yes, I take this place" in page and track.name not in page
    response = client.post(reverse("portal-offer"), {"offer": cam.pk, "answer": "accept"})

    assert response.status_code == 302 and response.url == reverse("portal-home")
    cam.refresh_from_db()
    assert cam.status == "active"
    assert "No open offer" in client.get(reverse("portal-offer")).content.decode()
    assert "A place is open for you" not in client.get(reverse("portal-home")).content.decode()


def test_it_sends_a_one_time_link_to_someone_whose_portal_login_is_turned_off(
        client, track, eager_celery, django_capture_on_commit_callbacks):
    cam = waiting(track, days=9, portal=True, first_name="Cam")
    cam.participant.user.is_active = False
    cam.participant.user.save(update_fields=["is_active"])
    free_the_seat(track, django_capture_on_commit_callbacks)
    assert "/portal/offer/" not in mail.outbox[0].body + sms.outbox[0].body  # can't sign in
    response = client.post(link_in(sms.outbox[0].body), {"answer": "accept"})
    assert response.status_code == 200
    cam.refresh_from_db()
    assert cam.status == "active"


def test_it_answers_only_a_participants_own_offer(client, offered, track):
    ann, _ = offered
    other = factories.ParticipantFactory(home_site=track.site, user=factories.UserFactory())
    client.force_login(other.user)

    response = client.post(reverse("portal-offer"), {"offer": ann.pk, "answer": "decline"},
                           follow=True)

    assert "This offer is no longer open." in response.content.decode()
    ann.refresh_from_db()
    assert ann.seat_offered_at is not None


@pytest.mark.parametrize("base_url", ["https://portal.example.com",
                                      "https://portal.mapleclinic.org"])
def test_it_fits_the_link_in_one_text_for_a_usual_address(settings, track, eager_celery,
                                                          django_capture_on_commit_callbacks,
                                                          base_url):
    settings.PUBLIC_BASE_URL = base_url
    waiting(track, days=9)
    free_the_seat(track, django_capture_on_commit_callbacks)

    [text] = sms.outbox
    assert f"{base_url}/portal/o/" in text.body and len(text.body) <= 160
    assert text.body.endswith("Reply STOP to opt out.")


def test_it_texts_call_only_when_the_link_would_not_fit(settings, track, eager_celery,
                                                      django_capture_on_commit_callbacks):
    settings.PUBLIC_BASE_URL = "https://appointments.maple-street-health-center.example.org"
    waiting(track, days=9)
    free_the_seat(track, django_capture_on_commit_callbacks)

    [text] = sms.outbox
    assert "http" not in text.body and "call" in text.body and len(text.body) <= 160
    assert "/portal/o/" in mail.outbox[0].body
    assert PortalLink.objects.filter(purpose="seat_offer").count() == 1  # the email's only


def test_it_sends_staff_home_and_strangers_to_sign_in_on_a_post(client, offered, front_desk):
    ann, _ = offered
    assert client.post(reverse("portal-offer"), {"offer": ann.pk, "answer": "accept"}).url \
        .startswith(reverse("login"))
    client.force_login(front_desk)
    assert client.post(reverse("portal-offer"),
                       {"offer": ann.pk, "answer": "accept"}).url == reverse("home")
    ann.refresh_from_db()
    assert ann.status == "waitlisted"


@pytest.mark.parametrize("size", [1, 4])
def test_it_keeps_the_offer_pages_on_fixed_budgets(client, site, size,
                                                   django_assert_max_num_queries):
    """`size` open offers on the portal page (one per track, each with `size * 5` sessions
    ahead), and a one-time link's page and answer."""
    from participants.portal_accounts import seat_offer_link_mint

    person = factories.ParticipantFactory(home_site=site, user=factories.UserFactory())
    stranger = factories.ParticipantFactory(home_site=site)
    for index in range(size):
        track = factories.TrackFactory(site=site, mode="rolling", capacity=1,
                                       start_date=NOW.date() - dt.timedelta(days=30))
        for day in range(size * 5):
            factories.TherapySessionFactory(track=track, site=site,
                                            starts_at=NOW + dt.timedelta(days=day + 1))
        for who in (person, stranger):
            factories.EnrollmentFactory(participant=who, track=track, status="waitlisted",
                                        waitlisted_at=NOW - dt.timedelta(days=3),
                                        seat_offered_at=NOW - dt.timedelta(hours=index))
    offer = Enrollment.objects.filter(participant=stranger).first()
    token = seat_offer_link_mint(enrollment_id=offer.pk, participant_id=stranger.pk,
                                 expires_at=NOW + dt.timedelta(hours=40)).token
    client.force_login(person.user)
    with django_assert_max_num_queries(5, info="portal-offer"):
        page = client.get(reverse("portal-offer")).content.decode()
    assert page.count("Yes, I take this place") == size
    client.logout()
    path = reverse("portal-offer-link", args=[token])
    with django_assert_max_num_queries(3, info="portal-offer-link"):
        assert client.get(path).status_code == 200
    # Passing the seat on offers it again: +1 for the make-up seats of the track's sessions.
    with django_assert_max_num_queries(20, info="portal-offer-link POST"):
        assert client.post(path, {"answer": "decline"}).status_code == 200


def test_it_closes_the_link_once_the_front_desk_admits_by_hand(client, offered):
    from sessions.services.enrollment import enrollment_admit_from_waitlist

    ann, _ = offered
    enrollment_admit_from_waitlist(enrollment=ann)

    path = link_in(mail.outbox[0].body)
    assert client.get(path).status_code == 410
    assert client.post(path, {"answer": "decline"}).status_code == 410
    ann.refresh_from_db()
    assert ann.status == "active"
