"""|phone writes a US number in E.164 directly ("(NPA) NXX-XXXX"): the same text phonenumbers
writes, which every other number still goes through."""
import random

import phonenumbers
import pytest

from iop_clinic.formatting import phone


def _phonenumbers(value: str, region: str) -> str:
    """|phone as it was: phonenumbers' parse and national (or international) format."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    local = phonenumbers.region_code_for_country_code(number.country_code)
    style = (phonenumbers.PhoneNumberFormat.NATIONAL if local == region
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, style)


def _numbers() -> list[str]:
    rng = random.Random(12)
    numbers = ["+1" + str(rng.randint(2, 9)) + "".join(rng.choice("0123456789") for _ in range(9))
               for _ in range(3000)]
    return numbers + [
        "+12015550123", "+15550000020", "+12000000000", "+19999999999", "+18005551212",
        "+12112345678", "+14165550123",  # Toronto: +1, formatted as the US region's numbers
        "+11015550123", "+10015550123", "+1201555012", "+120155501234", "+1 2015550123",
        "+442071838750", "+33142685300", "2015550123", "+1201555012x", "+1201555O123",
        "+12015550123 ext. 7", "+1２０１５５５０１２３", "+12０15550123", "not a number", "+"]


@pytest.mark.parametrize("region", ["US", "CA"])
def test_phone_writes_what_phonenumbers_writes(region, settings):
    settings.PHONENUMBER_DEFAULT_REGION = region
    for value in _numbers():
        assert phone(value) == _phonenumbers(value, region), value
    assert phone("") == phone(None) == ""
