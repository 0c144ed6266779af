"""Voice activity on real speech (espeak-ng through sox, as a caller's line carries it): speech-started
soon enough for barge-in, speech-ended after the configured silence, and noise or a tone is no caller."""

import math
import random

import pytest

from ai.speech.base import Activity
from ai.speech.vad import EnergyActivity, SileroActivity, TurnTracker
from tests.ai.speech import silence_slin, speech_slin

DETECTORS = [EnergyActivity, SileroActivity]


def _run(detector, pcm: bytes, piece: int = 320) -> list[tuple[Activity, int]]:
    """Feeds 20 ms pieces, as the media bridge delivers them; each event's time is checked against
    how much audio had been fed when it came out (a resampler holding audio back would delay it)."""
    events = []
    for at in range(0, len(pcm), piece):
        for event in detector.feed(pcm[at : at + piece]):
            assert at // 16 - 40 <= event.at_ms <= (at + piece) // 16
            events.append((event.kind, event.at_ms))
    return events


def _noise(ms: int, level: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    samples = [max(-32768, min(32767, int(rng.gauss(0, level)))) for _ in range(8 * ms)]
    return b"".join(s.to_bytes(2, "little", signed=True) for s in samples)


@pytest.mark.parametrize("detector", DETECTORS)
def test_a_turn_starts_within_100_ms_of_speech_and_ends_after_the_hangover(detector):
    speech = speech_slin("I want to talk to a person")
    onset, end = 1000, 1000 + len(speech) // 16
    events = _run(detector(end_ms=600), silence_slin(1000) + speech + silence_slin(1500))

    assert [kind for kind, _ in events] == [Activity.STARTED, Activity.ENDED]
    started, ended = events[0][1], events[1][1]
    assert onset < started <= onset + 100
    # the hangover after the speech's end, give or take its quiet last 100 ms and a window
    assert end + 600 - 100 <= ended <= end + 600 + 150


@pytest.mark.parametrize("detector", DETECTORS)
def test_a_pause_shorter_than_the_hangover_stays_one_turn(detector):
    pcm = speech_slin("yes") + silence_slin(300) + speech_slin("please") + silence_slin(1000)
    assert [kind for kind, _ in _run(detector(end_ms=600), pcm)] == [Activity.STARTED, Activity.ENDED]


@pytest.mark.parametrize("detector", DETECTORS)
def test_a_shorter_hangover_ends_the_turn_sooner(detector):
    speech = speech_slin("call me tomorrow")
    end = len(speech) // 16
    events = _run(detector(end_ms=300), speech + silence_slin(1000))
    assert end + 300 - 100 <= events[-1][1] <= end + 300 + 150


@pytest.mark.parametrize("detector", DETECTORS)
def test_steady_line_noise_is_not_a_caller(detector):
    assert _run(detector(), _noise(3000, 150)) == []


def test_silero_hears_no_speech_in_a_loud_tone():
    """Hold music or a fax tone must not barge in; loudness alone would call it speech."""
    tone = b"".join(
        int(8000 * math.sin(2 * math.pi * 440 * n / 8000)).to_bytes(2, "little", signed=True)
        for n in range(16000)
    )
    assert _run(SileroActivity(), tone) == []
    assert _run(EnergyActivity(), tone)[0][0] is Activity.STARTED  # why Silero is the default


def test_any_piece_size_gives_the_same_events():
    pcm = silence_slin(500) + speech_slin("text me the address") + silence_slin(1000)
    assert _run(SileroActivity(), pcm, piece=320) == _run(SileroActivity(), pcm, piece=1234)


@pytest.mark.parametrize("detector", DETECTORS)
def test_a_click_is_not_a_turn(detector):
    click = (20000).to_bytes(2, "little", signed=True) * 40 + (-20000).to_bytes(2, "little", signed=True) * 40
    assert _run(detector(), silence_slin(500) + click + silence_slin(1000)) == []


def test_a_click_shorter_than_start_ms_is_not_a_turn():
    turns = TurnTracker(start_ms=60, end_ms=600)
    assert turns.frame(is_speech=True, ms=20) is None
    assert turns.frame(is_speech=True, ms=20) is None
    assert turns.frame(is_speech=False, ms=20) is None
    assert not turns.in_speech


def test_silero_is_not_asked_about_quiet_windows(monkeypatch):
    detector = SileroActivity()
    asked = []
    monkeypatch.setattr(detector, "_probability", lambda window: asked.append(window) or 0.0)
    _run(detector, silence_slin(1000) + _noise(1000, 20))
    assert asked == []
    _run(detector, speech_slin("yes"))
    assert asked
