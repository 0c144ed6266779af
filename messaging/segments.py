"""How many SMS segments a body takes, counted as carriers count them (GSM 03.38 and UCS-2).

A body that fits the GSM-7 default alphabet (plus its extension table, whose characters cost two
septets: the escape and the character) travels as GSM-7: 160 septets in one message, or 153 per
part once it is concatenated (the user data header takes the other 7). Anything else travels as
UCS-2, counted in UTF-16 code units: 70 in one message, 67 per part, so an emoji outside the Basic
Multilingual Plane takes two. A part never ends in the middle of an escape sequence or a surrogate
pair; the whole character moves to the next part, which is why a part can hold one unit less.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# The GSM 03.38 default alphabet, in code order (0x1B, the escape to the extension table, is left out:
# it is not a character a body can contain).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Reached through the escape: two septets each.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_LIMIT: dict[Encoding, int] = {"GSM-7": 160, "UCS-2": 70}
PART_LIMIT: dict[Encoding, int] = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class Segmentation:
    encoding: Encoding
    num_segments: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2


def encoding_of(body: str) -> Encoding:
    return "GSM-7" if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in body) else "UCS-2"


def _cost(char: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def split(body: str) -> tuple[Encoding, list[str]]:
    """The parts a carrier would send, in order (one part when the body fits in a single message)."""
    encoding = encoding_of(body)
    if sum(_cost(c, encoding) for c in body) <= SINGLE_LIMIT[encoding]:
        return encoding, [body]
    limit = PART_LIMIT[encoding]
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for char in body:
        cost = _cost(char, encoding)
        if used + cost > limit:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += cost
    parts.append("".join(current))
    return encoding, parts


def segment(body: str) -> Segmentation:
    """Encoding, number of segments and size of `body` (an empty body is one segment)."""
    encoding, parts = split(body)
    return Segmentation(encoding, len(parts), sum(_cost(c, encoding) for c in body))


def carried_text(body: str, media_urls: Sequence[str]) -> str:
    """What the carrier gets: SMS carries no media, so their URLs follow the body as links."""
    return "\n".join(filter(None, [body, *media_urls]))
