"""AWS event-stream framing (application/vnd.amazon.eventstream), what Transcribe's websocket carries
both ways: https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html.

A message is a prelude (total length, headers length: 4-byte big-endian each) and its CRC32, the
headers, the payload, and the CRC32 of everything before it. A header is its name's length (1 byte),
the name, a type byte and the value. We write only string headers (type 7: 2-byte length, UTF-8);
we read every type the format defines, so a header AWS adds does not break the stream.
tests/ai/test_transcribe.py checks both ways against AWS's published encoding test vectors.
"""

import struct
import zlib
from dataclasses import dataclass

_STRING, _UUID = 7, 9
_FIXED_SIZES = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}  # true, false, ints, timestamp, uuid
_VARIABLE = (6, _STRING)  # bytes, string: a 2-byte length first


class EventStreamError(ValueError):
    """Bytes that are not one well-formed event-stream message."""


@dataclass(frozen=True)
class Message:
    headers: dict[str, str | bytes | int | bool]
    payload: bytes


def encode(headers: dict[str, str], payload: bytes) -> bytes:
    """One message with string `headers`, in their order."""
    packed = b""
    for name, value in headers.items():
        name_bytes, value_bytes = name.encode(), value.encode()
        packed += struct.pack(">B", len(name_bytes)) + name_bytes
        packed += struct.pack(">BH", _STRING, len(value_bytes)) + value_bytes
    prelude = struct.pack(">II", 16 + len(packed) + len(payload), len(packed))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + packed + payload
    return head + struct.pack(">I", zlib.crc32(head))


def decode(data: bytes) -> Message:
    """The one message `data` holds, its CRCs and lengths checked."""
    if len(data) < 16:
        raise EventStreamError(f"{len(data)} bytes is shorter than a message")
    total, headers_length, prelude_crc = struct.unpack(">III", data[:12])
    if total != len(data) or headers_length > total - 16:
        raise EventStreamError(f"lengths {total}/{headers_length} do not fit {len(data)} bytes")
    if zlib.crc32(data[:8]) != prelude_crc:
        raise EventStreamError("the prelude's CRC does not match")
    if zlib.crc32(data[:-4]) != struct.unpack(">I", data[-4:])[0]:
        raise EventStreamError("the message's CRC does not match")
    return Message(_headers(data[12 : 12 + headers_length]), data[12 + headers_length : -4])


def _headers(data: bytes) -> dict[str, str | bytes | int | bool]:
    headers: dict[str, str | bytes | int | bool] = {}
    at = 0
    try:
        while at < len(data):
            name_end = at + 1 + data[at]
            name, kind, at = data[at + 1 : name_end].decode(), data[name_end], name_end + 1
            if kind in _VARIABLE:
                (size,) = struct.unpack(">H", data[at : at + 2])
                raw, at = data[at + 2 : at + 2 + size], at + 2 + size
                headers[name] = raw.decode() if kind == _STRING else raw
            elif kind in (0, 1):
                headers[name] = kind == 0
            else:
                size = _FIXED_SIZES[kind]
                raw, at = data[at : at + size], at + size
                headers[name] = raw if kind == _UUID else int.from_bytes(raw, "big", signed=True)
    except (IndexError, KeyError, struct.error, UnicodeDecodeError) as error:
        raise EventStreamError(f"malformed headers: {error!r}") from error
    if at != len(data):
        raise EventStreamError("the headers overrun their length")
    return headers
