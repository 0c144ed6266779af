"""The test helper's caller audio: a sipp pcap whose RTP carries the spoken words, as pocketsphinx
hears them back, between well-formed silence and digits."""

import asyncio

from ai.speech.sphinx import SphinxSpeechToText
from tests.ai.speech import speech_pcap
from tests.voice.audio import ulaw_decode
from tests.voice.dtmf import PT_PCMU, PT_TELEPHONE_EVENT, read_rtp


def _payloads(pcap: bytes) -> list[tuple[int, bytes]]:
    """(payload type, payload) of each packet, read back from the capture's frames."""
    packets, offset = [], 24
    while offset < len(pcap):
        length = int.from_bytes(pcap[offset + 8 : offset + 12], "little")
        rtp = pcap[offset + 16 + 14 + 20 + 8 : offset + 16 + length]
        packets.append((rtp[1] & 0x7F, rtp[12:]))
        offset += 16 + length
    return packets


def test_a_callers_script_becomes_rtp_that_says_the_words():
    pcap = speech_pcap(("wait", 400), ("say", "I want to talk to a person"), ("wait", 600), ("press", "0"))
    headers = [fields for _, fields in read_rtp(pcap)]
    assert [h["sequence"] for h in headers] == list(range(1000, 1000 + len(headers)))
    audio = [payload for kind, payload in _payloads(pcap) if kind == PT_PCMU]
    assert all(len(payload) == 160 for payload in audio)  # 20 ms of μ-law each
    assert any(kind == PT_TELEPHONE_EVENT for kind, _ in _payloads(pcap))

    slin = b"".join(s.to_bytes(2, "little", signed=True) for payload in audio for s in ulaw_decode(payload))

    async def hear() -> str:
        recognizer = await SphinxSpeechToText().recognizer(language="en-US", hints=["talk to a person"])
        await recognizer.feed(slin)
        return await recognizer.finish()

    assert asyncio.run(hear()) == "i want to talk to a person"
