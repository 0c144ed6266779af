"""Phone number validation with Google's libphonenumber (the `phonenumbers` package)."""

from functools import lru_cache

import phonenumbers


# Remembered: the same numbers come back (a sender, a tenant's contacts), and parsing one costs about
# a tenth of a millisecond, as much as the rest of validating a message. A pure function of the text.
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
