"""Phone numbers as people type them (programs/phones.py): local format in, E.164 stored, national out."""
import pytest
from django.urls import reverse

from participants.models import Participant
from programs.phones import MobilePhoneField, PhoneField
from tests import factories

from .test_care import _intake, rolling  # noqa: F401  (the fixture)


@pytest.mark.parametrize("typed", ["(201) 555-0123", "201.555.0123", "201-555-0123",
                                   "+1 201 555 0123", "  (201)5550123 "])
def test_it_reads_a_number_the_way_people_type_it(typed):
    assert MobilePhoneField(required=False).clean(typed) == "+12015550123"


def test_it_accepts_the_fictional_555_numbers_of_invented_data():
    assert MobilePhoneField().clean("(555) 555-0123") == "+15555550123"


def test_it_keeps_an_empty_optional_number_empty():
    assert MobilePhoneField(required=False).clean("") == ""


@pytest.mark.parametrize("typed, code", [
    ("+44 20 7946 0000", "not_mobile"),      # a London landline
    ("(800) 234-5678", "not_mobile"),        # toll-free (the library's example number)
    ("12", "invalid_phone"),
    ("call me", "invalid_phone"),
    ("(201) 555-01234567", "invalid_phone"),
])
def test_it_refuses_a_number_that_cannot_take_a_text(typed, code):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        MobilePhoneField().clean(typed)
    assert caught.value.error_list[0].code == code


def test_it_lets_a_call_back_number_be_a_landline():
    assert PhoneField().clean("+44 20 7946 0000") == "+442079460000"


@pytest.mark.django_db
def test_it_stores_e164_from_intake_and_shows_the_national_format(as_front_desk, site,
                                                                  rolling):  # noqa: F811
    response = as_front_desk.post(reverse("participant_intake"),
                                  _intake(rolling, site, phone="(555) 555-0123"))
    assert response.status_code == 302
    person = Participant.objects.get(record_number="MRN-NEW-1")
    assert person.phone == "+15555550123"
    chart = as_front_desk.get(reverse("participant_chart", args=[person.code])).content.decode()
    assert "(555) 555-0123" in chart


@pytest.mark.django_db
def test_it_explains_a_landline_on_the_intake_form(as_front_desk, site, rolling):  # noqa: F811
    response = as_front_desk.post(reverse("participant_intake"),
                                  _intake(rolling, site, phone="+44 20 7946 0000"))
    assert response.status_code == 200
    assert "can&#x27;t receive text messages" in response.content.decode()
    assert not Participant.objects.filter(record_number="MRN-NEW-1").exists()


@pytest.mark.django_db
def test_it_shows_a_stored_number_nationally_in_the_edit_form(as_front_desk, site):
    person = factories.ParticipantFactory(home_site=site, phone="+12015550123")
    page = as_front_desk.get(reverse("participant_edit", args=[person.code])).content.decode()
    assert 'value="(201) 555-0123"' in page and 'type="tel"' in page
