"""Speech audio for tests, made from text by espeak-ng and sox (both Debian packages in
scripts/lib.sh), independently of the engines under test: slin 8 kHz for unit tests, μ-law and a
sipp pcap for real calls.

A caller's script for a pcap is steps: ("wait", ms) of silence, ("say", text) spoken, ("press",
digits) as RFC 4733 events, so a test can say "I want to talk to a person" after the greeting.
"""

import functools
import os
import subprocess

from tests.voice.audio import ulaw_byte
from tests.voice.dtmf import script_pcap

SAMPLE_RATE = 8000
# A clinic caller's hints, as an agent's recognizer gets them: what the speech-to-text tests hear
# right and bench/agent_speech.py times.
HINTS = (
    "talk to a person",
    "text me the address",
    "opening hours",
    "book an appointment",
    "yes",
    "no",
    "$OOV_CLASS_DIGIT_SEQUENCE",
)


@functools.lru_cache(maxsize=64)
def speech_slin(text: str, *, voice: str = "en-us", words_per_minute: int = 150) -> bytes:
    """`text` spoken, as 16-bit little-endian mono PCM at 8 kHz, trimmed of espeak-ng's trailing
    silence so the speech ends where the audio does."""
    wav = subprocess.run(
        ["espeak-ng", "--stdout", "-v", voice, "-s", str(words_per_minute), text],
        capture_output=True,
        check=True,
    ).stdout
    slin = subprocess.run(
        [
            "sox",
            "-D",  # no dither: sox's own is random, and pocketsphinx once heard a random "eight" in it
            "-t",
            "wav",
            "-",
            "-t",
            "raw",
            "-r",
            str(SAMPLE_RATE),
            "-e",
            "signed",
            "-b",
            "16",
            "-c",
            "1",
            "-",
            "reverse",
            "silence",
            "1",
            "0.01",
            "0.1%",
            "reverse",
        ],
        input=wav,
        capture_output=True,
        check=True,
    ).stdout
    return slin


def silence_slin(ms: int) -> bytes:
    return bytes(SAMPLE_RATE * 2 * ms // 1000)


def slin_to_ulaw(slin: bytes) -> bytes:
    samples = memoryview(slin[: len(slin) - len(slin) % 2]).cast("h")
    return bytes(ulaw_byte(sample) for sample in samples)


def speech_pcap(*steps: tuple[str, int | str]) -> bytes:
    """An RTP μ-law capture for sipp's play_pcap_audio following the caller's script (see above)."""
    return script_pcap(*steps, speak=lambda text: slin_to_ulaw(speech_slin(text)))


def espeak_workers() -> set[int]:
    """The espeak-ng synthesis workers (ai/speech/espeak_worker.py) this process started."""
    found = subprocess.run(
        ["pgrep", "-P", str(os.getpid()), "-f", "ai.speech.espeak_worker"], capture_output=True, text=True
    )
    return {int(pid) for pid in found.stdout.split()}
