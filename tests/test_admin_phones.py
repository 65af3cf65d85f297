"""The admin takes phone numbers the way intake does: typed the local way, kept as E.164, shown
nationally, and a mobile that can't take a text is refused."""
import pytest
from django.contrib import admin
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.urls import reverse

from participants.models import Participant
from programs.models import Site
from tests import factories

pytestmark = pytest.mark.django_db


def admin_form(model, instance, data, user):
    request = RequestFactory().post("/")
    request.user = user
    model_admin = admin.site._registry[model]
    form_class = model_admin.get_form(request, instance, change=True)
    bound = {name: value for name, value in model_to_dict(instance).items()
             if value is not None and name in form_class.base_fields}
    return form_class({**bound, **data}, instance=instance)


def test_the_participant_page_shows_the_number_nationally(admin_client, site):
    person = factories.ParticipantFactory(home_site=site, phone="+12015550123")

    page = admin_client.get(reverse("admin:participants_participant_change",
                                    args=[person.pk])).content.decode()

    assert 'value="(201) 555-0123"' in page and 'type="tel"' in page


@pytest.mark.parametrize("typed", ["(555) 555-0123", "555.555.0123", "+1 555 555 0123"])
def test_the_participant_page_takes_a_number_typed_the_local_way(admin_user, site, typed):
    person = factories.ParticipantFactory(home_site=site, phone="")

    form = admin_form(Participant, person, {"phone": typed}, admin_user)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "+15555550123"
    form.save()
    person.refresh_from_db()
    assert person.phone == "+15555550123"


@pytest.mark.parametrize("typed, message", [
    ("call me", "Enter a phone number, e.g. (201) 555-0123."),
    ("+44 20 7946 0000", "can't receive text messages"),
])
def test_the_participant_page_refuses_a_number_that_cant_take_a_text(admin_user, site, typed,
                                                                     message):
    person = factories.ParticipantFactory(home_site=site, phone="")

    form = admin_form(Participant, person, {"phone": typed}, admin_user)

    assert not form.is_valid()
    assert message in " ".join(form.errors["phone"])


def test_the_site_page_takes_the_call_back_number_the_local_way(admin_user, admin_client):
    site = factories.SiteFactory(phone="+12015550100")
    page = admin_client.get(reverse("admin:programs_site_change", args=[site.pk])).content.decode()
    assert 'value="(201) 555-0100"' in page
    changelist = admin_client.get(reverse("admin:programs_site_changelist")).content.decode()
    assert "(201) 555-0100" in changelist

    form = admin_form(Site, site, {"phone": "(555) 555-0188"}, admin_user)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "+15555550188"
