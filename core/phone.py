"""Phone numbers, parsed with Google's libphonenumber (the `phonenumbers` package): the one place
that normalises them, for every app."""

from collections.abc import Sequence
from functools import lru_cache

import phonenumbers

# Ways of writing a number that are not part of it (`e164_each` parses a spelling without them once).
_FORMATTING = str.maketrans("", "", " \t-.()\u00a0")


# Remembered: the same numbers come back (a sender, a tenant's contacts), and parsing one costs as
# much as the rest of validating a message. A pure function of the text.
@lru_cache(maxsize=65_536)
def to_e164(value: str) -> str | None:
    """The E.164 form of `value` if it is a valid number written with its country code, else None."""
    try:
        parsed = phonenumbers.parse(value.strip(), None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def friendly(e164: str) -> str:
    """How Twilio shows a number by default, e.g. (501) 712-2661 for US numbers."""
    parsed = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def carrier_e164(value: str) -> str | None:
    """`to_e164` of a number as carriers and trunks write it, often without its '+'."""
    return to_e164(value if value.startswith("+") else f"+{value}")


def caller_presented(value: str) -> str:
    """A caller's number as Twilio's `From` shows it: with its '+', or `anonymous` when withheld. Not
    validated: a caller presents what its network lets it."""
    if not value or value.startswith(("+", "anonymous")):
        return value or "anonymous"
    return f"+{value}"


def e164_each(values: Sequence[str]) -> list[str | None]:
    """`to_e164` of each value, in order; a long list (a bulk alert's recipients) spends most of its
    time parsing, so each spelling, without spaces, dashes, dots and brackets, is parsed once."""
    parsed: dict[str, str | None] = {}
    found: list[str | None] = []
    for value in values:
        key = value.translate(_FORMATTING)
        if key not in parsed:
            parsed[key] = to_e164(value) if key else None
        found.append(parsed[key])
    return found


def region_of(e164: str) -> str:
    """The ISO country code of a number (`US`), or "" when it has none or does not parse."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or ""
    except phonenumbers.NumberParseException:
        return ""
