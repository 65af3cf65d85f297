"""The shared face without a browser: the clinic's neutral name, the favicon, admin labels."""
import pytest
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.auth import sign_in

pytestmark = pytest.mark.django_db


def test_it_names_the_clinic_neutrally_on_the_sign_in_page(client, settings):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"IOP" not in response.content
    assert "<title>Sign in · Clinic</title>" in response.content.decode()


def test_it_uses_the_configured_clinic_name(client, settings):
    settings.CLINIC_NAME = "Maple Street Health"
    html = client.get(reverse("login")).content.decode()
    assert "Maple Street Health" in html
    assert ">Maple Street Health</a>" in html


def test_it_names_a_signed_out_portal_page_after_the_clinic(client, settings):
    settings.CLINIC_NAME = "Maple Street Health"
    html = client.get(reverse("portal-sign-in-link")).content.decode()
    assert "Maple Street Health" in html
    assert "IOP" not in html


def test_it_serves_a_favicon_where_browsers_look_for_it(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_it_links_the_favicon_from_every_layout(admin_user):
    anonymous = Client()
    for html in (anonymous.get(reverse("login")).content,
                 anonymous.get(reverse("portal-sign-in-link")).content,
                 sign_in(Client(), admin_user).get(reverse("admin:index")).content):
        assert b'rel="icon"' in html and b"favicon.ico" in html


def test_it_serves_the_clinic_colour_as_a_stylesheet(client, settings):
    settings.CLINIC_COLOR = "#5a2a82"
    assert b'href="/clinic.css"' in client.get(reverse("login")).content
    css = client.get(reverse("clinic_css"))
    assert css["Content-Type"].startswith("text/css")
    assert css.content.decode().strip() == ":root { --clinic-brand: #5a2a82; }"


def test_it_refuses_a_clinic_colour_white_text_cannot_be_read_on():
    from iop_clinic.branding import contrast_with_white

    assert contrast_with_white("#0a3d6e") >= 4.5
    assert contrast_with_white("#ffcc00") < 4.5


def test_it_labels_the_site_dropdowns_of_the_user_admin(admin_client, site):
    staff = factories.StaffFactory(sites=[site])
    html = admin_client.get(reverse("admin:accounts_user_change", args=[staff.pk])).content
    assert b'aria-label="Site" name="Site_staff-0-site"' in html or (
        b'name="Site_staff-0-site"' in html and b'aria-label="Site"' in html)
    assert b'aria-label="Delete"' in html


def test_it_links_the_admin_from_the_staff_navigation_for_admins_only(client, site):
    director = factories.StaffFactory(role="director", sites=[site])
    assert b'href="/admin/"' not in sign_in(client, director).get(reverse("home")).content
    director.is_staff = True
    director.save()
    assert b'href="/admin/"' in sign_in(client, director).get(reverse("home")).content


def test_it_gives_the_admin_readable_sections_and_one_for_audit(admin_user):
    from django.contrib import admin

    page = sign_in(Client(), admin_user).get(reverse("admin:index"))
    html = page.content.decode()
    for name in ("Two-step sign-in: recovery codes", "Two-step sign-in: authenticator apps",
                 "Sign-in attempts and lockouts", "Audit trail"):
        assert name in html
    assert "Otp_static" not in html and "Otp_totp" not in html and ">Axes<" not in html
    sections = {app["app_label"]: [m["object_name"] for m in app["models"]]
                for app in admin.site.get_app_list(page.wsgi_request)}
    assert "auditlog" not in sections
    assert {"AccessEvent", "LogEntry"} <= set(sections["audit"])
