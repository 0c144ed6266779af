"""The offline speech-to-text on spoken audio (espeak-ng, then μ-law as a phone line carries it):
hinted intents come out right, anything else falls back to free text, and decoding never blocks
the event loop."""

import asyncio
import time

import pytest

from ai.speech.base import SpeechError
from ai.speech.sphinx import SphinxSpeechToText
from tests.ai.speech import HINTS, silence_slin, slin_to_ulaw, speech_slin
from tests.voice.audio import ulaw_decode


def _line(text: str) -> bytes:
    """`text` said down a phone line: half a second of silence either side, through μ-law."""
    slin = silence_slin(500) + speech_slin(text) + silence_slin(700)
    return b"".join(s.to_bytes(2, "little", signed=True) for s in ulaw_decode(slin_to_ulaw(slin)))


async def _hear(*texts: str, hints=HINTS, language: str = "en-US") -> list[str]:
    recognizer = await SphinxSpeechToText().recognizer(language=language, hints=hints)
    heard = []
    for text in texts:
        audio = _line(text) if text else silence_slin(1000)
        for at in range(0, len(audio), 320):  # 20 ms at a time, as the relay feeds it
            await recognizer.feed(audio[at : at + 320])
        heard.append(await recognizer.finish())
    await recognizer.close()
    return heard


def test_hinted_intents_are_heard_in_any_order():
    """Also one recognizer across turns: an out-of-grammar turn before a hinted one once made the
    decoder hear "eight one" for "text me the address" (its stream state carried over)."""
    said = [
        "I want to talk to a person",
        "I have a question about my bill",
        "can you text me the address",
        "what are your opening hours",
        "yes please",
        "no",
        "five five five one two one two",
    ]
    heard = asyncio.run(_hear(*said))
    assert heard[0] == "i want to talk to a person"
    assert heard[2:] == [
        "can you text me the address",
        "what are your opening hours",
        "yes please",
        "no",
        "five five five one two one two",
    ]


def test_speech_outside_the_hints_falls_back_to_free_text():
    heard = asyncio.run(_hear("I have a question about my bill"))[0]
    assert heard  # pocketsphinx's guess, whatever it is ("i have a ton about my grill")
    assert not any(f" {hint} " in f" {heard} " for hint in HINTS), heard


def test_without_hints_everything_is_free_text():
    heard = asyncio.run(_hear("talk to a person", hints=[]))[0]
    assert heard and heard != "talk to a person"  # free text is this poor, which is why hints exist


def test_silence_is_nothing_and_words_the_model_cannot_say_are_left_out_of_the_grammar():
    assert asyncio.run(_hear("", "yes", hints=["yes", "xqzzy plorbt"])) == ["", "yes"]


def test_decoding_runs_off_the_event_loop():
    async def scenario() -> tuple[str, int, float]:
        recognizer = await SphinxSpeechToText().recognizer(language="en-US", hints=[])
        await recognizer.feed(_line("I have a question about my bill"))
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        started = time.perf_counter()
        text = await recognizer.finish()
        ticker.cancel()
        return text, ticks, time.perf_counter() - started

    text, ticks, seconds = asyncio.run(scenario())
    assert text and ticks >= seconds * 100 / 3  # the loop kept ticking through a ~1 s free-text decode


def test_a_language_the_model_does_not_have_is_refused():
    with pytest.raises(SpeechError, match="English"):
        asyncio.run(_hear("hola", language="es-ES"))
