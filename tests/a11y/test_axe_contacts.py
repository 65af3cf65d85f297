"""axe-core on the family-contact pages (issue 18): the chart's contacts box as front desk (with
its buttons and revoke form) and as a clinician (read only), the contact form and the consent
form, at 1280, 768 and 360 px."""
import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.auth import sign_in

from . import test_axe
from .test_axe import assert_none, browser_page, check_pages

# The module's fixtures, shared: axe-core's source and the access matrix's clinic.
axe_source = test_axe.axe_source
world = test_axe.world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def contact_pages(clinic) -> dict[str, str]:
    participant = clinic.participant_a
    standing = factories.ContactFactory(participant=participant, is_guardian_of_minor=True,
                                        reminder_channels="both",
                                        sms_consent_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    factories.DisclosureConsentFactory(contact=standing, expires_on=dt.date(2036, 1, 1))
    revoked = factories.ContactFactory(participant=participant, relationship="partner",
                                       language="es")
    factories.DisclosureConsentFactory(contact=revoked, revoked_at=dt.datetime(
        2026, 2, 1, tzinfo=dt.UTC), revoke_reason="Asked at the desk")
    factories.ContactFactory(participant=participant, relationship="other", email="")
    code = participant.code
    begun = timezone.now() - dt.timedelta(minutes=30)  # started: the marking buttons show
    family = factories.TherapySessionFactory(
        track=None, participant=participant, site=clinic.site_a, kind="family",
        session_type=factories.SessionTypeFactory(kind="family"), starts_at=begun,
        ends_at=begun + dt.timedelta(hours=1))
    return {
        "roster-family": reverse("roster", args=[family.pk]),
        "chart-contacts": reverse("participant_chart", args=[code]),
        "contact-new": reverse("contact_new", args=[code]),
        "contact-edit": reverse("contact_edit", args=[code, standing.pk]),
        "disclosure-new": reverse("disclosure_new", args=[code, standing.pk]),
    }


def test_it_finds_no_serious_violation_on_the_contact_pages(chromium, axe_source, live_server,
                                                            world):
    urls = contact_pages(world)
    page = browser_page(chromium, live_server.url,
                        sign_in(Client(), world.personas["front_desk"]))
    assert_none(check_pages(page, axe_source, live_server.url, urls, prefix="front_desk-"))
    page.context.close()
    page = browser_page(chromium, live_server.url,
                        sign_in(Client(), world.personas["clinician"]))
    assert_none(check_pages(page, axe_source, live_server.url,
                            {"chart-contacts": urls["chart-contacts"]}, prefix="clinician-"))
    page.context.close()
