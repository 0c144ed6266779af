"""The offline text-to-speech: streamed slin 8 kHz that a listener (Silero) hears as speech, the first
audio long before the text is done, voices from ConversationRelay's attributes, and its synthesis
workers: a barge-in stops one at once and it speaks the next clause, one that dies fails its clause
(a SpeechError) and the next clause is spoken by another."""

import asyncio
import os
import signal
import time

import pytest

from ai.speech.base import Activity, SpeechError
from ai.speech.espeak import EspeakTextToSpeech, espeak_voice
from ai.speech.vad import SileroActivity
from tests.ai.speech import espeak_workers

LONG = "Thank you for calling the clinic. We are open from nine to five on weekdays. " * 4


async def _collect(text: str, **kwargs) -> tuple[list[bytes], float, float]:
    started = time.perf_counter()
    chunks, first = [], 0.0
    async for chunk in EspeakTextToSpeech().synthesize(text, voice="", language="en-US", **kwargs):
        first = first or time.perf_counter() - started
        chunks.append(chunk)
    return chunks, first, time.perf_counter() - started


def test_speech_comes_out_in_pieces_at_8_khz_and_is_heard_as_speech():
    chunks, _, _ = asyncio.run(_collect(LONG))
    audio = b"".join(chunks)
    seconds = len(audio) / 16000
    assert len(chunks) > 10 and all(len(chunk) % 2 == 0 for chunk in chunks)
    assert 14 < seconds < 30  # 60 words at 160 a minute; read as 22 kHz it would be 53 s
    events = SileroActivity().feed(audio[:48000])  # its first 3 s
    assert events[0].kind is Activity.STARTED and events[0].at_ms < 500


def test_the_first_audio_comes_long_before_the_text_is_spoken_whole():
    """Eight times the text above (2.5 minutes of speech) takes espeak-ng about a second here."""
    _, first, total = asyncio.run(_collect(LONG * 8))
    assert first < total / 4


def test_empty_text_says_nothing():
    assert asyncio.run(_collect("  "))[0] == []


def test_text_that_looks_like_an_option_is_spoken():
    audio = b"".join(asyncio.run(_collect("--help -v xx"))[0])
    assert len(audio) / 16000 > 0.5


def test_the_first_audio_of_a_clause_comes_within_a_few_ms_from_a_warm_worker():
    async def firsts() -> list[float]:
        await _collect("Hello.")  # the workers started
        return sorted([(await _collect("We are open from nine to five."))[1] for _ in range(10)])

    firsts_s = asyncio.run(firsts())
    print(f"first audio: {firsts_s[5] * 1000:.1f} ms at the median")
    assert firsts_s[5] < 0.020  # 1-4 ms here; an espeak-ng process per clause took 15-30 ms idle


def test_a_listener_that_stops_stops_the_synthesis_and_its_worker_speaks_the_next_clause():
    async def barge_in_then_speak() -> tuple[float, float, bool]:
        await _collect("Hello.")  # the workers started
        workers = espeak_workers()
        stream = EspeakTextToSpeech().synthesize(LONG * 10, voice="", language="en-US")
        await anext(stream)
        await stream.aclose()  # 3 minutes of speech, stopped after its first piece
        chunks, _, total = await _collect("Good.")
        return len(b"".join(chunks)) / 16000, total, workers <= espeak_workers()

    seconds, total, are_workers_kept = asyncio.run(barge_in_then_speak())
    assert 0.4 < seconds < 1.2  # "Good." alone: nothing left over from the stopped clause
    assert total < 0.5
    assert are_workers_kept  # the stopped one was not killed (nor any other)


def test_a_worker_that_dies_fails_its_clause_and_the_next_clause_is_spoken():
    async def die_then_speak() -> tuple[str, float]:
        stream = EspeakTextToSpeech().synthesize(LONG * 10, voice="", language="en-US")
        await anext(stream)  # the worker now waits for the listener (its socket is full)
        for pid in espeak_workers():
            os.kill(pid, signal.SIGKILL)  # the one speaking and the spares
        with pytest.raises(SpeechError) as failed:
            async for _ in stream:
                pass
        chunks, _, _ = await _collect("Good.")
        return str(failed.value), len(b"".join(chunks)) / 16000

    message, seconds = asyncio.run(die_then_speak())
    assert message == "the espeak-ng worker stopped"
    assert 0.4 < seconds < 1.2


@pytest.mark.parametrize(
    "voice, language, expected",
    [
        ("Polly.Joanna", "en-US", "en-us"),  # another provider's voice name means nothing to espeak
        ("", "en-GB", "en-gb"),
        ("f3", "es-ES", "es+f3"),
        ("", "pt-BR", "pt-br"),
        ("", "xx-YY", "en-us"),
    ],
)
def test_conversation_relay_language_and_voice_pick_an_espeak_voice(voice, language, expected):
    assert espeak_voice(voice=voice, language=language) == expected
