"""The GSM 03.38 default alphabet, unpacked (one septet per octet), as SMPP's data_coding 0 carries it.

Characters of the extension table (`{ } [ ] ~ \\ ^ | €` and form feed) take two septets: an escape
(0x1B) and their code. `messaging.segments` decides which bodies are GSM-7 and where they split; this
module turns those parts into the octets of a short_message (and back, for MO messages).
"""

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = {
    "\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
    "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
}  # fmt: skip
ESCAPE = 0x1B

_ENCODE = {char: bytes([code]) for code, char in enumerate(BASIC) if code != ESCAPE}
_ENCODE.update({char: bytes([ESCAPE, code]) for char, code in EXTENSION.items()})
_DECODE_EXTENSION = {code: char for char, code in EXTENSION.items()}


def encode(text: str) -> bytes | None:
    """The septets of `text`, or None when a character is not in the alphabet (send it as UCS-2)."""
    try:
        return b"".join(_ENCODE[char] for char in text)
    except KeyError:
        return None


def decode(septets: bytes) -> str:
    """Text from unpacked septets; an unknown escape decodes as its basic character, as handsets do."""
    chars = []
    escaped = False
    for septet in septets:
        code = septet & 0x7F
        if escaped:
            chars.append(_DECODE_EXTENSION.get(code, BASIC[code] if code != ESCAPE else " "))
            escaped = False
        elif code == ESCAPE:
            escaped = True
        else:
            chars.append(BASIC[code])
    return "".join(chars)
