"""How many segments a text costs: GSM-7 (160, or 153 a part; ^{}\\[~]|€ count two) and UCS-2
(70, or 67 a part) as soon as one character is outside GSM-7, e.g. Spanish á, í, ó, ú."""
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from reminders.channels.sms import (
    GSM7_BASIC, GSM7_EXTENDED, is_gsm7, sms_parts, sms_segments,
)

BASIC = sorted(GSM7_BASIC)
EXTENDED = sorted(GSM7_EXTENDED)
# Outside GSM-7: Spanish accents and typography (one UTF-16 unit) and emoji (two).
OUTSIDE = ["á", "í", "ó", "ú", "Á", "\u2019", "\u201c", "😀", "👍🏽"]

gsm7_text = st.lists(st.sampled_from(BASIC + EXTENDED), max_size=400).map("".join)
any_text = st.lists(st.sampled_from(BASIC + EXTENDED + OUTSIDE), max_size=400).map("".join)


def _septets(text: str) -> int:
    return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@hypothesis_settings(max_examples=300, deadline=None)
@given(text=gsm7_text)
def test_it_counts_gsm7_text_in_septets(text):
    assert is_gsm7(text)
    segments = sms_segments(text)
    assert (segments == 1) == (_septets(text) <= 160)
    parts = sms_parts(text)
    assert "".join(parts) == text and len(parts) == segments
    if segments > 1:
        assert all(_septets(part) <= 153 for part in parts)
        # A part wastes at most one septet (an extension character that would not fit).
        assert all(_septets(part) >= 152 for part in parts[:-1])


@hypothesis_settings(max_examples=300, deadline=None)
@given(text=any_text)
def test_it_switches_the_whole_text_to_ucs2_for_one_character_outside_gsm7(text):
    segments = sms_segments(text)
    parts = sms_parts(text)
    assert "".join(parts) == text and len(parts) == segments
    if is_gsm7(text):
        assert (segments == 1) == (_septets(text) <= 160)
    else:
        assert (segments == 1) == (_utf16_units(text) <= 70)
        if segments > 1:
            assert all(_utf16_units(part) <= 67 for part in parts)
            # An emoji's surrogate pair stays whole: every part is valid UTF-16 on its own.
            assert all(part.encode("utf-16-le").decode("utf-16-le") == part for part in parts)


def test_it_counts_the_examples_a_person_would_check_by_hand():
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2
    assert sms_segments("a" * 306) == 2 and sms_segments("a" * 307) == 3
    assert sms_segments("€" * 80) == 1 and sms_segments("€" * 81) == 2
    # Spanish: ñ, é, ¿ and ¡ are GSM-7; one á makes the text UCS-2.
    text = "¿Mañana? ¡Bien, a las 6! Café "
    assert is_gsm7(text) and sms_segments(text + "a" * (160 - len(text))) == 1
    assert sms_segments("á" * 70) == 1 and sms_segments("á" * 71) == 2
    assert sms_segments("á" * 134) == 2 and sms_segments("á" * 135) == 3
