"""Twilio's request bodies: form-encoded, PascalCase names, strict UTF-8.

Django's own form parsing replaces undecodable bytes with U+FFFD and carries on; a phone number or
message body silently changed that way is worse than a clear 400, so this parser refuses them.
Parameter names are turned into snake_case (`VoiceFallbackUrl` -> `voice_fallback_url`) so that
serializers can use ordinary Python field names. Unknown names pass through and are ignored, as
Twilio ignores them.
"""

import re
from typing import Any
from urllib.parse import parse_qsl

from django.http import QueryDict
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake_case(name: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def pascal_case(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


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
