"""Twilio's request bodies: form-encoded, PascalCase names, strict UTF-8.

Django's own form parsing replaces undecodable bytes with U+FFFD and carries on; a phone number or
message body silently changed that way is worse than a clear 400, so this parser refuses them.
Parameter names are turned into snake_case (`VoiceFallbackUrl` -> `voice_fallback_url`) so that
serializers can use ordinary Python field names. Unknown names pass through and are ignored, as
Twilio ignores them. Also here: reading a count from a request (ASCII digits only), and telling text
the database cannot hold, so that such input is a 400 rather than an exception deep in a query.
"""

import re
from typing import Any
from urllib.parse import parse_qsl

from django.http import QueryDict
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Enough for any count, size or page number; int() of a longer string is slow, and past 4,300 digits raises.
MAX_DIGITS = 18


def snake_case(name: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def pascal_case(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def natural_number(raw: str) -> int | None:
    """`raw` as a non-negative integer if it is written in ASCII digits, else None.

    `str.isdigit()` alone admits '²' (which int() refuses) and '٣' (which int() reads as 3).
    """
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= MAX_DIGITS else None


def unstorable(text: str) -> str | None:
    """Why PostgreSQL cannot hold `text` (its text types refuse NUL, UTF-8 has no lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate"
    return None


def parse_form(raw: bytes) -> QueryDict:
    """Decode a form body strictly; raises ParseError on anything that is not UTF-8."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise ParseError("Request body is not valid UTF-8") from exc
    except ValueError as exc:
        raise ParseError("Malformed form body") from exc
    data = QueryDict(mutable=True)
    for key, value in pairs:
        data.appendlist(snake_case(key), value)
    data._mutable = False
    return data


class StrictFormParser(BaseParser):
    media_type = "application/x-www-form-urlencoded"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> QueryDict:
        return parse_form(stream.read() if stream is not None else b"")
