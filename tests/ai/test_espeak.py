"""The offline text-to-speech: streamed slin 8 kHz that a listener (Silero) hears as speech, the first
audio long before the text is done, voices from ConversationRelay's attributes, and a barge-in that
stops listening kills espeak-ng."""

import asyncio
import os
import subprocess
import time

import pytest

from ai.speech.base import Activity
from ai.speech.espeak import EspeakTextToSpeech, espeak_voice
from ai.speech.vad import SileroActivity

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


def test_a_listener_that_stops_kills_espeak():
    async def barge_in() -> None:
        stream = EspeakTextToSpeech().synthesize(LONG * 10, voice="", language="en-US")
        await anext(stream)
        await stream.aclose()

    asyncio.run(barge_in())
    children = subprocess.run(
        ["ps", "-o", "comm=", "--ppid", str(os.getpid())], capture_output=True, text=True
    )
    assert "espeak-ng" not in children.stdout


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
