"""Attribute and body value parsers: TwiML text in, typed value out, `ValueError(reason)` when invalid.

Each parser is `Callable[[str], T]`; the reason is short ("an integer from 1 to 600") because the caller
adds the element, the attribute and the offending value.
"""

import json
import re
from collections.abc import Callable
from typing import Any

Parse = Callable[[str], Any]


class InvalidValue(ValueError):
    """A ValueError that names a more specific Twilio code than the attribute's own."""

    def __init__(self, reason: str, *, code: int) -> None:
        super().__init__(reason)
        self.code = code


_INTEGER = re.compile(r"[+-]?[0-9]+")
# After dropping the separators people type, an optional + and up to 15 digits (E.164's maximum).
_PHONE = re.compile(r"\+?[0-9]{1,15}")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")


def text(value: str) -> str:
    """Any string, as written (URLs, names, hints)."""
    return value


def integer(low: int, high: int) -> Parse:
    def parse(value: str) -> int:
        stripped = value.strip()
        # int() alone would also take "1_000" and non-ASCII digits.
        if not _INTEGER.fullmatch(stripped) or not low <= int(stripped) <= high:
            raise ValueError(f"an integer from {low} to {high}")
        return int(stripped)

    return parse


def boolean(value: str) -> bool:
    """Twilio accepts true/false in any case."""
    folded = value.strip().lower()
    if folded not in ("true", "false"):
        raise ValueError("true or false")
    return folded == "true"


def choice(*allowed: str, aliases: dict[str, str] | None = None) -> Parse:
    """One of `allowed`, case-insensitively, returned as spelled in `allowed`; `aliases` map other words."""
    table = {word.lower(): word for word in allowed} | {k.lower(): v for k, v in (aliases or {}).items()}

    def parse(value: str) -> str:
        try:
            return table[value.strip().lower()]
        except KeyError:
            raise ValueError("one of " + ", ".join(allowed)) from None

    return parse


method = choice("GET", "POST")


def events(*allowed: str) -> Parse:
    """A space- (or comma-) separated set of event names, each in `allowed`, in the order written."""

    def parse(value: str) -> tuple[str, ...]:
        words = tuple(dict.fromkeys(re.split(r"[\s,]+", value.strip().lower()) if value.strip() else ()))
        if not words or not set(words) <= set(allowed):
            raise ValueError("space-separated events from " + ", ".join(allowed))
        return words

    return parse


def keys(*, single: bool) -> Parse:
    """DTMF keys that end input: 0-9, * and #; Gather takes one key or none, Record any set."""

    def parse(value: str) -> str:
        if any(key not in "0123456789*#" for key in value) or (single and len(value) > 1):
            raise ValueError("one of 0-9, * or #, or empty" if single else "keys from 0-9, * and #")
        return value

    return parse


def dtmf(value: str) -> str:
    """Digits to send: 0-9, *, # and w (half a second's wait)."""
    if not value or any(ch not in "0123456789*#wW" for ch in value):
        raise ValueError("digits from 0-9, *, # and w")
    return value


def phone_number(value: str) -> str:
    """A number as people write it (+14155550100, 415-555-0100); kept as written, checked for shape."""
    if not _PHONE.fullmatch(_PHONE_SEPARATORS.sub("", value)):
        raise ValueError("a phone number of up to 15 digits")
    return value


def caller_id(value: str) -> str:
    """A phone number, `client:identity`, or for SIP an alphanumeric id without spaces (at most 128)."""
    if _PHONE.fullmatch(_PHONE_SEPARATORS.sub("", value)):
        return value
    if not re.fullmatch(r"[A-Za-z0-9+_.:@-]{1,128}", value):
        raise ValueError("a phone number, client:identity or an id of up to 128 characters without spaces")
    return value


def address(value: str) -> str:
    """A message address: a number, short code or `channel:id`; non-empty and without spaces."""
    if not re.fullmatch(r"\S+", value):
        raise ValueError("an address without spaces")
    return value


def voice(value: str) -> str:
    """man, woman, alice, or `Provider.VoiceName` (Polly.Joanna-Neural, Google.en-US-Standard-C)."""
    if not re.fullmatch(r"man|woman|alice|[A-Za-z]+\.[A-Za-z0-9._-]+", value.strip()):
        raise ValueError("man, woman, alice or Provider.Voice")
    return value.strip()


def language(value: str) -> str:
    """A BCP-47 tag such as en-US or cmn-Hans-CN."""
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", value.strip()):
        raise ValueError("a language tag such as en-US")
    return value.strip()


def gather_input(value: str) -> str:
    """dtmf, speech, or both in either order; normalised to "dtmf speech"."""
    words = set(value.split())
    if not words or not words <= {"dtmf", "speech"}:
        raise ValueError("dtmf, speech or 'dtmf speech'")
    return " ".join(sorted(words))


def speech_timeout(value: str) -> int | str:
    """Seconds of silence after speech, or "auto"."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return integer(0, 600)(value)
    except ValueError:
        raise ValueError("auto or an integer from 0 to 600") from None


def ring_tone(value: str) -> str:
    """A two-letter country code (lower case), or us-old."""
    folded = value.strip().lower()
    if not re.fullmatch(r"[a-z]{2}|us-old", folded):
        raise ValueError("a two-letter country code such as us or gb")
    return folded


def sip_uri(value: str) -> str:
    if not re.fullmatch(r"sips?:\S+", value, flags=re.IGNORECASE):
        raise ValueError("a sip: or sips: URI")
    return value


def websocket_url(value: str) -> str:
    """wss://, and ws:// for apps on private networks (and tests) that the platform's operator admits."""
    if not re.fullmatch(r"wss?://\S+", value, flags=re.IGNORECASE):
        raise ValueError("a wss:// (or ws://) URL")
    return value


def sized(low: int, high: int, *, too_short: int, too_long: int) -> Parse:
    """Text of `low` to `high` characters; the two failures carry their own Twilio codes."""

    def parse(value: str) -> str:
        if len(value) < low:
            raise InvalidValue(f"at least {low} characters", code=too_short)
        if len(value) > high:
            raise InvalidValue(f"at most {high} characters", code=too_long)
        return value

    return parse


def sid(prefix: str) -> Parse:
    """A Twilio SID of one kind: the two-letter prefix and 32 hex digits."""
    pattern = re.compile(prefix + r"[0-9a-fA-F]{32}")

    def parse(value: str) -> str:
        if not pattern.fullmatch(value.strip()):
            raise ValueError(f"a {prefix} SID ({prefix} and 32 hex digits)")
        return value.strip()

    return parse


def json_object(value: str) -> str:
    """A JSON object, kept as the text written (TaskRouter echoes attributes as sent)."""
    try:
        parsed = json.loads(value)
    except ValueError:
        raise ValueError("a JSON object") from None
    if not isinstance(parsed, dict):
        raise ValueError("a JSON object")
    return value
