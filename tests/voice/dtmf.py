"""RTP captures for sipp's play_pcap_audio: μ-law silence and RFC 4733 DTMF events, as pcap bytes.

One stream, one SSRC, sequence numbers and timestamps strictly rising, 20 ms packets. The capture
opens with silence so Asterisk's strict-RTP learning (a few in-order packets) is over before the first
digit. sipp replays the packets with the pcap's own timing, and only swaps in the addresses and ports.
"""

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tests.voice.audio import tone_ulaw

SAMPLE_RATE = 8000
PACKET_MS = 20
SAMPLES_PER_PACKET = SAMPLE_RATE * PACKET_MS // 1000
PT_PCMU = 0
PT_TELEPHONE_EVENT = 101  # the UAC scenarios offer telephone-event/8000 as 101
ULAW_SILENCE = b"\xff" * SAMPLES_PER_PACKET
EVENT_CODES = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "B": 13, "C": 14, "D": 15}
END_REPEATS = 3  # RFC 4733 §2.5.1.4: the end packet is sent three times
EPOCH = 1_700_000_000  # capture time of the first packet; sipp only uses differences


@dataclass(frozen=True)
class RtpPacket:
    at_ms: int
    sequence: int
    timestamp: int
    payload_type: int
    marker: bool
    payload: bytes


class _Stream:
    """Builds one RTP stream: 20 ms packets, rising sequence numbers and timestamps, one SSRC."""

    def __init__(self, first_sequence: int, first_timestamp: int) -> None:
        self.packets: list[RtpPacket] = []
        self.slot = 0  # 20 ms slots since the start
        self.first_sequence = first_sequence
        self.first_timestamp = first_timestamp

    def emit(self, payload_type: int, timestamp_slot: int, payload: bytes, marker: bool = False) -> None:
        self.packets.append(
            RtpPacket(
                at_ms=self.slot * PACKET_MS,
                sequence=(self.first_sequence + len(self.packets)) & 0xFFFF,
                timestamp=(self.first_timestamp + timestamp_slot * SAMPLES_PER_PACKET) & 0xFFFFFFFF,
                payload_type=payload_type,
                marker=marker,
                payload=payload,
            )
        )
        self.slot += 1

    def silence(self, ms: int) -> None:
        for _ in range(ms // PACKET_MS):
            self.emit(PT_PCMU, self.slot, ULAW_SILENCE)

    def tone(self, ms: int, *, hz: int = 440, amplitude: int = 8000) -> None:
        for _ in range(ms // PACKET_MS):
            first = self.slot * SAMPLES_PER_PACKET
            self.emit(PT_PCMU, self.slot, tone_ulaw(PACKET_MS, hz, amplitude=amplitude, first_sample=first))

    def audio(self, ulaw: bytes) -> None:
        """μ-law audio as it is, padded with silence to whole packets."""
        ulaw += ULAW_SILENCE[: -len(ulaw) % SAMPLES_PER_PACKET]
        for at in range(0, len(ulaw), SAMPLES_PER_PACKET):
            self.emit(PT_PCMU, self.slot, ulaw[at : at + SAMPLES_PER_PACKET])

    def digit(self, digit: str, *, tone_ms: int, gap_ms: int, volume: int) -> None:
        code = EVENT_CODES[digit.upper()]
        start = self.slot  # every packet of one event carries the event's start timestamp
        steps = max(1, tone_ms // PACKET_MS)
        duration = 0
        for step in range(1, steps + 1):
            duration = step * SAMPLES_PER_PACKET
            self.emit(
                PT_TELEPHONE_EVENT, start, struct.pack("!BBH", code, volume & 0x3F, duration), step == 1
            )
        for _ in range(END_REPEATS):
            self.emit(PT_TELEPHONE_EVENT, start, struct.pack("!BBH", code, 0x80 | (volume & 0x3F), duration))
        self.silence(gap_ms)


def _check_digits(digits: str) -> None:
    for digit in digits:
        if digit.upper() not in EVENT_CODES:
            raise ValueError(f"not a DTMF digit: {digit!r}")


def rtp_stream(
    digits: str,
    *,
    lead_in_ms: int = 200,
    tone_ms: int = 100,
    gap_ms: int = 100,
    tail_ms: int = 200,
    volume: int = 10,
    first_sequence: int = 1000,
    first_timestamp: int = 16000,
) -> list[RtpPacket]:
    """Silence, then each digit as an RFC 4733 event followed by silence; packets every 20 ms."""
    _check_digits(digits)
    stream = _Stream(first_sequence, first_timestamp)
    stream.silence(lead_in_ms)
    for digit in digits:
        stream.digit(digit, tone_ms=tone_ms, gap_ms=gap_ms, volume=volume)
    stream.silence(tail_ms)
    return stream.packets


def script_pcap(
    *steps: tuple[str, int | str], tone_hz: int = 440, speak: Callable[[str], bytes] | None = None
) -> bytes:
    """A caller following a script: ("wait", ms) of silence, ("talk", ms) of a `tone_hz` tone,
    ("press", digits), and with `speak` (text to μ-law) ("say", text)."""
    stream = _Stream(1000, 16000)
    for action, value in steps:
        if action == "wait":
            stream.silence(int(value))
        elif action == "talk":
            stream.tone(int(value), hz=tone_hz)
        elif action == "say" and speak is not None:
            stream.audio(speak(str(value)))
        elif action == "press":
            _check_digits(str(value))
            for digit in str(value):
                stream.digit(digit, tone_ms=100, gap_ms=100, volume=10)
        else:
            raise ValueError(f"unknown step {action!r}")
    return pcap_bytes(stream.packets)


def rtp_bytes(packet: RtpPacket, ssrc: int) -> bytes:
    first = 0x80  # version 2, no padding, no extension, no CSRC
    second = (0x80 if packet.marker else 0) | packet.payload_type
    return struct.pack("!BBHII", first, second, packet.sequence, packet.timestamp, ssrc) + packet.payload


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(payload: bytes, ident: int, src_port: int, dst_port: int) -> bytes:
    """Ethernet + IPv4 + UDP around one RTP packet, 127.0.0.1 to 127.0.0.1 (sipp rewrites both)."""
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload  # checksum 0: none
    loopback = bytes([127, 0, 0, 1])
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0x4000, 64, 17, 0, loopback, loopback
    )
    header = header[:10] + struct.pack("!H", _ip_checksum(header)) + header[12:]
    ethernet = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + struct.pack("!H", 0x0800)
    return ethernet + header + udp


def pcap_bytes(
    packets: list[RtpPacket], *, ssrc: int = 0x5B0A1D11, src_port: int = 40000, dst_port: int = 40002
) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # pcap v2.4, link type Ethernet
    for index, packet in enumerate(packets):
        frame = _frame(rtp_bytes(packet, ssrc), index, src_port, dst_port)
        seconds, millis = divmod(packet.at_ms, 1000)
        out.append(struct.pack("<IIII", EPOCH + seconds, millis * 1000, len(frame), len(frame)))
        out.append(frame)
    return b"".join(out)


def dtmf_pcap(digits: str, *, ssrc: int = 0x5B0A1D11, **timing: int) -> bytes:
    """A pcap of silence and the given digits (0-9 * # A-D) as RFC 4733 events with PT 101.

    `timing` goes to `rtp_stream` (lead_in_ms, tone_ms, gap_ms, tail_ms, ...).
    """
    return pcap_bytes(rtp_stream(digits, **timing), ssrc=ssrc)


def silence_pcap(ms: int = 200) -> bytes:
    return pcap_bytes(rtp_stream("", lead_in_ms=ms, tail_ms=0))


def read_rtp(pcap: bytes) -> Iterator[tuple[float, dict[str, int]]]:
    """(capture time in s, RTP header fields) per packet of a pcap made here; for checking it."""
    offset = 24
    while offset < len(pcap):
        sec, usec, length, _ = struct.unpack_from("<IIII", pcap, offset)
        frame = pcap[offset + 16 : offset + 16 + length]
        rtp = frame[14 + 20 + 8 :]
        first, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", rtp)
        fields = {
            "version": first >> 6,
            "marker": second >> 7,
            "payload_type": second & 0x7F,
            "sequence": sequence,
            "timestamp": timestamp,
            "ssrc": ssrc,
        }
        if fields["payload_type"] == PT_TELEPHONE_EVENT:
            event, flags, duration = struct.unpack_from("!BBH", rtp, 12)
            fields.update(event=event, end=flags >> 7, duration=duration)
        yield sec + usec / 1e6, fields
        offset += 16 + length


def tone_pcap(ms: int) -> bytes:
    """`ms` of a PCMU tone: audio that silence detection keeps, for Record tests."""
    return script_pcap(("talk", ms))
