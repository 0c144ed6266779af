"""slin arithmetic the engines share: resampling (soxr) and loudness.

Engines work at their own rates (espeak-ng speaks at 22.05 kHz, pocketsphinx and Silero listen at
16 kHz, OpenAI's pcm is 24 kHz) while the relay only ever sees slin 8 kHz, so every conversion goes
through here. soxr is a proper band-limited resampler: linear interpolation (audioop.ratecv, gone in
Python 3.13) folds espeak-ng's 4-11 kHz hiss back into the telephone band.
"""

import math

import numpy as np
import soxr

from ai.speech.base import SAMPLE_RATE, SAMPLE_WIDTH


def resample(pcm: bytes, *, from_rate: int, to_rate: int) -> bytes:
    """All of one stretch of 16-bit mono audio at another rate."""
    if from_rate == to_rate or not pcm:
        return pcm
    samples = np.frombuffer(pcm, dtype=np.int16)
    return bytes(soxr.resample(samples, from_rate, to_rate, quality="HQ").astype(np.int16).tobytes())


class StreamResampler:
    """Resamples audio that arrives in pieces, without clicks at the seams (the filter's state carries
    over). Any piece size is taken, an odd trailing byte is kept for the next piece.

    The band-limited filter holds audio back: 58 ms from 22.05 to 8 kHz, 74 ms from 8 to 16 kHz. A
    listener that must react at once (voice activity, for barge-in) asks for `quick` (cubic
    interpolation, under 1 ms), which is fine going up in rate, where there is nothing to fold."""

    def __init__(self, *, from_rate: int, to_rate: int, quick: bool = False) -> None:
        quality = "QQ" if quick else "HQ"
        self._stream = soxr.ResampleStream(from_rate, to_rate, 1, dtype="int16", quality=quality)
        self._odd = b""

    def feed(self, pcm: bytes, *, last: bool = False) -> bytes:
        pcm = self._odd + pcm
        cut = len(pcm) - len(pcm) % SAMPLE_WIDTH
        self._odd = pcm[cut:]
        samples = np.frombuffer(pcm[:cut], dtype=np.int16)
        return bytes(self._stream.resample_chunk(samples, last=last).tobytes())


def rms(pcm: bytes) -> float:
    """Root mean square of 16-bit samples (0 for nothing)."""
    if len(pcm) < SAMPLE_WIDTH:
        return 0.0
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % SAMPLE_WIDTH], dtype=np.int16).astype(np.float64)
    return math.sqrt(float(np.mean(samples * samples)))


def duration_ms(pcm: bytes, rate: int = SAMPLE_RATE) -> int:
    return len(pcm) * 1000 // (SAMPLE_WIDTH * rate)
