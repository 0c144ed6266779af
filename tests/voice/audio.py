"""Listening to call audio in tests: μ-law decoding, a tone's strength (Goertzel), audio or silence.

A test proves audio went somewhere by a property a person would hear: the tone's frequency is there,
or the line is silent. Plain Python over 8 kHz samples (a few thousand per check), so it needs no
numpy. Frequencies are checked against the whole signal's energy, so a 1 kHz tone is told apart
from a 440 Hz one, from noise and from silence, whatever its volume.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

SAMPLE_RATE = 8000
SILENCE_RMS = 100.0  # 16-bit linear; μ-law's quietest non-zero steps are far below a spoken word


def _ulaw_to_linear(byte: int) -> int:
    byte = ~byte & 0xFF
    magnitude = ((((byte & 0x0F) << 3) + 0x84) << ((byte & 0x70) >> 4)) - 0x84
    return -magnitude if byte & 0x80 else magnitude


ULAW_TABLE = tuple(_ulaw_to_linear(b) for b in range(256))


def ulaw_byte(sample: int) -> int:
    """G.711 μ-law encoding of one 16-bit linear sample."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def tone_samples(ms: float, hz: float, *, amplitude: int = 8000, first_sample: int = 0) -> list[int]:
    """`ms` of a sine tone as 16-bit linear samples; `first_sample` continues a tone started earlier."""
    count = int(SAMPLE_RATE * ms / 1000)
    return [
        int(amplitude * math.sin(2 * math.pi * hz * (first_sample + n) / SAMPLE_RATE)) for n in range(count)
    ]


def tone_ulaw(ms: float, hz: float, *, amplitude: int = 8000, first_sample: int = 0) -> bytes:
    """`ms` of a sine tone as μ-law."""
    return bytes(ulaw_byte(s) for s in tone_samples(ms, hz, amplitude=amplitude, first_sample=first_sample))


def ulaw_decode(payload: bytes) -> list[int]:
    """G.711 μ-law bytes to 16-bit linear samples."""
    return [ULAW_TABLE[b] for b in payload]


def rms(samples: list[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


def is_silence(samples: list[int], threshold: float = SILENCE_RMS) -> bool:
    return rms(samples) < threshold


def tone_share(samples: list[int], hz: float, rate: int = SAMPLE_RATE) -> float:
    """How much of the signal's energy is at `hz` (Goertzel): about 1 for a pure tone at hz, about 0
    for another tone or for silence. Needs a few periods of the tone (20 ms is plenty at 1 kHz)."""
    energy = sum(s * s for s in samples)
    if not samples or energy == 0:
        return 0.0
    coefficient = 2 * math.cos(2 * math.pi * hz / rate)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    power = previous * previous + before * before - coefficient * previous * before
    return min(1.0, 2 * power / (len(samples) * energy))


def dominant_hz(samples: list[int], low: int = 100, high: int = 3800, step: int = 10) -> int:
    """The frequency (to `step` Hz) that carries the most of the signal's energy."""
    return max(range(low, high + 1, step), key=lambda hz: tone_share(samples, hz))


def has_tone(samples: list[int], hz: float, share: float = 0.6) -> bool:
    """The samples are audible and mostly the tone at `hz`."""
    return not is_silence(samples) and tone_share(samples, hz) >= share


@dataclass(frozen=True)
class Span:
    """A stretch of audio in a timeline: seconds from the timeline's start."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def tone_spans(
    frames: Iterable[tuple[float, bytes]], hz: float, *, share: float = 0.6, merge_gap_s: float = 0.06
) -> list[Span]:
    """Where the tone at `hz` is heard, from (time in s, μ-law payload) frames in time order.

    Each frame (normally 20 ms) is judged alone; runs of tone frames separated by less than
    `merge_gap_s` are one span. A span ends at its last frame's time plus that frame's length.
    """
    spans: list[Span] = []
    for at_s, payload in frames:
        if not has_tone(ulaw_decode(payload), hz, share):
            continue
        end = at_s + len(payload) / SAMPLE_RATE
        if spans and at_s - spans[-1].end_s <= merge_gap_s:
            spans[-1] = Span(spans[-1].start_s, end)
        else:
            spans.append(Span(at_s, end))
    return spans
