"""Log redaction costs time in proportion to what is logged, however hostile the text.

An unbounded pattern tried at every position of a long run of address characters is
quadratic: 8,000 characters took 1.5 s and a 60 kB query string held a request thread for a
minute. The patterns that scan log text now have bounded repeats only, so each position costs
a bounded number of steps; the first test checks that structurally (no clock), the others feed
100 kB and check what comes out.
"""
import logging
import re
from re import _parser as sre_parse

import pytest

from iop_clinic.security import logging as redaction

HUNDRED_KB = 100_000


def unbounded_repeats(pattern: re.Pattern) -> list[str]:
    """Every `+`, `*` or `{n,}` in the pattern, as the regex parser sees it."""
    found = []

    def walk(items):
        for op, arg in items:
            if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT):
                low, high, inner = arg
                if high == sre_parse.MAXREPEAT:
                    found.append(f"{op} {{{low},}}")
                walk(inner)
            elif op == sre_parse.SUBPATTERN:
                walk(arg[-1])
            elif op == sre_parse.BRANCH:
                for branch in arg[1]:
                    walk(branch)
            elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
                walk(arg[1])
            elif op == sre_parse.ATOMIC_GROUP:
                walk(arg)

    walk(sre_parse.parse(pattern.pattern, pattern.flags))
    return found


@pytest.mark.parametrize("name", ["_EMAIL", "_PHONE", "_LINK_TOKEN"])
def test_it_scans_log_text_only_with_bounded_repeats(name):
    pattern = getattr(redaction, name)

    assert unbounded_repeats(pattern) == [], (
        f"{name} has an unbounded repeat: its work per position grows with the input")
    assert unbounded_repeats(re.compile(r"a+b{2,}")) == ["MAX_REPEAT {1,}", "MAX_REPEAT {2,}"]


@pytest.mark.parametrize("text", [
    "a" * HUNDRED_KB,                       # one run of address characters, no "@"
    "a." * (HUNDRED_KB // 2),               # dots and letters: a domain that never ends
    "1" * HUNDRED_KB,                       # digits: phone-like, never a phone
    "a@" * (HUNDRED_KB // 2),               # an "@" at every other character
    "%40a" * (HUNDRED_KB // 4),             # percent-encoded "@" at every fourth
    "/feed/." * (HUNDRED_KB // 7),          # a link prefix at every seventh, never a token
])
def test_it_passes_100_kb_of_hostile_text_through_unchanged(text):
    assert redaction.redact_contact_details(text) == text


def test_it_masks_every_address_and_number_in_100_kb():
    filler = "x" * 1000
    chunk = f"{filler} jane.doe@mail.example.com and +15555550123; "
    text = chunk * (HUNDRED_KB // len(chunk) + 1)

    masked = redaction.redact_contact_details(text)

    count = text.count(chunk)
    assert len(text) > HUNDRED_KB
    assert masked == f"{filler} [email] and [phone]; " * count


def test_it_masks_an_address_at_the_end_of_a_100_kb_run():
    text = "q" * HUNDRED_KB + "@mail.example.com"

    masked = redaction.redact_contact_details(text)

    # No valid address has a local part over 64 characters; what is left is the run's head.
    assert masked == "q" * (HUNDRED_KB - 64) + "[email]"
    assert "example.com" not in masked


def test_it_masks_an_overlong_host_header_in_a_log_record():
    host = "a" * 8000 + "pat@example.com"
    record = logging.LogRecord("django.security.DisallowedHost", logging.ERROR, __file__, 1,
                               "Invalid HTTP_HOST header: %r.", (host,), None)

    redaction.RedactContactDetailsFilter().filter(record)

    assert "pat@example.com" not in record.getMessage()
    assert record.getMessage().endswith("[email]'.")
