"""What a message or page must never say, checked the way a reader would read it."""
import re


def names(text: str, word: str) -> bool:
    """True when ``word`` stands in ``text`` as a word of its own.

    A person's name is a whole word: Faker's short surnames ("Ho", "Li") are also
    pieces of ordinary words ("method", "Lincoln"), which say nothing about anyone.
    """
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) is not None
