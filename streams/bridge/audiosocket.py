"""Asterisk's AudioSocket framing: a type byte, a 2-byte big-endian length, the payload.

Asterisk connects (it is the TCP client) and first sends the connection id; then 20 ms frames of
8 kHz 16-bit little-endian slin each way. What we send is played as it arrives, so we pace it.
"""

import asyncio
import enum
import struct

HEADER = struct.Struct(">BH")


class Kind(enum.IntEnum):
    HANGUP = 0x00
    ID = 0x01  # 16 bytes: the connection id, a UUID
    DTMF = 0x03
    AUDIO = 0x10
    ERROR = 0xFF


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The next frame's type and payload; asyncio.IncompleteReadError at the end of the connection."""
    kind, length = HEADER.unpack(await reader.readexactly(HEADER.size))
    return kind, await reader.readexactly(length) if length else b""


def frame(kind: Kind, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload
