"""Issue 13, item 8: no bare 403; styled error pages in the asker's layout, with a way back."""
import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import errors
from tests import factories
from tests.auth import sign_in

pytestmark = pytest.mark.django_db


def test_it_sends_a_participant_from_the_staff_pages_to_the_portal(alice_client):
    for url in ("/", reverse("followup_list"), reverse("calendar")):
        response = alice_client.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("portal-home")


@pytest.mark.parametrize("status", [400, 403, 404, 500])
def test_it_answers_errors_in_the_portal_layout_for_participants(alice, status):
    request = RequestFactory().get("/portal/somewhere/")
    request.user = alice.user
    response = errors.error_page(request, status)
    body = response.content.decode()
    assert response.status_code == status
    assert "portal.css" in body and 'href="/portal/"' in body and "Back to my schedule" in body


@pytest.mark.parametrize("status", [400, 403, 404, 500])
def test_it_answers_errors_in_the_staff_layout_for_staff(front_desk, status):
    request = RequestFactory().get("/somewhere/")
    request.user = front_desk
    body = errors.error_page(request, status).content.decode()
    assert 'aria-label="Main"' in body and 'href="/follow-ups/"' in body  # the staff navigation
    assert "Back to Today" in body and "app.css" in body


def test_it_styles_a_real_403_and_404_through_the_url_handlers(front_desk, alice_client):
    staff = sign_in(Client(), front_desk)
    refused = staff.get(reverse("program_list"))  # directors only
    missing = staff.get("/no-such-page/")
    portal_missing = alice_client.get("/portal/no-such-page/")
    assert refused.status_code == 403 and "Not allowed" in refused.content.decode()
    assert "Back to Today" in refused.content.decode()
    assert missing.status_code == 404 and "Back to Today" in missing.content.decode()
    assert portal_missing.status_code == 404
    assert "Back to my schedule" in portal_missing.content.decode()


def test_it_offers_a_visitor_the_sign_in_page(client, db):
    factories.SiteFactory()
    body = client.get("/no-such-page/").content.decode()
    assert "Page not found" in body and reverse("login") in body
