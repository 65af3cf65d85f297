"""Phone numbers as people type them: read in the clinic's region, kept as E.164, shown national.

django-phonenumber-field (over Google's phonenumbers) does the reading: "(201) 555-0123",
"201.555.0123" and "+1 201 555 0123" are one number. Numbers that cannot take a text message
(landlines where the numbering plan says so, toll-free, premium-rate, pagers) are refused for a
mobile field. North America's fictional 555 numbers (area code 555, or 555-0100 to 555-0199)
are accepted as mobiles, so invented demo and test data stay usable.
"""
import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber

NOT_TEXTABLE = {
    phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.PAGER, phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
}


def is_fictional(number: phonenumbers.PhoneNumber) -> bool:
    digits = str(number.national_number)
    return number.country_code == 1 and len(digits) == 10 and (
        digits.startswith("555") or digits[3:8] == "55501")


def validate_reachable(number: PhoneNumber) -> None:
    if is_fictional(number):
        return
    if not number.is_valid():
        raise ValidationError(_("Enter a phone number, e.g. (201) 555-0123."), code="invalid_phone")


def validate_textable(number: PhoneNumber) -> None:
    if is_fictional(number):
        return
    if phonenumbers.number_type(number) in NOT_TEXTABLE:
        raise ValidationError(
            _("This number can't receive text messages (it is a landline, toll-free or "
              "premium number). Enter a mobile number."), code="not_mobile")


class PhoneField(PhoneNumberField):
    """A phone number typed the local way; cleans to its E.164 string ("" when left empty)."""

    default_validators = [validate_reachable]
    default_error_messages = {"invalid": _("Enter a phone number, e.g. (201) 555-0123.")}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("region", settings.PHONENUMBER_DEFAULT_REGION)
        kwargs.setdefault("max_length", 32)
        super().__init__(*args, **kwargs)
        self.widget.input_type = "tel"
        self.widget.attrs.setdefault("autocomplete", "tel")

    def clean(self, value):
        number = super().clean(value)
        return number.as_e164 if isinstance(number, PhoneNumber) else ""


class MobilePhoneField(PhoneField):
    """A phone number that must be able to receive text messages."""

    default_validators = [validate_reachable, validate_textable]
