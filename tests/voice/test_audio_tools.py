"""The tests' ears: tone detection on μ-law audio, the loopback RTP capture, and both on a real call
that Asterisk echoes back (extension dialplan-echo-bench), which is also bench/media's baseline."""

import socket
import struct
import time
from pathlib import Path

import pytest

from mediaserver.asterisk import AsteriskInstance
from tests.asterisk import TEST_RTP
from tests.voice import sipp
from tests.voice.audio import dominant_hz, has_tone, is_silence, tone_share, tone_spans, ulaw_decode
from tests.voice.dtmf import EVENT_CODES, read_rtp, rtp_bytes, rtp_stream, script_pcap
from tests.voice.rtp_capture import RtpCapture, audio_frames, digits_sent

CALLER_SCRIPT = (("wait", 400), ("talk", 1000), ("wait", 300), ("press", "45"), ("wait", 400))
TONE_STARTS_S = 0.4  # the caller's tone, from its first packet
TONE_HZ = 1000


def _payloads(pcap: bytes) -> list[tuple[float, bytes]]:
    """(s from the first packet, μ-law payload) of the audio packets in a pcap made by tests.voice.dtmf."""
    packets = list(read_rtp(pcap))
    first = packets[0][0]
    offset, frames = 24, []
    for at, fields in packets:
        length = struct.unpack_from("<I", pcap, offset + 8)[0]
        payload = pcap[offset + 16 + 14 + 20 + 8 + 12 : offset + 16 + length]
        if fields["payload_type"] == 0:
            frames.append((at - first, payload))
        offset += 16 + length
    return frames


def test_a_tone_is_told_from_another_tone_and_from_silence() -> None:
    frames = _payloads(script_pcap(*CALLER_SCRIPT, tone_hz=TONE_HZ))
    tone = ulaw_decode(b"".join(payload for at, payload in frames if 0.5 < at < 1.2))

    assert dominant_hz(tone) == TONE_HZ
    assert has_tone(tone, TONE_HZ)
    assert tone_share(tone, 440) < 0.01
    assert is_silence(ulaw_decode(frames[0][1]))
    assert not has_tone(ulaw_decode(frames[0][1]), TONE_HZ)  # silence has no frequency
    (span,) = tone_spans(frames, TONE_HZ)
    assert span.start_s == pytest.approx(TONE_STARTS_S, abs=0.001)
    assert span.duration_s == pytest.approx(1.0, abs=0.001)


def test_the_capture_keeps_rtp_within_its_ports_with_kernel_times() -> None:
    inside, outside = (sipp.free_udp_port() for _ in range(2))
    while inside == outside:
        outside = sipp.free_udp_port()
    packet = rtp_stream("5", lead_in_ms=0, tail_ms=0)[0]
    with (
        RtpCapture(inside, inside) as capture,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        sent_at = time.time()
        sender.sendto(rtp_bytes(packet, ssrc=7), ("127.0.0.1", inside))
        sender.sendto(rtp_bytes(packet, ssrc=8), ("127.0.0.1", outside))
        sender.sendto(b"not rtp", ("127.0.0.1", inside))

    (got,) = capture.packets
    assert (got.dst_port, got.ssrc, got.sequence) == (inside, 7, packet.sequence)
    assert got.event == (EVENT_CODES["5"], False)
    assert abs(got.at_s - sent_at) < 0.05
    assert capture.from_callers() == {inside: [got]}
    assert capture.to_callers() == {}


@pytest.mark.e2e
def test_the_caller_hears_its_tone_and_digits_echoed_by_asterisk(
    asterisk: AsteriskInstance, sipp_dir: Path
) -> None:
    with RtpCapture(*TEST_RTP) as capture:
        result = sipp.run_uac(
            asterisk.sip_address,
            "dialplan-echo-bench",
            workdir=sipp_dir,
            pcap=script_pcap(*CALLER_SCRIPT, tone_hz=TONE_HZ),
            hangup_after_ms=2600,
        )
    assert result.ok, result.explain()

    ((port, sent),) = capture.from_callers().items()
    received = capture.to_callers()[port]
    start = sent[0].at_s
    (spoken,) = tone_spans(audio_frames(sent, start), TONE_HZ)
    (heard,) = tone_spans(audio_frames(received, start), TONE_HZ)
    assert spoken.start_s == pytest.approx(TONE_STARTS_S, abs=0.03)
    assert 0 < heard.start_s - spoken.start_s < 0.1  # Echo() adds well under 100 ms on loopback
    assert heard.duration_s == pytest.approx(spoken.duration_s, abs=0.06)
    assert [code for _, code in digits_sent(sent)] == [EVENT_CODES[d] for d in "45"]
    assert [code for _, code in digits_sent(received)] == [EVENT_CODES[d] for d in "45"]
