"""Recording the RTP of calls on loopback, both ways, with the kernel's receive times.

sipp plays a caller's audio but keeps nothing of what it hears, so a test that must know what the
caller heard (and when) listens on the loopback interface instead: a packet socket (root only, as the
Asterisk tests are) with a kernel filter that keeps UDP packets to or from a range of ports, so the
Python side sees only the calls' RTP however busy loopback is. Each packet is timed by the kernel
(SO_TIMESTAMPNS) as it crossed loopback, so round trips measured from a capture do not include
this process's scheduling.

Give the range of the Asterisk instance's RTP ports: a packet from one of them went to a caller, a
packet to one of them came from a caller, and the Asterisk port tells the calls apart.
"""

import ctypes
import select
import socket
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

ETH_P_IP = 0x0800
SO_TIMESTAMPNS = 35
SO_ATTACH_FILTER = 26
PT_PCMU = 0
PT_TELEPHONE_EVENT = 101
ETHERNET_HEADER = 14


@dataclass(frozen=True)
class RtpPacket:
    at_s: float  # kernel receive time (CLOCK_REALTIME), s
    src_port: int
    dst_port: int
    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes

    @property
    def event(self) -> tuple[int, bool] | None:
        """An RFC 4733 packet's (event code, end bit); None for audio."""
        if self.payload_type != PT_TELEPHONE_EVENT or len(self.payload) < 4:
            return None
        return self.payload[0], bool(self.payload[1] & 0x80)


def _filter(low: int, high: int) -> bytes:
    """Classic BPF: IPv4, UDP, not a fragment, source or destination port within [low, high]."""
    ld_h, ld_b, ldx_msh, ld_h_ind = 0x28, 0x30, 0xB1, 0x48
    jeq, jset, jge, jgt, ret = 0x15, 0x45, 0x35, 0x25, 0x06
    program = [
        (ld_h, 0, 0, 12),  # 0: ethertype
        (jeq, 0, 12, ETH_P_IP),  # 1: else drop
        (ld_b, 0, 0, 23),  # 2: IP protocol
        (jeq, 0, 10, socket.IPPROTO_UDP),  # 3: else drop
        (ld_h, 0, 0, 20),  # 4: flags and fragment offset
        (jset, 8, 0, 0x1FFF),  # 5: a fragment: drop
        (ldx_msh, 0, 0, ETHERNET_HEADER),  # 6: X = IP header length
        (ld_h_ind, 0, 0, ETHERNET_HEADER),  # 7: source port
        (jge, 0, 1, low),  # 8: below: try the destination
        (jgt, 0, 3, high),  # 9: within: accept
        (ld_h_ind, 0, 0, ETHERNET_HEADER + 2),  # 10: destination port
        (jge, 0, 2, low),  # 11: below: drop
        (jgt, 1, 0, high),  # 12: above: drop
        (ret, 0, 0, 0xFFFF),  # 13: accept
        (ret, 0, 0, 0),  # 14: drop
    ]
    return b"".join(struct.pack("HBBI", *instruction) for instruction in program)


class RtpCapture:
    """Records every RTP packet to or from a port in [low, high] on loopback while it runs.

    Use as a context manager around the calls; read `packets` (in capture order) afterwards.
    """

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.packets: list[RtpPacket] = []
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        code = ctypes.create_string_buffer(_filter(low, high))
        program = struct.pack("HL", len(code.raw) // 8, ctypes.addressof(code))
        self._sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, program)
        self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self._sock.bind(("lo", ETH_P_IP))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtp-capture", daemon=True)

    def __enter__(self) -> "RtpCapture":
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self, linger_s: float = 0.1) -> None:
        """Stop after what is already queued in the socket (`linger_s` for the last packets)."""
        if self._thread.is_alive():
            time.sleep(linger_s)
            self._stop.set()
            self._thread.join(timeout=5)
        self._sock.close()

    def _run(self) -> None:
        while True:
            ready, _, _ = select.select([self._sock], [], [], 0.05)
            if not ready:
                if self._stop.is_set():
                    return
                continue
            frame, ancillary, _, _ = self._sock.recvmsg(2048, socket.CMSG_SPACE(16))
            packet = _parse(frame, _kernel_time(ancillary))
            if packet is not None:
                self.packets.append(packet)

    # --- reading the capture ---

    def to_callers(self) -> dict[int, list[RtpPacket]]:
        """What each caller received, by the Asterisk port that sent it, in arrival order."""
        return self._by(lambda p: p.src_port if self.low <= p.src_port <= self.high else None)

    def from_callers(self) -> dict[int, list[RtpPacket]]:
        """What each caller sent, by the Asterisk port it went to, in sending order."""
        return self._by(lambda p: p.dst_port if self.low <= p.dst_port <= self.high else None)

    def _by(self, key: Callable[[RtpPacket], int | None]) -> dict[int, list[RtpPacket]]:
        calls: dict[int, list[RtpPacket]] = defaultdict(list)
        for packet in self.packets:
            port = key(packet)
            if port is not None:
                calls[port].append(packet)
        return dict(calls)


def audio_frames(packets: list[RtpPacket], since_s: float = 0.0) -> list[tuple[float, bytes]]:
    """The μ-law audio packets as (seconds after `since_s`, payload), for tests.voice.audio."""
    return [(p.at_s - since_s, p.payload) for p in packets if p.payload_type == PT_PCMU]


def digits_sent(packets: list[RtpPacket]) -> list[tuple[float, int]]:
    """(time of the first packet, event code) of each RFC 4733 event in the packets."""
    found: list[tuple[float, int]] = []
    seen: set[int] = set()
    for packet in packets:
        event = packet.event
        if event is not None and packet.timestamp not in seen:  # one RTP timestamp per event
            seen.add(packet.timestamp)
            found.append((packet.at_s, event[0]))
    return found


def digit_ends(packets: list[RtpPacket]) -> list[tuple[float, int]]:
    """(time of the first end packet, event code) of each RFC 4733 event: when the far end (and
    Asterisk's ChannelDtmfReceived) learns of the digit, a key press's length after it began."""
    found: list[tuple[float, int]] = []
    seen: set[int] = set()
    for packet in packets:
        event = packet.event
        if event is not None and event[1] and packet.timestamp not in seen:
            seen.add(packet.timestamp)
            found.append((packet.at_s, event[0]))
    return found


def _kernel_time(ancillary: list[tuple[int, int, bytes]]) -> float:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanos = struct.unpack("qq", data[:16])
            return seconds + nanos / 1e9
    return time.time()


def _parse(frame: bytes, at_s: float) -> RtpPacket | None:
    ip = frame[ETHERNET_HEADER:]
    header = (ip[0] & 0x0F) * 4
    src_port, dst_port = struct.unpack_from("!HH", ip, header)
    rtp = ip[header + 8 :]
    if len(rtp) < 12 or rtp[0] >> 6 != 2:
        return None  # not RTP
    second = rtp[1]
    if 200 <= second <= 204:
        return None  # RTCP (sender and receiver reports...) on the odd port
    sequence, timestamp, ssrc = struct.unpack_from("!HII", rtp, 2)
    skip = 12 + 4 * (rtp[0] & 0x0F)
    return RtpPacket(
        at_s=at_s,
        src_port=src_port,
        dst_port=dst_port,
        payload_type=second & 0x7F,
        marker=bool(second & 0x80),
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=rtp[skip:],
    )
